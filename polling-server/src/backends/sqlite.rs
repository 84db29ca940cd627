//! The SQLite store: the default (`sqlite://polling.db`), or another file
//! or an in-memory database with a `sqlite:` `--database-url`.

use std::sync::Arc;

use polling_core::{IdempotencyStore, PollStore};
use polling_store_sqlite::{CastMode, SqliteConfig, SqliteIdempotencyStore};
use sqlx::SqlitePool;

use crate::telemetry::{DB_POOL_CONNECTIONS, DB_POOL_MAX_CONNECTIONS};
use crate::{Config, ScrapeHook};

const SETTING: &str = "--database-url (DATABASE_URL)";

/// The SQLite backends on one pool.
pub(super) struct SqliteBackends {
    /// Polls and ballots.
    pub(super) store: Arc<dyn PollStore>,
    /// Idempotency keys.
    pub(super) idempotency: Arc<dyn IdempotencyStore>,
    /// The pool's gauges.
    pub(super) gauges: ScrapeHook,
}

/// Opens the database at `url` (creating its file), runs the migrations and
/// returns the store and the idempotency keys, which share the pool.
///
/// # Errors
///
/// A one-line message naming the setting.
pub(super) async fn store(config: &Config, url: &str) -> Result<SqliteBackends, String> {
    let sqlite = SqliteConfig {
        max_connections: config.database_pool_size,
        acquire_timeout: config.database_acquire_timeout,
        cast_mode: CastMode::coalesced_with_max_queue(config.database_max_queued_votes as usize),
        ..SqliteConfig::new(url)
    };
    let options = sqlite
        .connect_options()
        .map_err(|e| format!("{SETTING}: {url} is not a SQLite URL: {e}"))?;
    let pool = sqlite
        .connect()
        .await
        .map_err(|e| format!("{SETTING}: cannot open {url}: {e}"))?;
    polling_store_sqlite::migrate(&pool)
        .await
        .map_err(|e| format!("{SETTING}: migrating {url} failed: {e}"))?;
    match sqlite.is_memory() {
        true => tracing::info!(
            database = url,
            "SQLite store ready, in memory: nothing is kept when the server stops"
        ),
        false => tracing::info!(
            database = url,
            file = %absolute(options.get_filename()).display(),
            "SQLite store ready"
        ),
    }
    let gauges = pool_gauges(pool.clone());
    Ok(SqliteBackends {
        idempotency: Arc::new(SqliteIdempotencyStore::new(pool.clone())),
        store: Arc::new(sqlite.store(pool)),
        gauges,
    })
}

/// `path` from the root, for the start-up line (a relative path is the
/// working directory's).
fn absolute(path: &std::path::Path) -> std::path::PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Sets the pool's gauges at each scrape.
fn pool_gauges(pool: SqlitePool) -> ScrapeHook {
    Arc::new(move || {
        let (size, idle) = (f64::from(pool.size()), pool.num_idle() as f64);
        metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(idle);
        metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "in_use").set((size - idle).max(0.0));
        metrics::gauge!(DB_POOL_MAX_CONNECTIONS)
            .set(f64::from(pool.options().get_max_connections()));
    })
}

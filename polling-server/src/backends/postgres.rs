//! The PostgreSQL store, when `--database-url` is set, and the broadcaster
//! of `--broadcaster postgres`.

use std::sync::Arc;

use polling_core::{Broadcaster, IdempotencyStore, PollStore};
use polling_store_postgres::{CastMode, PgBroadcaster, PgConfig, PgIdempotencyStore};

use sqlx::PgPool;

use super::startup::{redact, retry};
use crate::telemetry::{DB_POOL_CONNECTIONS, DB_POOL_MAX_CONNECTIONS};
use crate::{Config, ScrapeHook};

const SETTING: &str = "--database-url (DATABASE_URL)";

/// The PostgreSQL backends on one pool.
pub(super) struct PgBackends {
    /// Polls and ballots.
    pub(super) store: Arc<dyn PollStore>,
    /// Idempotency keys.
    pub(super) idempotency: Arc<dyn IdempotencyStore>,
    /// The pool's gauges.
    pub(super) gauges: ScrapeHook,
    /// The pool they share, for the broadcaster.
    pub(super) pool: PgPool,
}

/// Connects (retrying for `--startup-timeout`), runs the migrations and
/// returns the store and the idempotency keys, which share the pool.
///
/// # Errors
///
/// A one-line message naming the setting.
pub(super) async fn store(config: &Config, url: &str) -> Result<PgBackends, String> {
    let pg = PgConfig {
        max_connections: config.database_pool_size,
        acquire_timeout: config.database_acquire_timeout,
        statement_timeout: Some(config.database_statement_timeout),
        cast_mode: CastMode::coalesced_with_max_queue(config.database_max_queued_votes as usize),
        ..PgConfig::new(url)
    };
    let setting = SETTING;
    let shown = redact(url);
    pg.connect_options()
        .map_err(|e| format!("{setting}: {shown} is not a PostgreSQL URL: {e}"))?;
    let pool = retry("PostgreSQL", config.startup_timeout, || pg.connect())
        .await
        .map_err(|e| format!("{setting}: cannot connect to {shown}: {e}"))?;
    polling_store_postgres::migrate(&pool)
        .await
        .map_err(|e| format!("{setting}: migrating {shown} failed: {e}"))?;
    tracing::info!(database = %shown, pool_size = pg.max_connections, "PostgreSQL store ready");
    let gauges = pool_gauges(pool.clone());
    let idempotency = Arc::new(PgIdempotencyStore::new(pool.clone()));
    Ok(PgBackends {
        store: Arc::new(pg.store(pool.clone())),
        idempotency,
        gauges,
        pool,
    })
}

/// The `LISTEN`/`NOTIFY` broadcaster on `pool`'s database, once its
/// listening connection is up (waiting up to `--startup-timeout`), so that a
/// replica misses no event once it starts serving.
pub(super) async fn broadcaster(
    config: &Config,
    url: &str,
    pool: &PgPool,
) -> Result<Arc<dyn Broadcaster>, String> {
    let broadcaster = PgBroadcaster::new(pool);
    retry("PostgreSQL LISTEN", config.startup_timeout, || {
        broadcaster.check()
    })
    .await
    .map_err(|e| {
        let cause = std::error::Error::source(&e).map_or_else(|| e.to_string(), |c| c.to_string());
        format!("{SETTING}: cannot listen on {}: {cause}", redact(url))
    })?;
    tracing::info!(database = %redact(url), "PostgreSQL LISTEN/NOTIFY broadcaster ready");
    Ok(Arc::new(broadcaster))
}

/// Sets the pool's gauges at each scrape.
fn pool_gauges(pool: PgPool) -> ScrapeHook {
    Arc::new(move || {
        let (size, idle) = (f64::from(pool.size()), pool.num_idle() as f64);
        metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(idle);
        metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "in_use").set((size - idle).max(0.0));
        metrics::gauge!(DB_POOL_MAX_CONNECTIONS)
            .set(f64::from(pool.options().get_max_connections()));
    })
}

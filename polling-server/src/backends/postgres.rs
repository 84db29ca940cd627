//! The PostgreSQL store, when `--database-url` is set.

use std::sync::Arc;

use polling_core::{IdempotencyStore, PollStore};
use polling_store_postgres::{CastMode, PgConfig, PgIdempotencyStore};

use sqlx::PgPool;

use super::startup::{redact, retry};
use crate::telemetry::{DB_POOL_CONNECTIONS, DB_POOL_MAX_CONNECTIONS};
use crate::{Config, ScrapeHook};

/// Connects (retrying for `--startup-timeout`), runs the migrations and
/// returns the store and the idempotency keys, which share the pool.
///
/// # Errors
///
/// A one-line message naming the setting.
pub(super) async fn store(
    config: &Config,
    url: &str,
) -> Result<(Arc<dyn PollStore>, Arc<dyn IdempotencyStore>, ScrapeHook), String> {
    let pg = PgConfig {
        max_connections: config.database_pool_size,
        acquire_timeout: config.database_acquire_timeout,
        statement_timeout: Some(config.database_statement_timeout),
        cast_mode: CastMode::coalesced_with_max_queue(config.database_max_queued_votes as usize),
        ..PgConfig::new(url)
    };
    let setting = "--database-url (DATABASE_URL)";
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
    Ok((Arc::new(pg.store(pool)), idempotency, gauges))
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

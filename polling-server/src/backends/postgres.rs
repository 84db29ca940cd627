//! The PostgreSQL store, when `--database-url` is set, and the broadcaster
//! of `--broadcaster postgres`.

use std::sync::Arc;

use polling_core::{Broadcaster, IdempotencyStore, PollStore};
use polling_store_postgres::{
    CastMode, PgBroadcaster, PgBroadcasterConfig, PgConfig, PgIdempotencyStore,
};

use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

use super::startup::{redact, retry};
use crate::telemetry::{DB_POOL_CONNECTIONS, DB_POOL_MAX_CONNECTIONS};
use crate::{Config, ScrapeHook};

const SETTING: &str = "--database-url (DATABASE_URL)";
const SESSION_SETTING: &str = "--database-session-url (DATABASE_SESSION_URL)";

/// How long a replica waits at start-up for its own `NOTIFY` to come back
/// to its listening connection (see `PgBroadcaster::round_trip`).
const NOTIFY_ROUND_TRIP: std::time::Duration = std::time::Duration::from_secs(5);

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
    /// How to open a session of its own (`--database-session-url`, else
    /// `--database-url`), for the broadcaster's `LISTEN`.
    pub(super) session: PgConnectOptions,
}

/// Connects (retrying for `--startup-timeout`), runs the migrations (over
/// `--database-session-url` when set) and returns the store and the
/// idempotency keys, which share the pool.
///
/// # Errors
///
/// A one-line message naming the setting.
pub(super) async fn store(config: &Config, url: &str) -> Result<PgBackends, String> {
    let session_url = config.database_session_url()?;
    let pg = PgConfig {
        max_connections: config.database_pool_size,
        acquire_timeout: config.database_acquire_timeout,
        statement_timeout: Some(config.database_statement_timeout).filter(|t| !t.is_zero()),
        session_url: session_url.map(str::to_owned),
        cast_mode: CastMode::coalesced_with_max_queue(config.database_max_queued_votes as usize),
        ..PgConfig::new(url)
    };
    let setting = SETTING;
    let shown = redact(url);
    pg.connect_options()
        .map_err(|e| format!("{setting}: {shown} is not a PostgreSQL URL: {e}"))?;
    let session = pg.session_options().map_err(|e| {
        format!(
            "{SESSION_SETTING}: {} is not a PostgreSQL URL: {e}",
            redact(session_url.unwrap_or(url))
        )
    })?;
    let pool = retry("PostgreSQL", config.startup_timeout, || pg.connect())
        .await
        .map_err(|e| {
            format!(
                "{setting}: cannot connect to {shown}: {e}{}",
                pooler_hint(&e)
            )
        })?;
    let migrating = session_url.map_or_else(|| shown.clone(), redact);
    pg.migrate(&pool).await.map_err(|e| {
        let setting = if session_url.is_some() {
            SESSION_SETTING
        } else {
            SETTING
        };
        format!("{setting}: migrating {migrating} failed: {e}")
    })?;
    if pg.statement_timeout.is_none() {
        warn_without_statement_timeout(&pool, &shown).await;
    }
    tracing::info!(database = %shown, pool_size = pg.max_connections, "PostgreSQL store ready");
    let gauges = pool_gauges(pool.clone());
    let idempotency = Arc::new(PgIdempotencyStore::new(pool.clone()));
    Ok(PgBackends {
        store: Arc::new(pg.store(pool.clone())),
        idempotency,
        gauges,
        pool,
        session,
    })
}

/// With `--database-statement-timeout 0` the timeout is left to the
/// database or the pooler in front of it (PgBouncer's `connect_query`): a
/// warning when the connections turn out to have none, since a stuck
/// statement then holds its connection, and a poll's lock, for ever.
async fn warn_without_statement_timeout(pool: &PgPool, shown: &str) {
    match sqlx::query_scalar::<_, String>("SHOW statement_timeout")
        .fetch_one(pool)
        .await
    {
        Ok(timeout) if timeout == "0" => tracing::warn!(
            database = %shown,
            "--database-statement-timeout is 0 and the database's connections have no \
             statement_timeout either: a stuck statement holds a poll's lock until it ends; \
             set one on the role, the database or the pooler's connect_query (docs/pgbouncer.md)"
        ),
        Ok(timeout) => {
            tracing::info!(database = %shown, statement_timeout = %timeout, "statement timeout set by the database or its pooler");
        }
        Err(error) => tracing::warn!(database = %shown, %error, "cannot read statement_timeout"),
    }
}

/// The way out when PgBouncer refused the statement timeout, which the
/// server sends as a startup option unless `--database-statement-timeout 0`.
fn pooler_hint(error: &sqlx::Error) -> &'static str {
    if error.to_string().contains("unsupported startup parameter") {
        " (a pooler such as PgBouncer refuses the statement timeout sent at connection: \
         set --database-statement-timeout (POLLING_DATABASE_STATEMENT_TIMEOUT) to 0 and the \
         timeout on the pooler's server connections, and --database-session-url for the \
         migrations and LISTEN; see docs/pgbouncer.md)"
    } else {
        ""
    }
}

/// The `LISTEN`/`NOTIFY` broadcaster on `pool`'s database, once its
/// listening connection is up (waiting up to `--startup-timeout`), so that a
/// replica misses no event once it starts serving.
pub(super) async fn broadcaster(
    config: &Config,
    url: &str,
    pool: &PgPool,
    session: PgConnectOptions,
) -> Result<Arc<dyn Broadcaster>, String> {
    let broadcaster = PgBroadcaster::with_listener(pool, session, &PgBroadcasterConfig::default());
    retry("PostgreSQL LISTEN", config.startup_timeout, || {
        broadcaster.check()
    })
    .await
    .map_err(|e| {
        let cause = std::error::Error::source(&e).map_or_else(|| e.to_string(), |c| c.to_string());
        format!("{SETTING}: cannot listen on {}: {cause}", redact(url))
    })?;
    // Behind a pooler in transaction mode, LISTEN is in place but hears
    // nothing (or breaks other clients' queries): refuse to start.
    broadcaster
        .round_trip(NOTIFY_ROUND_TRIP)
        .await
        .map_err(|e| {
            let cause =
                std::error::Error::source(&e).map_or_else(|| e.to_string(), |c| c.to_string());
            format!(
                "--broadcaster postgres (POLLING_BROADCASTER): {cause}; behind PgBouncer in \
                 transaction mode, set --database-session-url (DATABASE_SESSION_URL) to a \
                 direct connection for the listening connection (docs/pgbouncer.md)"
            )
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

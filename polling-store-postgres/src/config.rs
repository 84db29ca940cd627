//! [`PgConfig`]: how to reach PostgreSQL and how big a pool to keep.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::cast::CastMode;
use crate::PgPollStore;

/// Connection settings of a [`PgPollStore`], with the server's defaults.
///
/// ```no_run
/// # async fn example() -> Result<(), sqlx::Error> {
/// use std::time::Duration;
/// use polling_store_postgres::PgConfig;
///
/// let config = PgConfig {
///     max_connections: 20,
///     statement_timeout: Some(Duration::from_secs(2)),
///     ..PgConfig::new("postgres://postgres@127.0.0.1/polling")
/// };
/// let pool = config.connect().await?;
/// polling_store_postgres::migrate(&pool).await?;
/// let store = config.store(pool);
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgConfig {
    /// The database URL, `postgres://user:password@host:port/database`.
    pub url: String,
    /// The most connections the pool opens. Votes on one poll use one at a
    /// time when coalesced; reads and other polls use the rest.
    pub max_connections: u32,
    /// How long a query waits for a free (or new) connection before it fails
    /// as unavailable: bounds how long a request hangs while PostgreSQL is down.
    pub acquire_timeout: Duration,
    /// PostgreSQL's `statement_timeout` for every connection, so one stuck
    /// statement cannot hold a connection (and a poll's lock) forever. It is
    /// sent as a startup option, which PgBouncer refuses: behind one, set
    /// `None` and set the timeout on PgBouncer's server connections instead
    /// (`docs/pgbouncer.md`).
    pub statement_timeout: Option<Duration>,
    /// A direct connection (or one through a pooler in session mode) for
    /// what needs a session of its own: the migrations, which hold an
    /// advisory lock across their transactions, and the broadcaster's
    /// `LISTEN`. Set it when [`url`](Self::url) goes through a pooler in
    /// transaction mode (PgBouncer's `pool_mode = transaction`), which hands
    /// a session's server connection to other clients between its
    /// transactions. `None`: [`url`](Self::url).
    pub session_url: Option<String>,
    /// How ballots become transactions.
    pub cast_mode: CastMode,
}

impl PgConfig {
    /// The default pool size.
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
    /// The default wait for a connection.
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
    /// The default statement timeout.
    pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

    /// The defaults, for the database at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: Self::DEFAULT_ACQUIRE_TIMEOUT,
            statement_timeout: Some(Self::DEFAULT_STATEMENT_TIMEOUT),
            session_url: None,
            cast_mode: CastMode::default(),
        }
    }

    /// The connection options: the URL plus the statement timeout and an
    /// application name that shows in `pg_stat_activity`.
    pub fn connect_options(&self) -> Result<PgConnectOptions, sqlx::Error> {
        self.options_for(&self.url)
    }

    /// The options of the [session connection](Self::session_url), as
    /// [`connect_options`](Self::connect_options) makes them.
    pub fn session_options(&self) -> Result<PgConnectOptions, sqlx::Error> {
        self.options_for(self.session_url.as_deref().unwrap_or(&self.url))
    }

    fn options_for(&self, url: &str) -> Result<PgConnectOptions, sqlx::Error> {
        let mut options = PgConnectOptions::from_str(url)?.application_name("polling");
        if let Some(timeout) = self.statement_timeout {
            options =
                options.options([("statement_timeout", format!("{}ms", timeout.as_millis()))]);
        }
        Ok(options)
    }

    /// Runs the [migrations](crate::migrate): on `pool` when there is no
    /// [session URL](Self::session_url), else on a connection of their own
    /// to it, closed afterwards.
    pub async fn migrate(&self, pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
        if self.session_url.is_none() {
            return crate::migrate(pool).await;
        }
        let session = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(self.acquire_timeout)
            .connect_with(self.session_options()?)
            .await?;
        let migrated = crate::migrate(&session).await;
        session.close().await;
        migrated
    }

    /// The pool options: size and acquire timeout.
    pub fn pool_options(&self) -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.acquire_timeout)
    }

    /// Opens a pool, connecting once to check the database is there.
    pub async fn connect(&self) -> Result<PgPool, sqlx::Error> {
        self.pool_options()
            .connect_with(self.connect_options()?)
            .await
    }

    /// A store on `pool` with this configuration's cast mode.
    pub fn store(&self, pool: PgPool) -> PgPollStore {
        PgPollStore::with_cast_mode(pool, self.cast_mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_timeout_is_passed_to_every_connection() {
        let config = PgConfig {
            statement_timeout: Some(Duration::from_millis(1500)),
            ..PgConfig::new("postgres://u@db:5433/polls")
        };
        let options = config.connect_options().unwrap();
        assert_eq!(options.get_host(), "db");
        assert_eq!(options.get_port(), 5433);
        assert_eq!(options.get_options(), Some("-c statement_timeout=1500ms"));
    }

    #[test]
    fn the_session_connection_is_the_session_url_else_the_url() {
        let direct = PgConfig::new("postgres://u@db:5432/polls");
        assert_eq!(direct.session_options().unwrap().get_host(), "db");
        let pooled = PgConfig {
            session_url: Some("postgres://u@primary:5432/polls".to_owned()),
            statement_timeout: None,
            ..PgConfig::new("postgres://u@pgbouncer:6432/polls")
        };
        let session = pooled.session_options().unwrap();
        assert_eq!((session.get_host(), session.get_port()), ("primary", 5432));
        assert_eq!(pooled.connect_options().unwrap().get_host(), "pgbouncer");
        assert_eq!(pooled.connect_options().unwrap().get_options(), None);
    }

    #[test]
    fn a_malformed_url_is_an_error_not_a_panic() {
        assert!(PgConfig::new("not a url").connect_options().is_err());
        let bad_session = PgConfig {
            session_url: Some("not a url".to_owned()),
            ..PgConfig::new("postgres://postgres@127.0.0.1/polling")
        };
        assert!(bad_session.session_options().is_err());
    }
}

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
    /// statement cannot hold a connection (and a poll's lock) forever.
    pub statement_timeout: Option<Duration>,
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
            cast_mode: CastMode::default(),
        }
    }

    /// The connection options: the URL plus the statement timeout and an
    /// application name that shows in `pg_stat_activity`.
    pub fn connect_options(&self) -> Result<PgConnectOptions, sqlx::Error> {
        let mut options = PgConnectOptions::from_str(&self.url)?.application_name("polling");
        if let Some(timeout) = self.statement_timeout {
            options =
                options.options([("statement_timeout", format!("{}ms", timeout.as_millis()))]);
        }
        Ok(options)
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
    fn a_malformed_url_is_an_error_not_a_panic() {
        assert!(PgConfig::new("not a url").connect_options().is_err());
    }
}

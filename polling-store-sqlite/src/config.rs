//! [`SqliteConfig`]: which database file, and how to open it.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::cast::CastMode;
use crate::SqlitePollStore;

/// Connection settings of a [`SqlitePollStore`], with the server's defaults.
///
/// Every connection of a file database runs with the write-ahead log
/// (`journal_mode = WAL`: readers never block the writer nor wait for it),
/// foreign keys on (a deleted poll takes its ballots along), the
/// [`busy_timeout`](Self::busy_timeout) and the
/// [`synchronous`](Self::synchronous) setting. The file is created when
/// missing.
///
/// An in-memory database (`sqlite::memory:`) lives as long as its pool's one
/// connection, which the pool then never closes by itself: nothing is kept
/// once the process ends.
///
/// ```no_run
/// # async fn example() -> Result<(), sqlx::Error> {
/// use std::time::Duration;
/// use polling_store_sqlite::SqliteConfig;
///
/// let config = SqliteConfig {
///     busy_timeout: Duration::from_secs(10),
///     ..SqliteConfig::new("sqlite:///var/lib/polling/polls.db")
/// };
/// let pool = config.connect().await?;
/// polling_store_sqlite::migrate(&pool).await?;
/// let store = config.store(pool);
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqliteConfig {
    /// The database URL: `sqlite://path/to/file.db` (relative to the working
    /// directory, or absolute as `sqlite:///var/lib/...`), or
    /// `sqlite::memory:`.
    pub url: String,
    /// The most connections the pool opens for a file database: one writes
    /// at a time (SQLite has one write lock per file), the others read.
    /// An in-memory database always has exactly one.
    pub max_connections: u32,
    /// How long a query waits for a free (or new) connection before it fails
    /// as unavailable.
    pub acquire_timeout: Duration,
    /// How long a write waits for SQLite's write lock, held by another
    /// process on the same file, before it fails as unavailable.
    pub busy_timeout: Duration,
    /// When a commit waits for the disk: `Full` (the default) syncs the
    /// write-ahead log at every commit, so an acknowledged vote survives a
    /// power cut too; `Normal` survives a crash of the process, not of the
    /// machine, and syncs only at checkpoints. Group commit makes one sync
    /// serve a whole batch of votes.
    pub synchronous: SqliteSynchronous,
    /// How ballots become transactions.
    pub cast_mode: CastMode,
}

impl SqliteConfig {
    /// The default pool size of a file database.
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;
    /// The default wait for a connection.
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
    /// The default wait for the write lock.
    pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

    /// The defaults, for the database at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: Self::DEFAULT_ACQUIRE_TIMEOUT,
            busy_timeout: Self::DEFAULT_BUSY_TIMEOUT,
            synchronous: SqliteSynchronous::Full,
            cast_mode: CastMode::default(),
        }
    }

    /// The defaults, for a new in-memory database.
    pub fn memory() -> Self {
        Self::new("sqlite::memory:")
    }

    /// Whether the URL names an in-memory database (`sqlite::memory:`,
    /// `sqlite://:memory:` or `mode=memory`).
    pub fn is_memory(&self) -> bool {
        is_memory(&self.url)
    }

    /// The connection options: the URL, created when missing, with the
    /// write-ahead log (file databases), foreign keys, the busy timeout and
    /// the `synchronous` setting.
    pub fn connect_options(&self) -> Result<SqliteConnectOptions, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(&self.url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(self.busy_timeout)
            .synchronous(self.synchronous);
        Ok(match self.is_memory() {
            // An in-memory database has no file for a write-ahead log.
            true => options,
            false => options.journal_mode(SqliteJournalMode::Wal),
        })
    }

    /// The pool options: size and acquire timeout; for an in-memory
    /// database, one connection kept for the pool's life (the database goes
    /// when its last connection closes).
    pub fn pool_options(&self) -> SqlitePoolOptions {
        let options = SqlitePoolOptions::new().acquire_timeout(self.acquire_timeout);
        match self.is_memory() {
            true => options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None),
            false => options.max_connections(self.max_connections.max(1)),
        }
    }

    /// Opens a pool, connecting once to check the database can be opened
    /// (and creating its file).
    pub async fn connect(&self) -> Result<SqlitePool, sqlx::Error> {
        self.pool_options()
            .connect_with(self.connect_options()?)
            .await
    }

    /// A store on `pool` with this configuration's cast mode.
    pub fn store(&self, pool: SqlitePool) -> SqlitePollStore {
        SqlitePollStore::with_cast_mode(pool, self.cast_mode)
    }
}

/// Whether `url` names an in-memory SQLite database.
fn is_memory(url: &str) -> bool {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    database == ":memory:" || params.split('&').any(|p| p == "mode=memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_urls_are_told_from_files() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://polls?mode=memory",
        ] {
            assert!(SqliteConfig::new(url).is_memory(), "{url}");
        }
        for url in [
            "sqlite://polling.db",
            "sqlite:polling.db",
            "sqlite:///var/lib/polling/memory.db",
        ] {
            assert!(!SqliteConfig::new(url).is_memory(), "{url}");
        }
    }

    #[test]
    fn a_file_database_gets_the_write_ahead_log_and_a_pool_of_several() {
        let config = SqliteConfig::new("sqlite://polls/votes.db");
        let options = config.connect_options().unwrap();
        assert_eq!(
            options.get_filename(),
            std::path::Path::new("polls/votes.db")
        );
        assert_eq!(
            config.pool_options().get_max_connections(),
            SqliteConfig::DEFAULT_MAX_CONNECTIONS
        );
        assert_eq!(
            SqliteConfig::memory().pool_options().get_max_connections(),
            1
        );
    }
}

//! SQLite storage for **polling**: [`SqlitePollStore`], a
//! [`PollStore`](polling_core::PollStore) on sqlx's SQLite driver, and
//! [`SqliteIdempotencyStore`], an
//! [`IdempotencyStore`](polling_core::IdempotencyStore): the durable
//! embedded default of `polling-server`, one file and no service to run.
//!
//! * Schema: sqlx migrations embedded in this crate; run [`migrate`] at
//!   start-up. It mirrors the PostgreSQL store's (polls with their running
//!   sums, one ballot row per voter per poll, a ranked poll's distinct
//!   rankings, idempotency keys); see `migrations/`.
//! * Connections ([`SqliteConfig`]): the write-ahead log (readers never
//!   block the writer), a busy timeout for the write lock, foreign keys on,
//!   and `synchronous = FULL` by default, so an acknowledged vote is on disk.
//! * Votes: a vote is one `BEGIN IMMEDIATE` transaction under SQLite's
//!   write lock. The ballot row (unique per poll and voter) and the poll's
//!   sums change together, and the results after the vote come back from
//!   that transaction. Concurrent ballots on one poll are coalesced into
//!   shared transactions ([`CastMode`]), so a hot poll syncs the disk once
//!   per batch, not once per vote.
//! * Failures: every database failure is
//!   [`PollError::Unavailable`](polling_core::PollError::Unavailable).
//!
//! The store passes the conformance suite of `polling_core::testing`
//! (feature `testing`), as every store does: the same one-ballot-per-voter,
//! group-commit and idempotency guarantees as `polling-store-postgres`.
//!
//! # Example
//!
//! ```
//! use polling_core::service::PollService;
//! use polling_store_sqlite::{SqliteConfig, SqlitePollStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A file (`sqlite://polling.db`), or nothing kept:
//! let config = SqliteConfig::new("sqlite::memory:");
//! let pool = config.connect().await?;
//! polling_store_sqlite::migrate(&pool).await?;
//!
//! let store = SqlitePollStore::new(pool);
//! let service = PollService::new(store);
//! # let _ = service;
//! # Ok(())
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

#[macro_use]
mod rows;

mod ballot_rows;
mod cast;
mod config;
mod database;
mod error;
mod idempotency_store;
mod invites;
mod poll_store;

pub use cast::CastMode;
pub use config::SqliteConfig;
pub use idempotency_store::SqliteIdempotencyStore;
pub use poll_store::SqlitePollStore;
pub use sqlx::sqlite::SqliteSynchronous;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::SqlitePool;

/// The schema's migrations, embedded at build time from `migrations/`.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// Brings the database's schema up to date: a no-op when nothing is pending.
pub async fn migrate(pool: &SqlitePool) -> Result<(), MigrateError> {
    MIGRATOR.run(pool).await
}

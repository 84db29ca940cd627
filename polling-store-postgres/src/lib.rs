//! PostgreSQL storage for **polling**: [`PgPollStore`], a
//! [`PollStore`](polling_core::PollStore) on sqlx, [`PgIdempotencyStore`],
//! the [`IdempotencyStore`](polling_core::IdempotencyStore) replicas share,
//! and [`PgBroadcaster`], a [`Broadcaster`](polling_core::Broadcaster) over
//! `LISTEN`/`NOTIFY`, so that replicas on one database see each other's votes
//! without Redis.
//!
//! * Schema: sqlx migrations embedded in this crate; run [`migrate`] at
//!   start-up. It takes PostgreSQL's advisory lock, so replicas starting
//!   together apply each migration once. Every key leads with the poll id,
//!   and `ballots` is hash-partitioned by it (16 partitions); see
//!   `docs/postgres-partitioning.md` in the repository.
//! * Votes: a vote is one transaction. The ballot row (unique per poll and
//!   voter) and the poll's counts change together, and the results after the
//!   vote come back from that transaction. Concurrent ballots on one poll are
//!   coalesced into shared transactions ([`CastMode`]).
//! * Broadcasting: [`PgBroadcaster`] publishes each results event with
//!   `pg_notify` on a channel per poll and listens on one connection per
//!   process (outside the pool), replaced with a resync of its polls when it
//!   is lost; see its docs.
//! * Failures: every database failure is
//!   [`PollError::Unavailable`](polling_core::PollError::Unavailable); the
//!   pool reconnects by itself when PostgreSQL returns.
//!
//! # Example
//!
//! ```no_run
//! use polling_core::service::PollService;
//! use polling_store_postgres::{PgConfig, PgPollStore};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let config = PgConfig::new("postgres://postgres@127.0.0.1:5432/polling");
//! let pool = config.connect().await?;
//! polling_store_postgres::migrate(&pool).await?;
//!
//! let store = PgPollStore::new(pool);
//! let service = PollService::new(store);
//! # let _ = service;
//! # Ok(())
//! # }
//! ```
//!
//! Tests use `#[sqlx::test]`, which creates a fresh database with these
//! migrations for each test; `DATABASE_URL` names the server it uses.

#![cfg_attr(docsrs, feature(doc_cfg))]

// The README (the crate's page on crates.io) compiles and runs as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[macro_use]
mod rows;

mod ballot_rows;
mod broadcaster;
mod broadcaster_config;
mod cast;
mod channel;
mod config;
mod error;
mod idempotency_store;
mod invites;
mod listening;
mod poll_store;
mod publisher;

pub use broadcaster::PgBroadcaster;
pub use broadcaster_config::PgBroadcasterConfig;
pub use cast::CastMode;
pub use config::PgConfig;
pub use idempotency_store::PgIdempotencyStore;
pub use listening::LISTENER_APPLICATION_NAME;
pub use poll_store::PgPollStore;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::PgPool;

/// The schema's migrations, embedded at build time from `migrations/`.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// Brings the database's schema up to date: safe to run from several
/// processes at once, and a no-op when nothing is pending.
pub async fn migrate(pool: &PgPool) -> Result<(), MigrateError> {
    MIGRATOR.run(pool).await
}

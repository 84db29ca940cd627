//! [`TempDatabase`]: a SQLite file in a temporary directory, removed with
//! it; [`OnFile`]: a store that keeps its file alive as long as it lives.

use std::path::PathBuf;

use async_trait::async_trait;
use polling_core::idempotency::{Begun, Claim, IdempotencyStore, Lease, StoredResponse};
use polling_core::{
    AnonymousBallot, Ballot, BallotStream, CastOutcome, Page, Poll, PollId, PollStore, Result,
    Results, VoteReceipt, VoterId,
};
use polling_store_sqlite::{CastMode, SqliteConfig, SqliteIdempotencyStore, SqlitePollStore};
use sqlx::SqlitePool;
use tempfile::TempDir;
use time::OffsetDateTime;

/// A database file in a directory of its own, deleted (with the
/// write-ahead log beside it) when this is dropped.
#[derive(Debug)]
pub(crate) struct TempDatabase {
    dir: TempDir,
}

impl TempDatabase {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("polling-store-sqlite-")
                .tempdir()
                .expect("a temporary directory"),
        }
    }

    /// The database file.
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.path().join("polls.db")
    }

    /// Its configuration, with the defaults.
    pub(crate) fn config(&self) -> SqliteConfig {
        SqliteConfig::new(format!("sqlite://{}", self.path().display()))
    }

    /// A new pool on the file, migrated.
    pub(crate) async fn pool(&self) -> SqlitePool {
        migrated(&self.config()).await
    }
}

/// A pool of `config`, migrated.
pub(crate) async fn migrated(config: &SqliteConfig) -> SqlitePool {
    let pool = config.connect().await.expect("open the database");
    polling_store_sqlite::migrate(&pool)
        .await
        .expect("migrate the database");
    pool
}

/// A fresh in-memory database, migrated.
pub(crate) async fn memory_pool() -> SqlitePool {
    migrated(&SqliteConfig::memory()).await
}

/// A store on a fresh temporary file with `mode`.
pub(crate) async fn file_store(mode: CastMode) -> OnFile<SqlitePollStore> {
    let database = TempDatabase::new();
    let store = SqlitePollStore::with_cast_mode(database.pool().await, mode);
    OnFile {
        store,
        _database: database,
    }
}

/// Idempotency keys on a fresh temporary file.
pub(crate) async fn file_keys() -> OnFile<SqliteIdempotencyStore> {
    let database = TempDatabase::new();
    let store = SqliteIdempotencyStore::new(database.pool().await);
    OnFile {
        store,
        _database: database,
    }
}

/// A store and the temporary file it uses, which goes when the store does.
pub(crate) struct OnFile<S> {
    /// The store.
    pub(crate) store: S,
    /// Dropped after the store.
    _database: TempDatabase,
}

#[async_trait]
impl<S: PollStore> PollStore for OnFile<S> {
    async fn create(&self, poll: &Poll) -> Result<()> {
        self.store.create(poll).await
    }

    async fn get(&self, id: PollId) -> Result<Poll> {
        self.store.get(id).await
    }

    async fn list(&self, limit: usize, before: Option<PollId>) -> Result<Page> {
        self.store.list(limit, before).await
    }

    async fn close(&self, id: PollId, at: OffsetDateTime) -> Result<Poll> {
        self.store.close(id, at).await
    }

    async fn delete(&self, id: PollId) -> Result<()> {
        self.store.delete(id).await
    }

    async fn cast(&self, ballot: &Ballot) -> Result<CastOutcome> {
        self.store.cast(ballot).await
    }

    async fn ballot(&self, poll: PollId, voter: &VoterId) -> Result<Option<VoteReceipt>> {
        self.store.ballot(poll, voter).await
    }

    async fn has_voted(&self, poll: PollId, voter: &VoterId) -> Result<bool> {
        self.store.has_voted(poll, voter).await
    }

    async fn results(&self, id: PollId) -> Result<Results> {
        self.store.results(id).await
    }

    async fn ballots(&self, id: PollId) -> Result<Vec<AnonymousBallot>> {
        self.store.ballots(id).await
    }

    async fn ballot_stream(&self, id: PollId) -> Result<BallotStream> {
        self.store.ballot_stream(id).await
    }

    polling_core::delegate_invites!(store);
}

#[async_trait]
impl<S: IdempotencyStore> IdempotencyStore for OnFile<S> {
    async fn begin(&self, claim: &Claim) -> Result<Begun> {
        self.store.begin(claim).await
    }

    async fn complete(
        &self,
        lease: &Lease,
        response: &StoredResponse,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        self.store.complete(lease, response, expires_at).await
    }

    async fn abandon(&self, lease: &Lease) -> Result<()> {
        self.store.abandon(lease).await
    }
}

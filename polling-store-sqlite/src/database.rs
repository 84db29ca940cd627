//! [`Database`]: the pool a store queries, and the turns its writers take.

use std::sync::Arc;

use polling_core::Result;
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::{Mutex, MutexGuard, OwnedMutexGuard};

use crate::error::unavailable;

/// A SQLite pool and the gate its writers in this process pass one at a
/// time.
///
/// SQLite has one write lock per database file. Writers that race for it
/// lose to `SQLITE_BUSY` and sleep in SQLite's busy handler, which backs
/// off up to 100 ms between tries; taking turns on an async mutex first
/// hands the lock over as soon as it is free, in arrival order. The busy
/// timeout still covers writers of other processes on the same file.
#[derive(Clone, Debug)]
pub(crate) struct Database {
    /// Every query's connections.
    pub(crate) pool: SqlitePool,
    /// Held by this process's writer for the length of its write.
    writes: Arc<Mutex<()>>,
}

/// A write transaction holding SQLite's write lock, and this process's
/// turn to write: dropped uncommitted, it rolls back and frees both.
pub(crate) struct Write {
    /// The transaction, begun with `BEGIN IMMEDIATE`.
    pub(crate) tx: Transaction<'static, Sqlite>,
    /// This process's turn; released after the transaction ends.
    _turn: OwnedMutexGuard<()>,
}

impl Database {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        Self {
            pool,
            writes: Arc::default(),
        }
    }

    /// Waits for this process's turn to write (for one statement of its own).
    pub(crate) async fn turn(&self) -> MutexGuard<'_, ()> {
        self.writes.lock().await
    }

    /// Waits for this process's turn, then begins a transaction that takes
    /// the write lock at once (`BEGIN IMMEDIATE`), so that its reads see the
    /// latest commit and nobody else writes until it ends.
    pub(crate) async fn write(&self) -> Result<Write> {
        let turn = self.writes.clone().lock_owned().await;
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(unavailable)?;
        Ok(Write { tx, _turn: turn })
    }
}

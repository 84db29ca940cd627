//! [`SqliteBatchWriter`]: the store's [`BatchWriter`], one transaction per batch.

use polling_core::store_kit::BatchWriter;
use polling_core::{Ballot, CastOutcome, PollId, Result};

use super::transaction::cast_batch;
use crate::database::Database;

/// Writes each batch of a [`Coalescer`](polling_core::store_kit::Coalescer)
/// with [`cast_batch`], through the database.
#[derive(Clone, Debug)]
pub(crate) struct SqliteBatchWriter {
    /// Where the batches are written.
    database: Database,
}

impl SqliteBatchWriter {
    pub(crate) fn new(database: Database) -> Self {
        Self { database }
    }
}

impl BatchWriter for SqliteBatchWriter {
    async fn write_batch(&self, poll_id: PollId, ballots: &[Ballot]) -> Vec<Result<CastOutcome>> {
        cast_batch(&self.database, poll_id, ballots).await
    }
}

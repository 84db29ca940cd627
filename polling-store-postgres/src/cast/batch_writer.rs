//! [`PgBatchWriter`]: the store's [`BatchWriter`], one transaction per batch.

use polling_core::store_kit::BatchWriter;
use polling_core::{Ballot, CastOutcome, PollId, Result};
use sqlx::PgPool;

use super::transaction::cast_batch;

/// Writes each batch of a [`Coalescer`](polling_core::store_kit::Coalescer)
/// with [`cast_batch`], through the pool.
#[derive(Clone, Debug)]
pub(crate) struct PgBatchWriter {
    /// Where the batches are written.
    pool: PgPool,
}

impl PgBatchWriter {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

impl BatchWriter for PgBatchWriter {
    async fn write_batch(&self, poll_id: PollId, ballots: &[Ballot]) -> Vec<Result<CastOutcome>> {
        cast_batch(&self.pool, poll_id, ballots).await
    }
}

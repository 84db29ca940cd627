//! [`CountingStore`]: a store that counts the results reads reaching it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use polling_core::{
    AnonymousBallot, Ballot, CastOutcome, Page, Poll, PollId, PollStore, Result, Results,
    VoteReceipt, VoterId,
};
use time::OffsetDateTime;

/// Wraps a store and counts calls to [`PollStore::results`]: on the
/// PostgreSQL store each is one query, so reads per query show what a cache
/// saves.
#[derive(Debug)]
pub struct CountingStore<S> {
    inner: S,
    results_reads: Arc<AtomicU64>,
}

impl<S> CountingStore<S> {
    /// Counts the results reads of `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            results_reads: Arc::default(),
        }
    }

    /// The results reads so far.
    pub fn results_reads(&self) -> u64 {
        self.results_reads.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl<S: PollStore> PollStore for CountingStore<S> {
    async fn create(&self, poll: &Poll) -> Result<()> {
        self.inner.create(poll).await
    }

    async fn get(&self, id: PollId) -> Result<Poll> {
        self.inner.get(id).await
    }

    async fn list(&self, limit: usize, before: Option<PollId>) -> Result<Page> {
        self.inner.list(limit, before).await
    }

    async fn close(&self, id: PollId, at: OffsetDateTime) -> Result<Poll> {
        self.inner.close(id, at).await
    }

    async fn delete(&self, id: PollId) -> Result<()> {
        self.inner.delete(id).await
    }

    async fn cast(&self, ballot: &Ballot) -> Result<CastOutcome> {
        self.inner.cast(ballot).await
    }

    async fn ballot(&self, poll: PollId, voter: &VoterId) -> Result<Option<VoteReceipt>> {
        self.inner.ballot(poll, voter).await
    }

    async fn results(&self, id: PollId) -> Result<Results> {
        self.results_reads.fetch_add(1, Ordering::Relaxed);
        self.inner.results(id).await
    }

    async fn ballots(&self, id: PollId) -> Result<Vec<AnonymousBallot>> {
        self.inner.ballots(id).await
    }

    async fn ballot_stream(&self, id: PollId) -> Result<polling_core::BallotStream> {
        self.inner.ballot_stream(id).await
    }
}

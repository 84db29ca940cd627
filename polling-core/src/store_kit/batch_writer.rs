//! [`BatchWriter`]: how a store records a batch of ballots on one poll.

use std::future::Future;
use std::sync::Arc;

use crate::{Ballot, CastOutcome, PollError, PollId, Result};

/// Records a batch of ballots on one poll, for a
/// [`Coalescer`](super::Coalescer).
///
/// A store implements it with one transaction: lock the poll, decide the
/// batch with [`Plan::decide`](super::Plan::decide), write the plan, commit.
/// See the [module example](super#example).
pub trait BatchWriter: Send + Sync + 'static {
    /// Records `ballots` (all for `poll_id`, in order) and returns one outcome
    /// per ballot, in the same order.
    ///
    /// Each ballot is decided as if cast alone, in the batch's order, and the
    /// outcomes are returned only once the batch is durable. A failure of the
    /// whole batch gives every ballot an error (see [`batch_failure`]); a
    /// ballot [abandoned](Ballot::abandon) by the time the writer holds the
    /// poll's lock is left out and gets [`abandoned_error`].
    fn write_batch(
        &self,
        poll_id: PollId,
        ballots: &[Ballot],
    ) -> impl Future<Output = Vec<Result<CastOutcome>>> + Send;
}

/// The outcome of a ballot abandoned before its transaction recorded it.
pub fn abandoned_error() -> PollError {
    PollError::unavailable("the vote was abandoned before it was recorded")
}

/// The outcomes of a batch of `ballots` ballots whose transaction failed with
/// `error`: the same [`Unavailable`](PollError::Unavailable) error for each,
/// keeping `error` (and its cause) as the source for the logs. None of them
/// was recorded.
pub fn batch_failure(error: PollError, ballots: usize) -> Vec<Result<CastOutcome>> {
    let error = Arc::new(error);
    (0..ballots).map(|_| Err(shared(&error))).collect()
}

/// One failure handed to every caller of a batch.
fn shared(error: &Arc<PollError>) -> PollError {
    PollError::unavailable(SharedError(error.clone()))
}

/// A batch's failure, shared by all its ballots, keeping the cause for the logs.
#[derive(Debug)]
struct SharedError(Arc<PollError>);

impl std::fmt::Display for SharedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match std::error::Error::source(&*self.0) {
            Some(cause) => write!(f, "{}: {cause}", self.0),
            None => std::fmt::Display::fmt(&self.0, f),
        }
    }
}

impl std::error::Error for SharedError {}

//! [`PollStore`]: where polls and ballots live.

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::domain::{AnonymousBallot, Ballot, CastOutcome, Poll, PollId, Results};
use crate::error::Result;

/// One page of [`PollStore::list`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Polls, newest first.
    pub polls: Vec<Poll>,
    /// Pass as `before` to get the next page; `None` on the last page.
    pub next_cursor: Option<PollId>,
}

/// Storage of polls and ballots.
///
/// Every implementation passes the conformance suite in
/// `polling_core::testing::store` (feature `testing`), which pins down the
/// contract below.
///
/// # Casting
///
/// [`cast`](PollStore::cast) is atomic and idempotent. It checks, in order:
///
/// 1. the poll exists, else [`PollError::NotFound`](crate::PollError::NotFound);
/// 2. the voter's earlier ballot in this poll, if any: the identical ballot
///    returns the original receipt with `is_new: false`; a different one is
///    [`PollError::AlreadyVoted`](crate::PollError::AlreadyVoted);
/// 3. the poll is open (not closed, not past `closes_at`), else
///    [`PollError::PollClosed`](crate::PollError::PollClosed);
/// 4. the choices fit the poll ([`Poll::check_ballot`]).
///
/// Then it records the ballot and the counts together and returns the
/// results right after it, whose `version` is one more than before.
#[async_trait]
pub trait PollStore: Send + Sync + 'static {
    /// Stores a new poll (made by [`Poll::open`]).
    async fn create(&self, poll: &Poll) -> Result<()>;

    /// The poll with this id, or `NotFound`.
    async fn get(&self, id: PollId) -> Result<Poll>;

    /// Up to `limit` polls, newest first, created before the poll `before` if given.
    async fn list(&self, limit: usize, before: Option<PollId>) -> Result<Page>;

    /// Closes the poll as of `at`; closing a closed poll keeps its first `closed_at`.
    async fn close(&self, id: PollId, at: OffsetDateTime) -> Result<Poll>;

    /// Deletes the poll with its ballots, or `NotFound`.
    async fn delete(&self, id: PollId) -> Result<()>;

    /// Records `ballot`; see [Casting](PollStore#casting).
    async fn cast(&self, ballot: &Ballot) -> Result<CastOutcome>;

    /// The poll's current results, or `NotFound`.
    async fn results(&self, id: PollId) -> Result<Results>;

    /// The poll's ballots without their voters, sorted by minute then
    /// choices (see [`AnonymousBallot`]), or `NotFound`.
    async fn ballots(&self, id: PollId) -> Result<Vec<AnonymousBallot>>;
}

#[async_trait]
impl<T: PollStore + ?Sized> PollStore for Arc<T> {
    async fn create(&self, poll: &Poll) -> Result<()> {
        (**self).create(poll).await
    }

    async fn get(&self, id: PollId) -> Result<Poll> {
        (**self).get(id).await
    }

    async fn list(&self, limit: usize, before: Option<PollId>) -> Result<Page> {
        (**self).list(limit, before).await
    }

    async fn close(&self, id: PollId, at: OffsetDateTime) -> Result<Poll> {
        (**self).close(id, at).await
    }

    async fn delete(&self, id: PollId) -> Result<()> {
        (**self).delete(id).await
    }

    async fn cast(&self, ballot: &Ballot) -> Result<CastOutcome> {
        (**self).cast(ballot).await
    }

    async fn results(&self, id: PollId) -> Result<Results> {
        (**self).results(id).await
    }

    async fn ballots(&self, id: PollId) -> Result<Vec<AnonymousBallot>> {
        (**self).ballots(id).await
    }
}

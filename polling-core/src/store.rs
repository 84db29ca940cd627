//! [`PollStore`]: where polls and ballots live.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::stream::{self, BoxStream, StreamExt};
use time::OffsetDateTime;

use crate::domain::{
    AnonymousBallot, Ballot, CastOutcome, Invite, Poll, PollId, Results, VoteReceipt, VoterId,
};
use crate::error::Result;

/// One page of [`PollStore::list`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Polls, newest first.
    pub polls: Vec<Poll>,
    /// Pass as `before` to get the next page; `None` on the last page.
    pub next_cursor: Option<PollId>,
}

/// A poll's ballots one at a time, as [`PollStore::ballot_stream`] gives
/// them: in the order of [`PollStore::ballots`]. An item is an error when
/// the store failed midway; the stream ends after it.
pub type BallotStream = BoxStream<'static, Result<AnonymousBallot>>;

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
///    and the voter may vote in it ([`store_kit::check_eligible`](crate::store_kit::check_eligible)):
///    in an invite-only poll the voter must be the
///    [voter id](crate::InviteCode::voter) of one of its invites, not
///    revoked, checked atomically with the cast (see
///    [Invites](PollStore#invites)); in any other poll it must not be one;
/// 2. the voter's earlier ballot in this poll, if any: the identical ballot
///    returns the original receipt and the current results
///    ([`CastKind::Replay`](crate::CastKind::Replay)); a different one is
///    [`PollError::AlreadyVoted`](crate::PollError::AlreadyVoted) unless the
///    poll has `allow_vote_change`;
/// 3. the poll is open (not closed, not past `closes_at`), else
///    [`PollError::PollClosed`](crate::PollError::PollClosed);
/// 4. the marks fit the poll: its method, options and choice rule
///    ([`Poll::check_ballot`]).
///
/// Then, in one atomic step, it records the ballot and the poll's sums (its
/// [`Tally`](crate::Tally)) together and returns a new receipt and results
/// whose `version` is one more than before:
///
/// * a first ballot ([`CastKind::New`](crate::CastKind::New)) is added to the
///   sums and to `total`;
/// * a changed ballot ([`CastKind::Changed`](crate::CastKind::Changed))
///   replaces the earlier one: its marks leave the sums, the new ones enter
///   them, `total` unchanged (see [`Tally::change`](crate::Tally::change)).
///   Concurrent changes by one voter are applied one after the other, so
///   counts never go negative and a voter never counts twice.
///
/// The results returned are those right after the ballot; a store that
/// records ballots in batches may instead return, for a ranked poll, the
/// results after the whole batch (a higher version, never a lower one), so
/// that it counts the instant runoff once per batch.
///
/// # Invites
///
/// An invite-only poll ([`Eligibility::Invite`](crate::Eligibility::Invite))
/// keeps its [`Invite`]s: [`add_invites`](PollStore::add_invites) stores
/// them, [`invites`](PollStore::invites) lists them with whether each has
/// voted, [`revoke_invite`](PollStore::revoke_invite) revokes one. A
/// revocation and a cast with the same code are ordered as if one ran
/// before the other (the PostgreSQL store takes the poll's row lock for
/// both): either the ballot counts and the revocation is refused as
/// [`InviteUsed`](crate::PollError::InviteUsed), or the code is revoked and
/// the ballot refused as [`InviteInvalid`](crate::PollError::InviteInvalid).
/// # Secret polls
///
/// A poll with `secret` keeps who voted apart from what they voted (see
/// [`secrecy`](crate::domain::secrecy)): the store records a participation
/// (the poll and the [`VoterHash`](crate::domain::VoterHash) of the voter)
/// and an anonymous ballot (the poll, the marks, the minute, a random key)
/// in one atomic step, with no voter id, version, sequence or finer time on
/// the ballot, and writes a batch's ballots in an order that is not the
/// batch's. Casting differs in step 2: any second ballot of a voter, the
/// same or not, is [`PollError::AlreadyVoted`](crate::PollError::AlreadyVoted)
/// (there is nothing to compare it with). The receipt returned by `cast`
/// carries the caller's own marks (it is never stored) and a `cast_at`
/// truncated to the minute; [`ballot`](PollStore::ballot) is `None` for
/// every voter and [`has_voted`](PollStore::has_voted) tells who voted.
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

    /// The receipt of `voter`'s current ballot in `poll` (the latest, after a
    /// change), `None` if they have not voted, or `NotFound` for an unknown poll.
    ///
    /// A [secret](PollStore#secret-polls) poll keeps no receipt tied to a
    /// voter: `None` for every voter (see [`has_voted`](PollStore::has_voted)).
    async fn ballot(&self, poll: PollId, voter: &VoterId) -> Result<Option<VoteReceipt>>;

    /// Whether `voter` holds a ballot in `poll` (for a secret poll: a
    /// participation), or `NotFound` for an unknown poll.
    ///
    /// The default asks [`ballot`](PollStore::ballot), right for a store
    /// without secret polls.
    async fn has_voted(&self, poll: PollId, voter: &VoterId) -> Result<bool> {
        Ok(self.ballot(poll, voter).await?.is_some())
    }

    /// The poll's current results, or `NotFound`.
    async fn results(&self, id: PollId) -> Result<Results>;

    /// The poll's ballots without their voters, sorted by minute then
    /// choices (see [`AnonymousBallot`]), or `NotFound`: for a secret poll
    /// too, never in the order they were cast.
    async fn ballots(&self, id: PollId) -> Result<Vec<AnonymousBallot>>;

    /// The same ballots in the same order as [`ballots`](PollStore::ballots),
    /// one at a time, so that an export's memory does not grow with the
    /// poll; `NotFound` (before any ballot) for an unknown poll.
    ///
    /// The default collects [`ballots`](PollStore::ballots), right for a
    /// store that holds them in memory anyway; a database overrides it to
    /// read rows as the stream is polled. A stream not polled may hold
    /// resources of the store (a database connection) until it is polled
    /// to its end or dropped.
    async fn ballot_stream(&self, id: PollId) -> Result<BallotStream> {
        let ballots = self.ballots(id).await?;
        Ok(stream::iter(ballots).map(Ok).boxed())
    }

    /// Stores `invites` (made by [`Invite::issue`], distinct voters, not
    /// revoked) for poll `poll`, all or none, or `NotFound`; or none and
    /// [`TooManyInvites`](crate::PollError::TooManyInvites) when the poll
    /// would then hold more than [`MAX_INVITES_PER_POLL`](crate::MAX_INVITES_PER_POLL)
    /// (revoked ones included: [`invite_room`](crate::invite_room), checked
    /// so that concurrent additions never pass it). See
    /// [Invites](PollStore#invites).
    async fn add_invites(&self, poll: PollId, invites: &[Invite]) -> Result<()>;

    /// The poll's invites, oldest first (by `created_at`, then nonce), each
    /// `used` when its voter id [has voted](PollStore::has_voted): a ballot
    /// kept under it or, in a secret poll (whose ballots name no voter), a
    /// participation under its [`VoterHash`](crate::domain::VoterHash); or
    /// `NotFound`.
    async fn invites(&self, poll: PollId) -> Result<Vec<Invite>>;

    /// Revokes the invite of `poll` whose voter id is `voter` as of `at`,
    /// and returns it: [`InviteNotFound`](crate::PollError::InviteNotFound)
    /// when the poll has none, [`InviteUsed`](crate::PollError::InviteUsed)
    /// when its code has voted, in a secret poll too (nothing changes), `NotFound` for an unknown
    /// poll. Revoking a revoked invite keeps its first `revoked_at`.
    async fn revoke_invite(
        &self,
        poll: PollId,
        voter: &VoterId,
        at: OffsetDateTime,
    ) -> Result<Invite>;
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

    async fn ballot(&self, poll: PollId, voter: &VoterId) -> Result<Option<VoteReceipt>> {
        (**self).ballot(poll, voter).await
    }

    async fn has_voted(&self, poll: PollId, voter: &VoterId) -> Result<bool> {
        (**self).has_voted(poll, voter).await
    }

    async fn results(&self, id: PollId) -> Result<Results> {
        (**self).results(id).await
    }

    async fn ballots(&self, id: PollId) -> Result<Vec<AnonymousBallot>> {
        (**self).ballots(id).await
    }

    async fn ballot_stream(&self, id: PollId) -> Result<BallotStream> {
        (**self).ballot_stream(id).await
    }

    async fn add_invites(&self, poll: PollId, invites: &[Invite]) -> Result<()> {
        (**self).add_invites(poll, invites).await
    }

    async fn invites(&self, poll: PollId) -> Result<Vec<Invite>> {
        (**self).invites(poll).await
    }

    async fn revoke_invite(
        &self,
        poll: PollId,
        voter: &VoterId,
        at: OffsetDateTime,
    ) -> Result<Invite> {
        (**self).revoke_invite(poll, voter, at).await
    }
}

/// Generates the [`PollStore`] methods of invites (`add_invites`,
/// `invites`, `revoke_invite`) for a store that wraps another in the field
/// `$field` and hands them to it unchanged: the test doubles and wrappers
/// that only change casting or reads.
///
/// The methods are written as `async_trait` writes them (boxed futures),
/// since a macro's output inside an `#[async_trait]` impl is not rewritten.
///
/// ```ignore
/// #[async_trait]
/// impl<S: PollStore> PollStore for Wrapper<S> {
///     // ... the methods the wrapper changes ...
///     polling_core::delegate_invites!(inner);
/// }
/// ```
#[macro_export]
macro_rules! delegate_invites {
    ($field:tt) => {
        fn add_invites<'life0, 'life1, 'async_trait>(
            &'life0 self,
            poll: $crate::PollId,
            invites: &'life1 [$crate::Invite],
        ) -> $crate::__BoxFuture<'async_trait, $crate::Result<()>>
        where
            'life0: 'async_trait,
            'life1: 'async_trait,
            Self: 'async_trait,
        {
            self.$field.add_invites(poll, invites)
        }

        fn invites<'life0, 'async_trait>(
            &'life0 self,
            poll: $crate::PollId,
        ) -> $crate::__BoxFuture<'async_trait, $crate::Result<::std::vec::Vec<$crate::Invite>>>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            self.$field.invites(poll)
        }

        fn revoke_invite<'life0, 'life1, 'async_trait>(
            &'life0 self,
            poll: $crate::PollId,
            voter: &'life1 $crate::VoterId,
            at: $crate::__OffsetDateTime,
        ) -> $crate::__BoxFuture<'async_trait, $crate::Result<$crate::Invite>>
        where
            'life0: 'async_trait,
            'life1: 'async_trait,
            Self: 'async_trait,
        {
            self.$field.revoke_invite(poll, voter, at)
        }
    };
}

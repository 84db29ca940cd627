//! Who may see a poll's counts, now: the one place it is decided, for the
//! server's results route and vote response and for every live socket.
//!
//! | visibility | sees the counts |
//! |---|---|
//! | `always` | everyone |
//! | `after_vote` | the owner, a voter who has a ballot in the poll, everyone once it is closed |
//! | `after_close` | the owner, everyone once it is closed |
//!
//! The owner is whoever presents the poll's manage token
//! ([`Poll::is_managed_by`]). A poll's visibility never changes after
//! creation, so a process remembers it ([`VisibilityMemo`]): deciding for an
//! `always` poll costs no store query.
//!
//! # Example
//!
//! ```
//! use polling_core::access::{counts_access, CountsAccess, Viewer, VisibilityMemo};
//! use polling_core::memory::MemoryStore;
//! use polling_core::{ManageToken, NewPoll, Poll, PollDraft, PollStore, Visibility};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> polling_core::Result<()> {
//! let store = MemoryStore::new();
//! let draft = PollDraft {
//!     question: "Lunch?".into(),
//!     options: vec!["Pizza".into(), "Salad".into()],
//!     visibility: Visibility::AfterClose,
//!     ..PollDraft::default()
//! };
//! let token = ManageToken::generate();
//! let poll = Poll::open(NewPoll::new(draft, polling_core::now())?, token.hash(), polling_core::now());
//! store.create(&poll).await?;
//!
//! let memo = VisibilityMemo::default();
//! let stranger = counts_access(&store, &memo, poll.id, Viewer::default()).await?;
//! assert!(matches!(stranger, CountsAccess::Hidden { .. }));
//! let owner = Viewer { token: Some(&token), ..Viewer::default() };
//! assert_eq!(counts_access(&store, &memo, poll.id, owner).await?, CountsAccess::Visible);
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{ManageToken, Poll, PollId, PollStore, Result, Visibility, VoterId};

/// Whether counts may be shown to someone, now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CountsAccess {
    /// Show them (and from now on: visibility only widens).
    Visible,
    /// Don't, under this rule.
    Hidden {
        /// The poll's rule, to say when they will show.
        visibility: Visibility,
        /// How long until they show by themselves (the poll's closing
        /// time), if it has one.
        reveal_in: Option<Duration>,
    },
}

/// Who asks to see the counts.
#[derive(Clone, Copy, Debug, Default)]
pub struct Viewer<'a> {
    /// The voter asking, if known.
    pub voter: Option<&'a VoterId>,
    /// A manage token they presented, if any.
    pub token: Option<&'a ManageToken>,
    /// The caller knows the voter has a ballot in the poll (it just cast
    /// one): the store need not be asked.
    pub voted: bool,
}

/// The most visibilities a [`VisibilityMemo`] keeps; past it, it starts
/// over (it only saves a query).
const MAX_REMEMBERED: usize = 65_536;

/// Each poll's visibility, remembered after its first read. Clones share it.
#[derive(Clone, Debug, Default)]
pub struct VisibilityMemo {
    known: Arc<Mutex<HashMap<PollId, Visibility>>>,
}

impl VisibilityMemo {
    /// The visibility of `poll`, if remembered.
    pub fn get(&self, poll: PollId) -> Option<Visibility> {
        self.known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&poll)
            .copied()
    }

    /// Whether `poll` is `after_vote`, or may be (its visibility is not
    /// remembered): whether its votes are worth a
    /// [`Voted`](crate::ResultsEvent::Voted) event.
    pub fn may_be_after_vote(&self, poll: PollId) -> bool {
        self.get(poll).is_none_or(|v| v == Visibility::AfterVote)
    }

    /// Remembers the visibility of `poll`.
    pub fn remember(&self, poll: &Poll) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() >= MAX_REMEMBERED {
            known.clear();
        }
        known.insert(poll.id, poll.visibility);
    }
}

/// Whether `viewer` may see the counts of `poll_id` now, reading the poll
/// from `store` unless `memo` already decides.
///
/// # Errors
///
/// `NotFound` for an unknown poll (when the store is asked), `Unavailable`
/// when the store fails.
pub async fn counts_access(
    store: &dyn PollStore,
    memo: &VisibilityMemo,
    poll_id: PollId,
    viewer: Viewer<'_>,
) -> Result<CountsAccess> {
    match memo.get(poll_id) {
        // No query: everyone sees these counts, or this voter just voted.
        Some(Visibility::Always) => return Ok(CountsAccess::Visible),
        Some(Visibility::AfterVote) if viewer.voted => return Ok(CountsAccess::Visible),
        _ => {}
    }
    let poll = store.get(poll_id).await?;
    memo.remember(&poll);
    counts_access_to(store, &poll, viewer).await
}

/// [`counts_access`] with the poll in hand: the store is asked only whether
/// an `after_vote` voter has a ballot.
///
/// # Errors
///
/// `Unavailable` when the store fails.
pub async fn counts_access_to(
    store: &dyn PollStore,
    poll: &Poll,
    viewer: Viewer<'_>,
) -> Result<CountsAccess> {
    if poll.visibility == Visibility::Always
        || viewer.token.is_some_and(|token| poll.is_managed_by(token))
    {
        return Ok(CountsAccess::Visible);
    }
    let now = crate::now();
    let closed = poll.is_closed_at(now);
    let voted = viewer.voted
        || (poll.visibility == Visibility::AfterVote
            && !closed
            && match viewer.voter {
                Some(voter) => store.has_voted(poll.id, voter).await?,
                None => false,
            });
    if poll.visibility.may_see(voted, closed) {
        return Ok(CountsAccess::Visible);
    }
    // Both rules show the counts to everyone at the closing time.
    let reveal_in = poll
        .closes_at
        .map(|at| Duration::try_from(at - now).unwrap_or(Duration::ZERO));
    Ok(CountsAccess::Hidden {
        visibility: poll.visibility,
        reveal_in,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use crate::testing::{ballot, sample_poll};

    async fn store_with(visibility: Visibility) -> (MemoryStore, Poll, ManageToken) {
        let store = MemoryStore::new();
        let token = ManageToken::generate();
        let mut poll = sample_poll(2, false, None);
        poll.visibility = visibility;
        poll.manage_token_hash = token.hash();
        store.create(&poll).await.unwrap();
        (store, poll, token)
    }

    fn hidden(access: CountsAccess) -> bool {
        matches!(access, CountsAccess::Hidden { .. })
    }

    #[tokio::test]
    async fn after_vote_shows_counts_to_voters_owners_and_everyone_once_closed() {
        let (store, poll, token) = store_with(Visibility::AfterVote).await;
        let memo = VisibilityMemo::default();
        let voter = VoterId::generate();
        let as_voter = Viewer {
            voter: Some(&voter),
            ..Viewer::default()
        };
        let access = |viewer| counts_access(&store, &memo, poll.id, viewer);
        assert!(hidden(access(as_voter).await.unwrap()));
        let owner = Viewer {
            token: Some(&token),
            ..Viewer::default()
        };
        assert_eq!(access(owner).await.unwrap(), CountsAccess::Visible);
        let stranger = ManageToken::generate();
        let wrong = Viewer {
            token: Some(&stranger),
            ..Viewer::default()
        };
        assert!(hidden(access(wrong).await.unwrap()));
        store.cast(&ballot(&poll, &voter, &[0])).await.unwrap();
        assert_eq!(access(as_voter).await.unwrap(), CountsAccess::Visible);
        store.close(poll.id, crate::now()).await.unwrap();
        assert_eq!(
            access(Viewer::default()).await.unwrap(),
            CountsAccess::Visible
        );
    }

    #[tokio::test]
    async fn after_close_hides_counts_from_voters_until_closed() {
        let (store, mut poll, _) = store_with(Visibility::AfterClose).await;
        let voter = VoterId::generate();
        store.cast(&ballot(&poll, &voter, &[0])).await.unwrap();
        let as_voter = Viewer {
            voter: Some(&voter),
            voted: true,
            ..Viewer::default()
        };
        assert_eq!(
            counts_access_to(&store, &poll, as_voter).await.unwrap(),
            CountsAccess::Hidden {
                visibility: Visibility::AfterClose,
                reveal_in: None
            }
        );
        poll.closes_at = Some(crate::now() + time::Duration::minutes(5));
        match counts_access_to(&store, &poll, as_voter).await.unwrap() {
            CountsAccess::Hidden {
                reveal_in: Some(d), ..
            } => assert!(d > Duration::from_secs(200) && d <= Duration::from_secs(300)),
            other => panic!("expected hidden with a reveal time, got {other:?}"),
        }
        poll.closed_at = Some(crate::now());
        assert_eq!(
            counts_access_to(&store, &poll, as_voter).await.unwrap(),
            CountsAccess::Visible
        );
    }

    #[tokio::test]
    async fn votes_are_announced_unless_the_poll_is_known_not_to_be_after_vote() {
        let memo = VisibilityMemo::default();
        let mut poll = sample_poll(2, false, None);
        assert!(memo.may_be_after_vote(poll.id), "not known yet");
        for (visibility, announced) in [
            (Visibility::AfterVote, true),
            (Visibility::Always, false),
            (Visibility::AfterClose, false),
        ] {
            poll.visibility = visibility;
            memo.remember(&poll);
            assert_eq!(memo.may_be_after_vote(poll.id), announced, "{visibility:?}");
        }
    }

    #[tokio::test]
    async fn always_is_remembered_and_unknown_polls_are_not_found() {
        let (store, poll, _) = store_with(Visibility::Always).await;
        let memo = VisibilityMemo::default();
        let access = |id| counts_access(&store, &memo, id, Viewer::default());
        assert_eq!(access(poll.id).await.unwrap(), CountsAccess::Visible);
        store.delete(poll.id).await.unwrap();
        // Remembered: no query; the results path itself answers 404 then.
        assert_eq!(access(poll.id).await.unwrap(), CountsAccess::Visible);
        let unknown = sample_poll(2, false, None);
        assert!(access(unknown.id).await.is_err());
    }
}

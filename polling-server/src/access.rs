//! Who may see a poll's counts, now: the one place the server decides it,
//! for the results route, the vote response and the live socket.
//!
//! | visibility | sees the counts |
//! |---|---|
//! | `always` | everyone |
//! | `after_vote` | the owner, a voter who has a ballot in the poll, everyone once it is closed |
//! | `after_close` | the owner, everyone once it is closed |
//!
//! The owner is whoever presents the poll's manage token. A poll's
//! visibility never changes after creation, so it is remembered per process
//! ([`Visibilities`]): reading the results of an `always` poll costs no store
//! query beyond the (cached) results path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use polling_core::{ManageToken, Poll, PollId, PollStore, Result, Visibility, VoterId};

/// Whether counts may be shown to someone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Show them.
    Visible,
    /// Don't, under this visibility rule.
    Hidden {
        /// The poll's rule, to say when they will show.
        visibility: Visibility,
        /// How long until they show by themselves (the poll's `closes_at`),
        /// if known.
        reveal_in: Option<Duration>,
    },
}

/// Who asks to see the counts.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Viewer<'a> {
    /// The voter id from the cookie, if any.
    pub(crate) voter: Option<&'a VoterId>,
    /// A presented manage token, if any.
    pub(crate) token: Option<&'a ManageToken>,
    /// The caller knows the voter has a ballot (it just cast one): no need
    /// to ask the store.
    pub(crate) voted: bool,
}

/// The most visibilities remembered; past it the memo starts over (it only
/// saves a query).
const MAX_REMEMBERED: usize = 65_536;

/// Each poll's visibility, remembered after the first read. Clones share it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Visibilities {
    known: Arc<Mutex<HashMap<PollId, Visibility>>>,
}

impl Visibilities {
    /// The visibility of `poll`, if remembered.
    pub(crate) fn get(&self, poll: PollId) -> Option<Visibility> {
        self.known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&poll)
            .copied()
    }

    /// Whether `poll` is `after_vote`, or may be (its visibility is not
    /// remembered): whether its votes are worth a `Voted` event.
    pub(crate) fn may_be_after_vote(&self, poll: PollId) -> bool {
        self.get(poll).is_none_or(|v| v == Visibility::AfterVote)
    }

    /// Remembers the visibility of `poll`.
    pub(crate) fn remember(&self, poll: &Poll) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() >= MAX_REMEMBERED {
            known.clear();
        }
        known.insert(poll.id, poll.visibility);
    }
}

/// Decides whether `viewer` may see the counts of `poll_id` now.
///
/// # Errors
///
/// `NotFound` for an unknown poll (when the store is asked), `Unavailable`
/// when the store fails.
pub(crate) async fn access(
    store: &dyn PollStore,
    visibilities: &Visibilities,
    poll_id: PollId,
    viewer: Viewer<'_>,
) -> Result<Access> {
    match visibilities.get(poll_id) {
        // No query: everyone sees these counts, or this voter just voted.
        Some(Visibility::Always) => return Ok(Access::Visible),
        Some(Visibility::AfterVote) if viewer.voted => return Ok(Access::Visible),
        _ => {}
    }
    let poll = store.get(poll_id).await?;
    visibilities.remember(&poll);
    access_to(store, &poll, viewer).await
}

/// [`access`] with the poll in hand.
pub(crate) async fn access_to(
    store: &dyn PollStore,
    poll: &Poll,
    viewer: Viewer<'_>,
) -> Result<Access> {
    if poll.visibility == Visibility::Always
        || viewer
            .token
            .is_some_and(|token| poll.manage_token_hash.verifies(token))
    {
        return Ok(Access::Visible);
    }
    let now = polling_core::now();
    let closed = poll.is_closed_at(now);
    let voted = viewer.voted
        || (poll.visibility == Visibility::AfterVote
            && !closed
            && match viewer.voter {
                Some(voter) => store.ballot(poll.id, voter).await?.is_some(),
                None => false,
            });
    if poll.visibility.may_see(voted, closed) {
        return Ok(Access::Visible);
    }
    // Both rules show the counts to everyone at the closing time.
    let reveal_in = poll
        .closes_at
        .map(|at| Duration::try_from(at - now).unwrap_or(Duration::ZERO));
    Ok(Access::Hidden {
        visibility: poll.visibility,
        reveal_in,
    })
}

#[cfg(test)]
mod tests {
    use polling_core::memory::MemoryStore;
    use polling_core::testing::{ballot, sample_poll};

    use super::*;

    async fn store_with(visibility: Visibility) -> (MemoryStore, Poll, ManageToken) {
        let store = MemoryStore::new();
        let token = ManageToken::generate();
        let mut poll = sample_poll(2, false, None);
        poll.visibility = visibility;
        poll.manage_token_hash = token.hash();
        store.create(&poll).await.unwrap();
        (store, poll, token)
    }

    fn hidden(access: Access) -> bool {
        matches!(access, Access::Hidden { .. })
    }

    #[tokio::test]
    async fn after_vote_shows_counts_to_voters_owners_and_everyone_once_closed() {
        let (store, poll, token) = store_with(Visibility::AfterVote).await;
        let memo = Visibilities::default();
        let voter = VoterId::generate();
        let as_voter = Viewer {
            voter: Some(&voter),
            ..Viewer::default()
        };
        assert!(hidden(
            access(&store, &memo, poll.id, as_voter).await.unwrap()
        ));
        let owner = Viewer {
            token: Some(&token),
            ..Viewer::default()
        };
        assert_eq!(
            access(&store, &memo, poll.id, owner).await.unwrap(),
            Access::Visible
        );
        let stranger = ManageToken::generate();
        let wrong = Viewer {
            token: Some(&stranger),
            ..Viewer::default()
        };
        assert!(hidden(access(&store, &memo, poll.id, wrong).await.unwrap()));
        store.cast(&ballot(&poll, &voter, &[0])).await.unwrap();
        assert_eq!(
            access(&store, &memo, poll.id, as_voter).await.unwrap(),
            Access::Visible
        );
        store.close(poll.id, polling_core::now()).await.unwrap();
        assert_eq!(
            access(&store, &memo, poll.id, Viewer::default())
                .await
                .unwrap(),
            Access::Visible
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
            access_to(&store, &poll, as_voter).await.unwrap(),
            Access::Hidden {
                visibility: Visibility::AfterClose,
                reveal_in: None
            }
        );
        poll.closes_at = Some(polling_core::now() + time::Duration::minutes(5));
        match access_to(&store, &poll, as_voter).await.unwrap() {
            Access::Hidden {
                reveal_in: Some(d), ..
            } => assert!(d > Duration::from_secs(200) && d <= Duration::from_secs(300)),
            other => panic!("expected hidden with a reveal time, got {other:?}"),
        }
        poll.closed_at = Some(polling_core::now());
        assert_eq!(
            access_to(&store, &poll, as_voter).await.unwrap(),
            Access::Visible
        );
    }

    #[tokio::test]
    async fn votes_are_announced_unless_the_poll_is_known_not_to_be_after_vote() {
        let memo = Visibilities::default();
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
        let memo = Visibilities::default();
        assert_eq!(
            access(&store, &memo, poll.id, Viewer::default())
                .await
                .unwrap(),
            Access::Visible
        );
        store.delete(poll.id).await.unwrap();
        // Remembered: no query; the results path itself answers 404 then.
        assert_eq!(
            access(&store, &memo, poll.id, Viewer::default())
                .await
                .unwrap(),
            Access::Visible
        );
        let unknown = sample_poll(2, false, None);
        assert!(access(&store, &memo, unknown.id, Viewer::default())
            .await
            .is_err());
    }
}

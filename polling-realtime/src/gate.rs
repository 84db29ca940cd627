//! [`CountsGate`]: whether one socket may see the counts of its poll.
//!
//! A poll's visibility (`after_vote`, `after_close`) may hide its counts from
//! a socket. This crate knows no voters, cookies or tokens: the server
//! implements the gate for each socket (with the voter id of the handshake,
//! its store and the poll) and hands it to
//! [`serve_gated_socket`](crate::serve_gated_socket). A socket that may not
//! see counts gets a `hidden` message and nothing else, and a `snapshot` the
//! moment the gate says it may (see [`protocol`](crate::protocol)).
//!
//! [`VoterGate`] is the gate of one voter's socket, deciding by
//! [`polling_core::access`], the rules the server's results route follows.

use std::sync::Arc;

use async_trait::async_trait;
pub use polling_core::access::CountsAccess;
use polling_core::access::{counts_access, Viewer, VisibilityMemo};
use polling_core::{ManageToken, PollId, PollStore, VoterId, VoterTag};

/// Decides whether one socket may see its poll's counts, for
/// [`serve_gated_socket`](crate::serve_gated_socket).
///
/// A poll's visibility (`after_vote`, `after_close`) may hide its counts from
/// a socket. This crate knows no voters, cookies or tokens: the server
/// implements the gate for each socket, with the voter id of the handshake,
/// its store and the poll.
///
/// Each ask may cost the server store queries, so a hidden socket asks only
/// when the answer may have changed, never because someone else voted:
///
/// * when it starts;
/// * when the counts are due to show by themselves (`reveal_in`: the poll's
///   closing time);
/// * after a resync (the owner closed the poll, or the socket's poll lost
///   track of its events, which may have included the voter's own vote);
/// * under `after_vote`, when a [`Voted`](polling_core::ResultsEvent::Voted)
///   event carries this socket's [`voter`](CountsGate::voter) (the voter
///   voted, on any replica, in any tab), or when the socket may have missed
///   such events (it fell behind);
/// * when the client sends `{"type":"recheck"}` or presents a manage token.
///
/// The socket asks at most once per
/// [`recheck_interval`](crate::SocketConfig::recheck_interval) for the
/// reasons above that a peer can repeat (events and client messages): a flood
/// of `recheck` or `manage` messages is answered once per interval, for the
/// last token presented. A vote of someone else never makes a socket ask.
#[async_trait]
pub trait CountsGate: Send + Sync {
    /// Whether the socket may see the counts now.
    ///
    /// An error keeps the counts hidden (the socket asks again later).
    async fn access(&self) -> polling_core::Result<CountsAccess>;

    /// Whether `token`, sent by the client as `{"type":"manage","token":…}`,
    /// is the poll's manage token: then the socket sees the counts from now
    /// on. The token comes in a message, never in the URL, where logs would
    /// keep it.
    async fn manages(&self, token: &str) -> polling_core::Result<bool>;

    /// The socket's voter, as tagged in
    /// [`Voted`](polling_core::ResultsEvent::Voted) events: such an event
    /// with this tag makes a hidden `after_vote` socket ask again. `None`
    /// (the default): the socket has no voter, and votes never open it.
    fn voter(&self) -> Option<&VoterTag> {
        None
    }
}

/// The gate of a poll whose counts everyone sees: what
/// [`serve_socket`](crate::serve_socket) uses.
#[derive(Clone, Copy, Debug, Default)]
pub struct AlwaysVisible;

#[async_trait]
impl CountsGate for AlwaysVisible {
    async fn access(&self) -> polling_core::Result<CountsAccess> {
        Ok(CountsAccess::Visible)
    }

    async fn manages(&self, _token: &str) -> polling_core::Result<bool> {
        Ok(false)
    }
}

/// The gate of one voter's socket on one poll: [`counts_access`] for that
/// voter, and a presented token checked against the poll's manage token.
pub struct VoterGate {
    /// Where the poll and the voter's ballot are read.
    store: Arc<dyn PollStore>,
    /// Each poll's visibility, remembered (shared with the routes).
    memo: VisibilityMemo,
    /// The poll watched.
    poll: PollId,
    /// The socket's voter (from the handshake's cookie, or a fresh id, who
    /// has voted nowhere).
    voter: VoterId,
    /// `voter`'s tag, as [`Voted`](polling_core::ResultsEvent::Voted) events
    /// carry it.
    tag: VoterTag,
}

impl VoterGate {
    /// The gate of `voter`'s socket on `poll`.
    pub fn new(
        store: Arc<dyn PollStore>,
        memo: VisibilityMemo,
        poll: PollId,
        voter: VoterId,
    ) -> Self {
        let tag = VoterTag::of(&voter);
        Self {
            store,
            memo,
            poll,
            voter,
            tag,
        }
    }
}

impl std::fmt::Debug for VoterGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoterGate")
            .field("poll", &self.poll)
            .field("tag", &self.tag)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl CountsGate for VoterGate {
    async fn access(&self) -> polling_core::Result<CountsAccess> {
        let viewer = Viewer {
            voter: Some(&self.voter),
            ..Viewer::default()
        };
        counts_access(&*self.store, &self.memo, self.poll, viewer).await
    }

    async fn manages(&self, token: &str) -> polling_core::Result<bool> {
        let Some(token) = ManageToken::presented(token) else {
            return Ok(false);
        };
        Ok(self.store.get(self.poll).await?.is_managed_by(&token))
    }

    fn voter(&self) -> Option<&VoterTag> {
        Some(&self.tag)
    }
}

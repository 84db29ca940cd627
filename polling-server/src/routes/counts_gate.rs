//! [`SocketGate`]: the server's [`CountsGate`] for one live socket.

use std::sync::Arc;

use async_trait::async_trait;
use polling_core::{ManageToken, PollId, PollStore, Result, VoterId, VoterTag};
use polling_realtime::{CountsAccess, CountsGate};

use crate::access::{self, Access, Viewer, Visibilities};

/// Whether one live socket may see its poll's counts: the [`access`] rules
/// for the voter of the handshake's cookie, and a manage token the client
/// presents in a `manage` message.
pub(super) struct SocketGate {
    /// Where the poll and the voter's ballot are read.
    pub(super) store: Arc<dyn PollStore>,
    /// Each poll's visibility, remembered.
    pub(super) visibilities: Visibilities,
    /// The poll watched.
    pub(super) poll: PollId,
    /// The voter of the handshake (from the cookie, or a fresh id, who has
    /// voted nowhere).
    pub(super) voter: VoterId,
    /// `voter`'s tag, as [`Voted`](polling_core::ResultsEvent::Voted) events
    /// carry it: such an event for this voter opens an `after_vote` socket;
    /// nobody else's vote makes it ask the store.
    pub(super) tag: VoterTag,
}

impl SocketGate {
    /// The gate of `voter`'s socket on `poll`.
    pub(super) fn new(
        store: Arc<dyn PollStore>,
        visibilities: Visibilities,
        poll: PollId,
        voter: VoterId,
    ) -> Self {
        let tag = VoterTag::of(&voter);
        Self {
            store,
            visibilities,
            poll,
            voter,
            tag,
        }
    }
}

#[async_trait]
impl CountsGate for SocketGate {
    async fn access(&self) -> Result<CountsAccess> {
        let viewer = Viewer {
            voter: Some(&self.voter),
            ..Viewer::default()
        };
        let access = access::access(&*self.store, &self.visibilities, self.poll, viewer).await?;
        Ok(match access {
            Access::Visible => CountsAccess::Visible,
            Access::Hidden {
                visibility,
                reveal_in,
            } => CountsAccess::Hidden {
                visibility,
                reveal_in,
            },
        })
    }

    async fn manages(&self, token: &str) -> Result<bool> {
        let Some(token) = ManageToken::presented(token) else {
            return Ok(false);
        };
        let poll = self.store.get(self.poll).await?;
        Ok(poll.manage_token_hash.verifies(&token))
    }

    fn voter(&self) -> Option<&VoterTag> {
        Some(&self.tag)
    }
}

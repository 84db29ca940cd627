use std::fmt;
use std::sync::Arc;

use tower::Layer;

use super::{AnnounceVoters, Broadcast};
use crate::broadcaster::Broadcaster;

/// Applies [`Broadcast`] to a service. See the [module docs](super).
pub struct BroadcastLayer<B: ?Sized> {
    /// The broadcaster shared by every service this layer makes.
    broadcaster: Arc<B>,
    /// Which polls' voters are announced; `None`: none.
    voters: Option<AnnounceVoters>,
}

impl<B: Broadcaster> BroadcastLayer<B> {
    /// Publishes through `broadcaster`.
    pub fn new(broadcaster: B) -> Self {
        Self::from_arc(Arc::new(broadcaster))
    }
}

impl<B: Broadcaster + ?Sized> BroadcastLayer<B> {
    /// Publishes through a shared broadcaster (such as `Arc<dyn Broadcaster>`).
    pub fn from_arc(broadcaster: Arc<B>) -> Self {
        Self {
            broadcaster,
            voters: None,
        }
    }

    /// Follows each recorded ballot (new or changed, not a replay) of a poll
    /// for which `which` says yes with a
    /// [`ResultsEvent::Voted`](crate::ResultsEvent::Voted) naming its voter
    /// by [`VoterTag`](crate::VoterTag), published after the results: live
    /// sockets whose counts wait on their voter's vote (`after_vote`) learn
    /// it there, on every replica, without asking the store. Pass the polls
    /// that may be `after_vote` (a server that remembers each poll's
    /// visibility skips the others, and their events cost nothing more).
    pub fn announcing_voters(mut self, which: AnnounceVoters) -> Self {
        self.voters = Some(which);
        self
    }
}

impl<B: ?Sized> Clone for BroadcastLayer<B> {
    fn clone(&self) -> Self {
        Self {
            broadcaster: Arc::clone(&self.broadcaster),
            voters: self.voters.clone(),
        }
    }
}

impl<B: ?Sized> fmt::Debug for BroadcastLayer<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastLayer").finish_non_exhaustive()
    }
}

impl<S, B: ?Sized> Layer<S> for BroadcastLayer<B> {
    type Service = Broadcast<S, B>;

    fn layer(&self, inner: S) -> Self::Service {
        let service = Broadcast::from_arc(inner, Arc::clone(&self.broadcaster));
        match &self.voters {
            Some(which) => service.announcing_voters(Arc::clone(which)),
            None => service,
        }
    }
}

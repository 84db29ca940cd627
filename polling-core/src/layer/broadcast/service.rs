use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower::Service;

use super::ResponseFuture;
use crate::broadcaster::Broadcaster;
use crate::domain::{Ballot, CastOutcome, PollId, Results, ResultsEvent, VoterTag};
use crate::metrics::BROADCAST_PUBLISH_ERRORS_TOTAL;
use crate::service::ResultsRequest;

/// Publishes the results of every recorded vote. See the [module docs](super).
pub struct Broadcast<S, B: ?Sized> {
    /// The service that records ballots.
    inner: S,
    /// Where results events go.
    broadcaster: Arc<B>,
    /// Which polls' voters are announced ([`ResultsEvent::Voted`]); `None`:
    /// none.
    voters: Option<AnnounceVoters>,
}

/// Which polls' recorded ballots [`Broadcast`] follows with a
/// [`ResultsEvent::Voted`] naming the voter (by [`VoterTag`]); see
/// [`BroadcastLayer::announcing_voters`](super::BroadcastLayer::announcing_voters).
pub type AnnounceVoters = Arc<dyn Fn(PollId) -> bool + Send + Sync>;

impl<S, B: Broadcaster> Broadcast<S, B> {
    /// Publishes what `inner` records through `broadcaster`.
    pub fn new(inner: S, broadcaster: B) -> Self {
        Self::from_arc(inner, Arc::new(broadcaster))
    }
}

impl<S, B: ?Sized> Broadcast<S, B> {
    /// Publishes what `inner` records through a shared broadcaster.
    pub fn from_arc(inner: S, broadcaster: Arc<B>) -> Self {
        Self {
            inner,
            broadcaster,
            voters: None,
        }
    }

    /// Follows each recorded ballot of a poll for which `which` says yes
    /// with a [`ResultsEvent::Voted`]; see
    /// [`BroadcastLayer::announcing_voters`](super::BroadcastLayer::announcing_voters).
    pub fn announcing_voters(mut self, which: AnnounceVoters) -> Self {
        self.voters = Some(which);
        self
    }

    define_inner_service_accessors!();
}

impl<S: Clone, B: ?Sized> Clone for Broadcast<S, B> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            broadcaster: Arc::clone(&self.broadcaster),
            voters: self.voters.clone(),
        }
    }
}

impl<S: fmt::Debug, B: ?Sized> fmt::Debug for Broadcast<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broadcast")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<Ballot> for Broadcast<S, B>
where
    S: Service<Ballot, Response = CastOutcome>,
    S::Error: 'static,
    S::Future: Send + 'static,
    B: Broadcaster + ?Sized,
{
    type Response = CastOutcome;
    type Error = S::Error;
    type Future = ResponseFuture<CastOutcome, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, ballot: Ballot) -> Self::Future {
        let abandoner = ballot.abandoner();
        let voter = self
            .voters
            .as_ref()
            .filter(|which| which(ballot.poll_id()))
            .map(|_| VoterTag::of(ballot.voter()));
        let cast = self.inner.call(ballot);
        let broadcaster = Arc::clone(&self.broadcaster);
        // The publish belongs to the commit: if the caller leaves, the future
        // finishes it in a task (see `ResponseFuture`).
        ResponseFuture::vote(
            async move {
                let outcome = cast.await?;
                // A replay changed nothing; new and changed ballots did.
                if outcome.changed_results() {
                    let event = ResultsEvent::Updated {
                        results: outcome.results.clone(),
                    };
                    if let Err(error) = broadcaster.publish(&event).await {
                        ::metrics::counter!(BROADCAST_PUBLISH_ERRORS_TOTAL).increment(1);
                        tracing::warn!(
                            poll_id = %outcome.results.poll_id,
                            version = outcome.results.version,
                            error = ?error,
                            "results publish failed; the next vote heals it"
                        );
                    }
                }
                // Who voted, after the counts that include it: the voter's
                // own live sockets show `after_vote` counts on this word,
                // and nobody else's ask the store (see `ResultsEvent::Voted`).
                // Sent again for a changed ballot, in case the first one's
                // was lost.
                if let Some(voter) = voter.filter(|_| outcome.changed_results()) {
                    let event = ResultsEvent::Voted {
                        poll_id: outcome.results.poll_id,
                        voter,
                    };
                    if let Err(error) = broadcaster.publish(&event).await {
                        ::metrics::counter!(BROADCAST_PUBLISH_ERRORS_TOTAL).increment(1);
                        tracing::warn!(
                            poll_id = %outcome.results.poll_id,
                            error = ?error,
                            "vote publish failed; the voter's other live sockets show the counts at their next resync"
                        );
                    }
                }
                Ok(outcome)
            },
            abandoner,
        )
    }
}

impl<S, B> Service<ResultsRequest> for Broadcast<S, B>
where
    S: Service<ResultsRequest, Response = Results>,
    B: ?Sized,
{
    type Response = Results;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: ResultsRequest) -> Self::Future {
        self.inner.call(request)
    }
}

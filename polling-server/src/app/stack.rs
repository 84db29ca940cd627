//! [`PollServiceStack`]: the vote and results paths as one tower service
//! over the backends, and the live-results hub reading through it.

use std::sync::Arc;

use polling_core::access::VisibilityMemo;
use polling_core::layer::{Broadcast, BroadcastLayer, Cache, CacheLayer, Metrics, MetricsLayer};
use polling_core::service::{PollService, ResultsRequest};
use polling_core::{BoxError, Broadcaster, PollError, PollId, PollStore, ResultsCache};
use polling_realtime::{Hub, HubConfig};
use tower::limit::ConcurrencyLimit;
use tower::load_shed::LoadShed;
use tower::timeout::Timeout;
use tower::util::MapErr;
use tower::{ServiceBuilder, ServiceExt};

use crate::config::RequestLimits;

/// The tower stack of the vote and results paths, outermost first
/// (`ARCHITECTURE.md#tower-stack`): metrics; the limits (tower's load shed,
/// concurrency limit and timeout, their refusals turned into
/// [`PollError::Unavailable`]); cache; broadcast; store.
pub type PollServiceStack = Metrics<MapErr<Limited<BackendLayers>, fn(BoxError) -> PollError>>;

/// The cache, broadcast and store layers of the [`PollServiceStack`].
type BackendLayers =
    Cache<Broadcast<PollService<dyn PollStore>, dyn Broadcaster>, dyn ResultsCache>;

/// Tower's limit layers around `S`, outermost first.
type Limited<S> = LoadShed<ConcurrencyLimit<Timeout<S>>>;

/// The vote and results paths over the backends, with `limits`' backend
/// timeout and its cap on requests in flight (0: none). Votes in polls that
/// may be `after_vote` (by `visibilities`: known to be, or not known) are
/// followed by a `Voted` event, for the voter's live sockets.
pub(super) fn stack(
    store: &Arc<dyn PollStore>,
    cache: &Arc<dyn ResultsCache>,
    broadcaster: &Arc<dyn Broadcaster>,
    visibilities: &VisibilityMemo,
    limits: &RequestLimits,
) -> PollServiceStack {
    let visibilities = visibilities.clone();
    let announce = Arc::new(move |poll| visibilities.may_be_after_vote(poll));
    let in_flight = match limits.max_concurrent_requests {
        0 => tokio::sync::Semaphore::MAX_PERMITS,
        cap => cap,
    };
    ServiceBuilder::new()
        .layer(MetricsLayer::new())
        .map_err(unavailable as fn(BoxError) -> PollError)
        .load_shed()
        .concurrency_limit(in_flight)
        .timeout(limits.backend_timeout)
        .layer(CacheLayer::from_arc(Arc::clone(cache)))
        .layer(BroadcastLayer::from_arc(Arc::clone(broadcaster)).announcing_voters(announce))
        .service(PollService::from_arc(Arc::clone(store)))
}

/// The limit layers' errors as the stack's: the backends' own
/// [`PollError`]s unchanged, a timeout or a shed request `unavailable`
/// (a vote that timed out may still commit: its voter's retry then gets
/// the original receipt).
fn unavailable(error: BoxError) -> PollError {
    match error.downcast::<PollError>() {
        Ok(error) => *error,
        Err(error) => PollError::unavailable(error),
    }
}

/// A hub whose sockets read their snapshots through the stack's (cached)
/// results path.
pub(super) fn hub(
    stack: &PollServiceStack,
    broadcaster: &Arc<dyn Broadcaster>,
    config: HubConfig,
) -> Hub {
    let stack = stack.clone();
    let source = move |poll: PollId| stack.clone().oneshot(ResultsRequest::new(poll));
    Hub::with_config(Arc::clone(broadcaster), source, config)
}

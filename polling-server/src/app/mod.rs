//! [`App`]: the backends and settings every route shares, built once by an
//! [`AppBuilder`].
//!
//! | module | what |
//! |---|---|
//! | `builder` | [`AppBuilder`]: the backends and settings, and `build` |
//! | `stack` | [`PollServiceStack`]: the vote and results paths over the backends, and the hub reading through it |
//! | `readiness` | the answer of `GET /readyz`, checked once at a time and reused for [`READINESS_MAX_AGE`](crate::READINESS_MAX_AGE) |

mod builder;
pub(crate) mod readiness;
mod stack;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use polling_cache_redis::RedisRateLimiter;
use polling_core::access::{counts_access, CountsAccess, Viewer, VisibilityMemo};
use polling_core::service::ResultsRequest;
use polling_core::{
    Ballot, Broadcaster, CastOutcome, IdempotencyStore, PollId, PollStore, Result, Results,
    ResultsCache,
};
use polling_realtime::{Hub, SocketConfig};
use tower::ServiceExt;

pub use builder::{AppBuilder, ScrapeHook, VotePath};
pub use stack::PollServiceStack;

use crate::config::{AllowedOrigins, PublicUrl, RequestLimits};
use crate::http::frontend::Frontend;
use readiness::Readiness;

/// The backends and settings of one server, built by an [`AppBuilder`].
/// Cheap to clone: clones share one allocation of its parts (every route
/// takes the app for every request).
///
/// # Example
///
/// ```
/// use polling_server::App;
///
/// // The embedded default: memory store, memory cache, local broadcaster.
/// let app = App::in_process();
/// let tuned = App::builder().body_limit(8 * 1024).build();
/// # let _ = (app, tuned);
/// ```
#[derive(Clone)]
pub struct App {
    /// What every clone shares.
    pub(crate) parts: Arc<Parts>,
}

/// What the clones of an [`App`] share.
pub(crate) struct Parts {
    /// Where polls and ballots live (create, get, list, close, delete).
    pub(crate) store: Arc<dyn PollStore>,
    /// The results cache (invalidated when a poll is deleted).
    pub(crate) cache: Arc<dyn ResultsCache>,
    /// Carries results events (the vote path publishes through it).
    pub(crate) broadcaster: Arc<dyn Broadcaster>,
    /// Each poll's results visibility, remembered (it never changes).
    pub(crate) visibilities: VisibilityMemo,
    /// The vote and results paths with their layers.
    pub(crate) stack: PollServiceStack,
    /// The vote path with an embedding application's layers around the
    /// stack ([`AppBuilder::vote_layer`]); `None`: votes take the stack.
    pub(crate) votes: Option<VotePath>,
    /// Live-results sockets: one upstream subscription per watched poll.
    pub(crate) hub: Hub,
    /// The most bytes a request body may have.
    pub(crate) body_limit: u64,
    /// The browser app served at `/`, if any.
    pub(crate) frontend: Frontend,
    /// Rates, caps and timeouts against abusive or slow clients.
    pub(crate) limits: RequestLimits,
    /// Where the rate limits' buckets live when every replica shares them;
    /// `None`: in this process.
    pub(crate) shared_rate_limits: Option<RedisRateLimiter>,
    /// Whether the voter cookie is marked `Secure` (served over HTTPS).
    pub(crate) secure_cookies: bool,
    /// Timing and limits of each live-results socket.
    pub(crate) socket_config: Arc<SocketConfig>,
    /// The pages allowed to open live-results sockets.
    pub(crate) allowed_origins: AllowedOrigins,
    /// This server's name in `polling_build_info` and in the `X-Served-By`
    /// header of every response.
    pub(crate) instance: Arc<str>,
    /// Idempotency keys and the responses they replay.
    pub(crate) idempotency: Arc<dyn IdempotencyStore>,
    /// How long a response to a request with an `Idempotency-Key` is kept.
    pub(crate) idempotency_ttl: Duration,
    /// The base of share links; `None`: taken from each request's `Host`.
    pub(crate) public_url: Option<PublicUrl>,
    /// Run before each scrape of `/metrics`.
    pub(crate) scrape_hooks: Vec<ScrapeHook>,
    /// The last `/readyz` answer and the one check in flight, so readiness
    /// probes cannot take the store's connections from votes.
    pub(crate) readiness: Arc<Readiness>,
}

impl App {
    /// A builder over the embedded default backends (everything in process
    /// memory); see [`AppBuilder::new`] for others.
    pub fn builder() -> AppBuilder {
        AppBuilder::in_process()
    }

    /// The embedded default with every setting at its default.
    pub fn in_process() -> Self {
        AppBuilder::in_process().build()
    }

    /// The live-results hub (for its statistics, or to stop it).
    pub fn hub(&self) -> &Hub {
        &self.parts.hub
    }

    /// Sets the gauges read at scrape time.
    pub(crate) fn before_scrape(&self) {
        metrics::gauge!(
            crate::telemetry::BUILD_INFO,
            "version" => env!("CARGO_PKG_VERSION"),
            "instance" => self.parts.instance.to_string(),
        )
        .set(1.0);
        crate::telemetry::recorder::process_collector().collect();
        for hook in &self.parts.scrape_hooks {
            hook();
        }
    }

    /// Casts `ballot` through the stack.
    pub(crate) fn cast(&self, ballot: Ballot) -> BoxFuture<'static, Result<CastOutcome>> {
        // Boxed here, where the future's `Send` is provable; warp's
        // higher-ranked filter bounds cannot see through the stack's types.
        match &self.parts.votes {
            Some(votes) => Box::pin(votes.clone().oneshot(ballot)),
            None => Box::pin(self.parts.stack.clone().oneshot(ballot)),
        }
    }

    /// Whether `viewer` may see the counts of `poll_id` now (see
    /// [`polling_core::access`]).
    pub(crate) async fn access(&self, poll_id: PollId, viewer: Viewer<'_>) -> Result<CountsAccess> {
        let parts = &*self.parts;
        counts_access(&*parts.store, &parts.visibilities, poll_id, viewer).await
    }

    /// Reads the results of `poll_id` through the stack.
    pub(crate) fn results(&self, poll_id: PollId) -> BoxFuture<'static, Result<Results>> {
        Box::pin(
            self.parts
                .stack
                .clone()
                .oneshot(ResultsRequest::new(poll_id)),
        )
    }
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = &*self.parts;
        f.debug_struct("App")
            .field("body_limit", &parts.body_limit)
            .field("frontend", &parts.frontend)
            .field("limits", &parts.limits)
            .field("shared_rate_limits", &parts.shared_rate_limits.is_some())
            .field("secure_cookies", &parts.secure_cookies)
            .field("instance", &parts.instance)
            .finish_non_exhaustive()
    }
}

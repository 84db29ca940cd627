//! [`App`]: the backends and settings every route shares.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use polling_core::access::{counts_access, CountsAccess, Viewer, VisibilityMemo};
use polling_core::layer::{Broadcast, BroadcastLayer, Cache, CacheLayer, Metrics, MetricsLayer};
use polling_core::memory::{LocalBroadcaster, MemoryCache, MemoryIdempotencyStore, MemoryStore};
use polling_core::service::{PollService, ResultsRequest};
use polling_core::BoxError;
use polling_core::{
    Ballot, Broadcaster, CastOutcome, IdempotencyStore, PollError, PollId, PollStore, Result,
    Results, ResultsCache,
};
use polling_realtime::{Hub, HubConfig, SocketConfig};
use tower::limit::ConcurrencyLimit;
use tower::load_shed::LoadShed;
use tower::timeout::Timeout;
use tower::util::MapErr;
use tower::{ServiceBuilder, ServiceExt};

use polling_cache_redis::RedisRateLimiter;

use crate::limits::Limits;
use crate::origin::AllowedOrigins;
use crate::public_url::PublicUrl;
use crate::readiness::Readiness;

/// The tower stack of the vote and results paths, outermost first
/// (`ARCHITECTURE.md#tower-stack`): metrics; the limits (tower's load shed, concurrency limit and
/// timeout, their refusals turned into [`PollError::Unavailable`]); cache;
/// broadcast; store.
pub type Stack = Metrics<MapErr<Limited<BackendLayers>, fn(BoxError) -> PollError>>;

/// The cache, broadcast and store layers of the [`Stack`].
type BackendLayers =
    Cache<Broadcast<PollService<dyn PollStore>, dyn Broadcaster>, dyn ResultsCache>;

/// Tower's limit layers around `S`, outermost first.
type Limited<S> = LoadShed<ConcurrencyLimit<Timeout<S>>>;

/// The body limit when none is configured: 16 KiB.
pub const DEFAULT_BODY_LIMIT: u64 = 16 * 1024;

/// How long responses to requests with an `Idempotency-Key` are kept when
/// nothing else is configured: 24 hours.
pub const DEFAULT_IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The backends and settings of one server. Cheap to clone: clones share
/// one allocation of its parts (every route takes the app for every request).
///
/// # Example
///
/// ```
/// use polling_server::App;
///
/// // The embedded default: memory store, memory cache, local broadcaster.
/// let app = App::in_process().with_body_limit(8 * 1024);
/// # let _ = app;
/// ```
#[derive(Clone)]
pub struct App(Arc<Shared>);

/// What the clones of an [`App`] share; set with `App`'s `with_*` methods.
///
/// Public only as the target of `App`'s `Deref`: it is not exported, and its
/// fields are the crate's own.
#[derive(Clone)]
pub struct Shared {
    /// Where polls and ballots live (create, get, list, close, delete).
    pub(crate) store: Arc<dyn PollStore>,
    /// The results cache (invalidated when a poll is deleted).
    pub(crate) cache: Arc<dyn ResultsCache>,
    /// Each poll's results visibility, remembered (it never changes).
    pub(crate) visibilities: VisibilityMemo,
    /// The vote and results paths with their layers.
    pub(crate) stack: Stack,
    /// The most bytes a request body may have.
    pub(crate) body_limit: u64,
    /// The browser app served at `/`, if any.
    pub(crate) frontend_dir: Option<PathBuf>,
    /// Rates, caps and timeouts against abusive or slow clients.
    pub(crate) limits: Limits,
    /// Where the rate limits' buckets live when every replica shares them;
    /// `None`: in this process.
    pub(crate) shared_rate_limits: Option<RedisRateLimiter>,
    /// Whether the voter cookie is marked `Secure` (served over HTTPS).
    pub(crate) secure_cookies: bool,
    /// Carries results events; kept to rebuild the hub with a new socket cap.
    broadcaster: Arc<dyn Broadcaster>,
    /// Live-results sockets: one upstream subscription per watched poll.
    pub(crate) hub: Hub,
    /// The hub's settings; kept to rebuild it over a new stack.
    hub_config: HubConfig,
    /// Timing and limits of each live-results socket.
    pub(crate) socket_config: SocketConfig,
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
    /// Run before each scrape of `/metrics`, to set gauges read from
    /// elsewhere (such as a database pool's size).
    scrape_hooks: Vec<ScrapeHook>,
    /// The last `/readyz` answer and the one check in flight, so readiness
    /// probes cannot take the store's connections from votes.
    pub(crate) readiness: Arc<Readiness>,
}

/// A function run before each scrape of `/metrics`; see [`App::with_scrape_hook`].
pub type ScrapeHook = Arc<dyn Fn() + Send + Sync>;

impl App {
    /// An app over the given backends.
    pub fn new(
        store: Arc<dyn PollStore>,
        cache: Arc<dyn ResultsCache>,
        broadcaster: Arc<dyn Broadcaster>,
    ) -> Self {
        let limits = Limits::default();
        let visibilities = VisibilityMemo::default();
        let stack = stack(&store, &cache, &broadcaster, &visibilities, &limits);
        // Installed before the first request, so that every one is counted.
        crate::telemetry::prometheus_handle();
        let hub_config = HubConfig::default();
        let hub = hub(&stack, &broadcaster, hub_config.clone());
        Self(Arc::new(Shared {
            store,
            cache,
            visibilities,
            stack,
            body_limit: DEFAULT_BODY_LIMIT,
            frontend_dir: None,
            limits,
            shared_rate_limits: None,
            secure_cookies: false,
            hub_config,
            broadcaster,
            hub,
            socket_config: SocketConfig::default(),
            allowed_origins: AllowedOrigins::default(),
            instance: crate::config::host_name().into(),
            idempotency: Arc::new(MemoryIdempotencyStore::new()),
            idempotency_ttl: DEFAULT_IDEMPOTENCY_TTL,
            public_url: None,
            scrape_hooks: Vec::new(),
            readiness: Arc::default(),
        }))
    }

    /// The shared parts, to change while building the app (copied first if
    /// a clone already shares them, which a builder never has).
    fn shared_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.0)
    }

    /// The embedded default: everything in process memory.
    pub fn in_process() -> Self {
        Self::new(
            Arc::new(MemoryStore::new()),
            Arc::new(MemoryCache::new()),
            Arc::new(LocalBroadcaster::new()),
        )
    }

    /// Sets the most bytes a request body may have.
    pub fn with_body_limit(mut self, bytes: u64) -> Self {
        self.shared_mut().body_limit = bytes;
        self
    }

    /// Sets the rates, caps and timeouts against abusive or slow clients
    /// and slow backends (see [`Limits`]; by default none but the timeouts).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        let stack = stack(
            &self.store,
            &self.cache,
            &self.broadcaster,
            &self.visibilities,
            &limits,
        );
        let hub = hub(&stack, &self.broadcaster, self.hub_config.clone());
        let shared = self.shared_mut();
        shared.stack = stack;
        shared.hub = hub;
        shared.limits = limits;
        self
    }

    /// Marks the voter cookie `Secure`, for a server reached over HTTPS
    /// (directly or through a TLS-terminating proxy): browsers then never
    /// send it over plain HTTP.
    pub fn with_secure_cookies(mut self, secure: bool) -> Self {
        self.shared_mut().secure_cookies = secure;
        self
    }

    /// Caps the live-results sockets open at once.
    pub fn with_max_sockets(self, max_sockets: usize) -> Self {
        let mut hub_config = self.hub_config.clone();
        hub_config.max_sockets = max_sockets;
        self.with_hub_config(hub_config)
    }

    /// Caps the live-results sockets one client address has open at once
    /// (behind `--trusted-proxies`, the client they name; an IPv6 client by
    /// its /64); `0`: no cap. More are refused with 503 `too_many_sockets`.
    pub fn with_max_sockets_per_client(self, max: usize) -> Self {
        let hub_config = self.hub_config.clone().max_sockets_per_client(max);
        self.with_hub_config(hub_config)
    }

    /// A new hub under `hub_config` (only while building the app).
    fn with_hub_config(mut self, hub_config: HubConfig) -> Self {
        let hub = hub(&self.stack, &self.broadcaster, hub_config.clone());
        let shared = self.shared_mut();
        shared.hub_config = hub_config;
        shared.hub = hub;
        self
    }

    /// Sets the pages allowed to open live-results sockets.
    pub fn with_allowed_origins(mut self, origins: AllowedOrigins) -> Self {
        self.shared_mut().allowed_origins = origins;
        self
    }

    /// Sets the timing and limits of each live-results socket.
    pub fn with_socket_config(mut self, config: SocketConfig) -> Self {
        self.shared_mut().socket_config = config;
        self
    }

    /// Keeps idempotency keys in `store` (default: in process memory; a
    /// shared store when several replicas serve the same clients).
    pub fn with_idempotency_store(mut self, store: Arc<dyn IdempotencyStore>) -> Self {
        self.shared_mut().idempotency = store;
        self
    }

    /// Keeps responses to requests with an `Idempotency-Key` for `ttl`
    /// (default: [`DEFAULT_IDEMPOTENCY_TTL`]).
    pub fn with_idempotency_ttl(mut self, ttl: Duration) -> Self {
        self.shared_mut().idempotency_ttl = ttl;
        self
    }

    /// Builds share links on `url` instead of each request's `Host`.
    pub fn with_public_url(mut self, url: Option<PublicUrl>) -> Self {
        self.shared_mut().public_url = url;
        self
    }

    /// Names this server in `polling_build_info` and `X-Served-By` (default:
    /// the host name).
    pub fn with_instance(mut self, instance: impl Into<Arc<str>>) -> Self {
        self.shared_mut().instance = instance.into();
        self
    }

    /// Keeps the [rate limits](Limits)' buckets in Redis through `limiter`,
    /// so that every replica on the same Redis and key prefix draws on one
    /// allowance per client. While Redis fails, each replica falls back to
    /// buckets of its own (counted in `polling_rate_limit_fallback_total`):
    /// a request is never refused because Redis is down.
    pub fn with_shared_rate_limits(mut self, limiter: RedisRateLimiter) -> Self {
        self.shared_mut().shared_rate_limits = Some(limiter);
        self
    }

    /// Runs `hook` before each scrape of `/metrics`, to set gauges whose
    /// values live elsewhere.
    pub fn with_scrape_hook(mut self, hook: ScrapeHook) -> Self {
        self.shared_mut().scrape_hooks.push(hook);
        self
    }

    /// Sets the gauges read at scrape time.
    pub(crate) fn before_scrape(&self) {
        metrics::gauge!(
            crate::telemetry::BUILD_INFO,
            "version" => env!("CARGO_PKG_VERSION"),
            "instance" => self.instance.to_string(),
        )
        .set(1.0);
        crate::telemetry::recorder::process_collector().collect();
        for hook in &self.scrape_hooks {
            hook();
        }
    }

    /// The broadcaster the vote path publishes through.
    pub(crate) fn broadcaster(&self) -> &Arc<dyn Broadcaster> {
        &self.broadcaster
    }

    /// The live-results hub (for its statistics, or to stop it).
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Serves the browser app from `dir` at `/`.
    pub fn with_frontend_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.shared_mut().frontend_dir = dir;
        self
    }
}

impl App {
    /// Casts `ballot` through the stack.
    pub(crate) fn cast(&self, ballot: Ballot) -> BoxFuture<'static, Result<CastOutcome>> {
        // Boxed here, where the future's `Send` is provable; warp's
        // higher-ranked filter bounds cannot see through the stack's types.
        Box::pin(self.stack.clone().oneshot(ballot))
    }

    /// Whether `viewer` may see the counts of `poll_id` now (see
    /// [`polling_core::access`]).
    pub(crate) async fn access(&self, poll_id: PollId, viewer: Viewer<'_>) -> Result<CountsAccess> {
        counts_access(&*self.store, &self.visibilities, poll_id, viewer).await
    }

    /// Reads the results of `poll_id` through the stack.
    pub(crate) fn results(&self, poll_id: PollId) -> BoxFuture<'static, Result<Results>> {
        Box::pin(self.stack.clone().oneshot(ResultsRequest::new(poll_id)))
    }
}

/// The vote and results paths over the backends, with `limits`' backend
/// timeout and its cap on requests in flight (0: none). Votes in polls that
/// may be `after_vote` (by `visibilities`: known to be, or not known) are
/// followed by a `Voted` event, for the voter's live sockets.
fn stack(
    store: &Arc<dyn PollStore>,
    cache: &Arc<dyn ResultsCache>,
    broadcaster: &Arc<dyn Broadcaster>,
    visibilities: &VisibilityMemo,
    limits: &Limits,
) -> Stack {
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
fn hub(stack: &Stack, broadcaster: &Arc<dyn Broadcaster>, config: HubConfig) -> Hub {
    let stack = stack.clone();
    let source = move |poll: PollId| stack.clone().oneshot(ResultsRequest::new(poll));
    Hub::with_config(Arc::clone(broadcaster), source, config)
}

impl std::ops::Deref for App {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("body_limit", &self.body_limit)
            .field("frontend_dir", &self.frontend_dir)
            .field("limits", &self.limits)
            .field("shared_rate_limits", &self.shared_rate_limits.is_some())
            .field("secure_cookies", &self.secure_cookies)
            .finish_non_exhaustive()
    }
}

//! [`AppBuilder`]: an [`App`]'s backends and settings, gathered before the
//! app is built once.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use polling_cache_redis::RedisRateLimiter;
use polling_core::access::VisibilityMemo;
use polling_core::memory::{LocalBroadcaster, MemoryCache, MemoryIdempotencyStore, MemoryStore};
use polling_core::{
    Ballot, Broadcaster, CastOutcome, IdempotencyStore, PollError, PollStore, ResultsCache,
};
use polling_realtime::{HubConfig, SocketConfig};
use tower::util::BoxCloneSyncService;
use tower::Service;

use super::stack::{hub, stack};
use super::{App, Parts};
use crate::config::{
    AllowedOrigins, PublicUrl, RequestLimits, DEFAULT_BODY_LIMIT, DEFAULT_IDEMPOTENCY_TTL,
};
use crate::http::frontend::Frontend;

/// A function run before each scrape of `/metrics`; see
/// [`AppBuilder::scrape_hook`].
pub type ScrapeHook = Arc<dyn Fn() + Send + Sync>;

/// Gathers an [`App`]'s backends and settings; [`build`](Self::build)
/// composes the tower stack and the live-results hub once, from all of them.
/// A clone shares the backends (two apps built from clones serve the same
/// polls).
///
/// # Example
///
/// ```
/// use polling_server::{App, RequestLimits};
///
/// // The embedded default (memory store, memory cache, local broadcaster),
/// // with a smaller body limit and a vote rate per client address.
/// let app = App::builder()
///     .body_limit(8 * 1024)
///     .limits(RequestLimits {
///         votes_per_minute: 600,
///         ..RequestLimits::default()
///     })
///     .build();
/// # let _ = app;
/// ```
#[derive(Clone)]
#[must_use = "an AppBuilder does nothing until it is built"]
pub struct AppBuilder {
    store: Arc<dyn PollStore>,
    cache: Arc<dyn ResultsCache>,
    broadcaster: Arc<dyn Broadcaster>,
    body_limit: u64,
    frontend: Frontend,
    limits: RequestLimits,
    shared_rate_limits: Option<RedisRateLimiter>,
    secure_cookies: bool,
    hub_config: HubConfig,
    socket_config: SocketConfig,
    allowed_origins: AllowedOrigins,
    instance: Arc<str>,
    idempotency: Arc<dyn IdempotencyStore>,
    idempotency_ttl: Duration,
    public_url: Option<PublicUrl>,
    scrape_hooks: Vec<ScrapeHook>,
    vote_layers: Vec<VoteLayer>,
}

/// A layer an embedding application put on the vote path, applied to the
/// path built so far (see [`AppBuilder::vote_layer`]).
type VoteLayer = Arc<dyn Fn(VotePath) -> VotePath + Send + Sync>;

/// The vote path as an application's [`vote_layer`](AppBuilder::vote_layer)
/// gets it: the server's stack (and the layers given before), boxed.
pub type VotePath = BoxCloneSyncService<Ballot, CastOutcome, PollError>;

impl AppBuilder {
    /// An app over the given backends, with every setting at its default:
    /// no rate limits or caps (an embedding application opts in), the
    /// default timeouts, idempotency keys in process memory.
    pub fn new(
        store: Arc<dyn PollStore>,
        cache: Arc<dyn ResultsCache>,
        broadcaster: Arc<dyn Broadcaster>,
    ) -> Self {
        Self {
            store,
            cache,
            broadcaster,
            body_limit: DEFAULT_BODY_LIMIT,
            frontend: Frontend::None,
            limits: RequestLimits::default(),
            shared_rate_limits: None,
            secure_cookies: false,
            hub_config: HubConfig::default(),
            socket_config: SocketConfig::default(),
            allowed_origins: AllowedOrigins::default(),
            instance: crate::config::host_name().into(),
            idempotency: Arc::new(MemoryIdempotencyStore::new()),
            idempotency_ttl: DEFAULT_IDEMPOTENCY_TTL,
            public_url: None,
            scrape_hooks: Vec::new(),
            vote_layers: Vec::new(),
        }
    }

    /// The embedded default: everything in process memory.
    pub fn in_process() -> Self {
        Self::new(
            Arc::new(MemoryStore::new()),
            Arc::new(MemoryCache::new()),
            Arc::new(LocalBroadcaster::new()),
        )
    }

    /// The most bytes a request body may have (default
    /// [`DEFAULT_BODY_LIMIT`]).
    pub fn body_limit(mut self, bytes: u64) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The rates, caps and timeouts against abusive or slow clients and
    /// slow backends (see [`RequestLimits`]).
    pub fn limits(mut self, limits: RequestLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Marks the voter cookie `Secure`, for a server reached over HTTPS
    /// (directly or through a TLS-terminating proxy): browsers then never
    /// send it over plain HTTP.
    pub fn secure_cookies(mut self, secure: bool) -> Self {
        self.secure_cookies = secure;
        self
    }

    /// Caps the live-results sockets open at once (default
    /// [`HubConfig::DEFAULT_MAX_SOCKETS`]).
    pub fn max_sockets(mut self, max_sockets: usize) -> Self {
        self.hub_config.max_sockets = max_sockets;
        self
    }

    /// Caps the live-results sockets one client address has open at once
    /// (behind a trusted proxy, the client it names; an IPv6 client by its
    /// /64); `0`: no cap. More are refused with 503 `too_many_sockets`.
    pub fn max_sockets_per_client(mut self, max: usize) -> Self {
        self.hub_config.max_sockets_per_client = max;
        self
    }

    /// The pages allowed to open live-results sockets.
    pub fn allowed_origins(mut self, origins: AllowedOrigins) -> Self {
        self.allowed_origins = origins;
        self
    }

    /// The timing and limits of each live-results socket.
    pub fn socket_config(mut self, config: SocketConfig) -> Self {
        self.socket_config = config;
        self
    }

    /// Keeps idempotency keys in `store` (default: in process memory; a
    /// shared store when several replicas serve the same clients).
    pub fn idempotency_store(mut self, store: Arc<dyn IdempotencyStore>) -> Self {
        self.idempotency = store;
        self
    }

    /// Keeps responses to requests with an `Idempotency-Key` for `ttl`
    /// (default [`DEFAULT_IDEMPOTENCY_TTL`]).
    pub fn idempotency_ttl(mut self, ttl: Duration) -> Self {
        self.idempotency_ttl = ttl;
        self
    }

    /// Builds share links on `url` instead of each request's `Host`.
    pub fn public_url(mut self, url: Option<PublicUrl>) -> Self {
        self.public_url = url;
        self
    }

    /// Names this server in `polling_build_info` and `X-Served-By` (default:
    /// the host name).
    pub fn instance(mut self, instance: impl Into<Arc<str>>) -> Self {
        self.instance = instance.into();
        self
    }

    /// Keeps the [rate limits](RequestLimits)' buckets in Redis through
    /// `limiter`, so that every replica on the same Redis and key prefix
    /// draws on one allowance per client. While Redis fails, each replica
    /// falls back to buckets of its own (counted in
    /// `polling_rate_limit_fallback_total`): a request is never refused
    /// because Redis is down.
    pub fn shared_rate_limits(mut self, limiter: RedisRateLimiter) -> Self {
        self.shared_rate_limits = Some(limiter);
        self
    }

    /// Runs `hook` before each scrape of `/metrics`, to set gauges whose
    /// values live elsewhere (such as a database pool's size).
    pub fn scrape_hook(mut self, hook: ScrapeHook) -> Self {
        self.scrape_hooks.push(hook);
        self
    }

    /// Serves the browser app at `/`: the one built into the binary, or the
    /// files of a directory (none by default: an embedding application
    /// opts in).
    pub fn frontend(mut self, frontend: Frontend) -> Self {
        self.frontend = frontend;
        self
    }

    /// Serves the browser app from `dir` at `/`, read on every request
    /// ([`Frontend::Dir`]; `None`: no app).
    pub fn frontend_dir(self, dir: Option<PathBuf>) -> Self {
        self.frontend(dir.map_or(Frontend::None, Frontend::Dir))
    }

    /// Puts `layer` around the vote path, outside the server's own layers
    /// (metrics, limits, cache, broadcast) and outside the layers given
    /// before it: it sees every ballot the server casts, after the HTTP
    /// checks (cookie, invite code, rate limits, idempotency key), and what
    /// it answers is the vote's answer. An error it returns refuses the vote
    /// with that [`PollError`]'s status and code; a ballot it does not pass
    /// on is not stored. The results path and live sockets are not behind
    /// it. Without one, votes take the stack directly, with no extra box.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    ///
    /// use polling_core::{Ballot, PollError};
    /// use polling_server::App;
    /// use tower::ServiceExt;
    ///
    /// // Counts the ballots that reach the stack, as an audit layer might.
    /// let seen = Arc::new(AtomicU64::new(0));
    /// let counter = Arc::clone(&seen);
    /// let app = App::builder()
    ///     .vote_layer(tower::util::MapRequestLayer::new(move |ballot: Ballot| {
    ///         counter.fetch_add(1, Ordering::Relaxed);
    ///         ballot
    ///     }))
    ///     .build();
    /// # let _ = (app, seen);
    /// ```
    pub fn vote_layer<L>(mut self, layer: L) -> Self
    where
        L: tower::Layer<VotePath> + Send + Sync + 'static,
        L::Service: Service<Ballot, Response = CastOutcome, Error = PollError>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as Service<Ballot>>::Future: Send + 'static,
    {
        self.vote_layers.push(Arc::new(move |path| {
            BoxCloneSyncService::new(layer.layer(path))
        }));
        self
    }

    /// The app: the tower stack of the vote and results paths, and the
    /// live-results hub reading through it, composed once from every
    /// setting above.
    pub fn build(self) -> App {
        let visibilities = VisibilityMemo::default();
        let stack = stack(
            &self.store,
            &self.cache,
            &self.broadcaster,
            &visibilities,
            &self.limits,
        );
        let hub = hub(&stack, &self.broadcaster, self.hub_config);
        let votes = (!self.vote_layers.is_empty()).then(|| {
            self.vote_layers
                .iter()
                .fold(BoxCloneSyncService::new(stack.clone()), |path, layer| {
                    layer(path)
                })
        });
        App {
            parts: Arc::new(Parts {
                store: self.store,
                cache: self.cache,
                broadcaster: self.broadcaster,
                visibilities,
                stack,
                votes,
                hub,
                body_limit: self.body_limit,
                frontend: self.frontend,
                limits: self.limits,
                shared_rate_limits: self.shared_rate_limits,
                secure_cookies: self.secure_cookies,
                socket_config: Arc::new(self.socket_config),
                allowed_origins: self.allowed_origins,
                instance: self.instance,
                idempotency: self.idempotency,
                idempotency_ttl: self.idempotency_ttl,
                public_url: self.public_url,
                scrape_hooks: self.scrape_hooks,
                readiness: Arc::default(),
            }),
        }
    }
}

impl From<AppBuilder> for App {
    fn from(builder: AppBuilder) -> Self {
        builder.build()
    }
}

impl fmt::Debug for AppBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppBuilder")
            .field("body_limit", &self.body_limit)
            .field("frontend", &self.frontend)
            .field("limits", &self.limits)
            .field("shared_rate_limits", &self.shared_rate_limits.is_some())
            .field("secure_cookies", &self.secure_cookies)
            .field("hub_config", &self.hub_config)
            .field("instance", &self.instance)
            .field("vote_layers", &self.vote_layers.len())
            .finish_non_exhaustive()
    }
}

//! [`Backends`]: the store, cache and broadcaster a [`Config`] asks for,
//! connected and ready.

mod no_cache;
mod postgres;
mod redis;
mod sqlite;
mod startup;

use std::sync::Arc;

use polling_cache_redis::RedisRateLimiter;
use polling_core::memory::{LocalBroadcaster, MemoryCache, MemoryIdempotencyStore, MemoryStore};
use polling_core::{Broadcaster, IdempotencyStore, NearCache, PollStore, ResultsCache};

use crate::{AppBuilder, BroadcasterKind, CacheKind, Config, DatabaseTarget, ScrapeHook};

/// The backends of one server process.
///
/// # Example
///
/// ```no_run
/// use clap::Parser;
/// use polling_server::{Backends, Config};
///
/// # async fn example() -> Result<(), String> {
/// let config = Config::parse();
/// let app = Backends::connect(&config).await?.into_builder().build();
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Backends {
    /// Where polls and ballots live.
    pub store: Arc<dyn PollStore>,
    /// The results cache.
    pub cache: Arc<dyn ResultsCache>,
    /// Carries results events to every listener.
    pub broadcaster: Arc<dyn Broadcaster>,
    /// Idempotency keys: in the store's database when there is one, so every
    /// replica replays the same responses.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Rate-limit buckets every replica shares, with `--redis-url` or
    /// `--redis-cluster-nodes`; `None`: each process its own.
    pub rate_limits: Option<RedisRateLimiter>,
    /// Which implementation each one is, for the start-up log line.
    pub kinds: Kinds,
    /// Gauges the backends set at each scrape of `/metrics`.
    pub scrape_hooks: Vec<ScrapeHook>,
}

/// Which implementation each backend is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kinds {
    /// `memory`, `sqlite` or `postgres`.
    pub store: &'static str,
    /// `memory`, `redis` or `none`.
    pub cache: &'static str,
    /// `local`, `redis` or `postgres`.
    pub broadcaster: &'static str,
    /// `memory`, `sqlite` or `postgres`.
    pub idempotency: &'static str,
    /// `local` or `redis`.
    pub rate_limits: &'static str,
}

impl Backends {
    /// Everything in process memory (`--database-url memory`): nothing is
    /// kept across a restart.
    pub fn in_process() -> Self {
        Self {
            store: Arc::new(MemoryStore::new()),
            cache: Arc::new(MemoryCache::new()),
            broadcaster: Arc::new(LocalBroadcaster::new()),
            idempotency: Arc::new(MemoryIdempotencyStore::new()),
            rate_limits: None,
            kinds: Kinds {
                store: "memory",
                cache: "memory",
                broadcaster: "local",
                idempotency: "memory",
                rate_limits: "local",
            },
            scrape_hooks: Vec::new(),
        }
    }

    /// Connects the backends `config` names (retrying each for
    /// `--startup-timeout`) and prepares them (migrations): by default the
    /// SQLite file [`DEFAULT_DATABASE_URL`](crate::DEFAULT_DATABASE_URL).
    ///
    /// # Errors
    ///
    /// A one-line message naming the setting at fault.
    pub async fn connect(config: &Config) -> Result<Self, String> {
        // Settings that contradict each other are refused before anything
        // connects (or creates a database file): both a Redis node and a
        // cluster, a database URL of no known kind, the PostgreSQL
        // broadcaster without PostgreSQL.
        let shared_redis = config.redis()?;
        let target = config.database()?;
        config.database_session_url()?;
        if config.broadcaster_kind() == BroadcasterKind::Postgres
            && !matches!(target, DatabaseTarget::Postgres(_))
        {
            return Err(
                "--broadcaster postgres (POLLING_BROADCASTER) needs a PostgreSQL \
                 --database-url (DATABASE_URL), which is not set"
                    .to_owned(),
            );
        }
        // A Redis backend with no Redis to reach, before the database is
        // opened (and migrated).
        let cache_redis = match config.cache_kind() {
            CacheKind::Redis => Some(redis::target(config, CACHE_REDIS)?),
            _ => None,
        };
        let broadcaster_redis = match config.broadcaster_kind() {
            BroadcasterKind::Redis => Some(redis::target(config, BROADCASTER_REDIS)?),
            _ => None,
        };
        let mut backends = Self::in_process();
        backends.idempotency = Arc::new(MemoryIdempotencyStore::with_max_keys(
            config.idempotency_max_keys,
        ));
        let mut database = None;
        match target {
            DatabaseTarget::Memory => {}
            DatabaseTarget::Sqlite(url) => {
                let sqlite = sqlite::store(config, url).await?;
                backends.store = sqlite.store;
                backends.idempotency = sqlite.idempotency;
                backends.scrape_hooks.push(sqlite.gauges);
                backends.kinds.store = "sqlite";
                backends.kinds.idempotency = "sqlite";
            }
            DatabaseTarget::Postgres(url) => {
                let pg = postgres::store(config, url).await?;
                backends.store = pg.store;
                backends.idempotency = pg.idempotency;
                backends.kinds.idempotency = "postgres";
                backends.scrape_hooks.push(pg.gauges);
                backends.kinds.store = "postgres";
                database = Some((url, pg.pool, pg.session));
            }
        }
        // The Redis targets found above decide the Redis backends: one is
        // there exactly when its kind is `redis`.
        match (cache_redis, config.cache_kind()) {
            (Some(target), _) => {
                backends.cache = redis::cache(config, &target).await?;
                backends.kinds.cache = "redis";
            }
            (None, CacheKind::None) => {
                backends.cache = Arc::new(no_cache::NoCache);
                backends.kinds.cache = "none";
            }
            (None, _) => {
                if database.is_some() {
                    tracing::warn!(
                        "--cache memory with --database-url: each replica caches results \
                         that other replicas' votes make stale; use --cache redis or none \
                         with more than one replica"
                    );
                }
            }
        }
        match (broadcaster_redis, config.broadcaster_kind()) {
            (Some(target), _) => {
                backends.broadcaster = redis::broadcaster(config, &target).await?;
                backends.kinds.broadcaster = "redis";
            }
            (None, BroadcasterKind::Postgres) => {
                let Some((url, pool, session)) = &database else {
                    return Err("--broadcaster postgres (POLLING_BROADCASTER) needs a \
                         PostgreSQL --database-url (DATABASE_URL), which is not set"
                        .to_owned());
                };
                backends.broadcaster =
                    postgres::broadcaster(config, url, pool, session.clone()).await?;
                backends.kinds.broadcaster = "postgres";
            }
            (None, _) => {}
        }
        if backends.kinds.cache == "redis"
            && backends.kinds.broadcaster != "local"
            && config.near_cache_polls > 0
        {
            backends.cache = Arc::new(NearCache::from_arcs(
                backends.cache,
                backends.broadcaster.clone(),
                config.near_cache_polls,
                config.near_cache_max_age,
            ));
        }
        if let Some(target) = &shared_redis {
            backends.rate_limits = Some(redis::rate_limiter(config, target).await?);
            backends.kinds.rate_limits = "redis";
        }
        Ok(backends)
    }

    /// An [`AppBuilder`] over these backends, to add the settings to.
    pub fn into_builder(self) -> AppBuilder {
        let mut app = AppBuilder::new(self.store, self.cache, self.broadcaster)
            .idempotency_store(self.idempotency);
        if let Some(limiter) = self.rate_limits {
            app = app.shared_rate_limits(limiter);
        }
        self.scrape_hooks
            .into_iter()
            .fold(app, AppBuilder::scrape_hook)
    }
}

impl std::fmt::Debug for Backends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backends")
            .field("kinds", &self.kinds)
            .finish_non_exhaustive()
    }
}

/// How the settings that choose a Redis cache are named in errors.
const CACHE_REDIS: &str = "--cache redis (POLLING_CACHE)";
/// How the settings that choose a Redis broadcaster are named in errors.
const BROADCASTER_REDIS: &str = "--broadcaster redis (POLLING_BROADCASTER)";

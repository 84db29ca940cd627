//! [`Config`]: flags with environment fallbacks
//! (`ARCHITECTURE.md#configuration`), and the value types they parse into.
//!
//! | module | what |
//! |---|---|
//! | `duration` | [`parse_duration`]: `500ms`, `5s`, `2m`, `24h` |
//! | `origin` | [`AllowedOrigins`]: which pages may open live sockets |
//! | `public_url` | [`PublicUrl`]: the base of share links |
//! | `request_limits` | [`RequestLimits`]: rates, caps and timeouts for clients and backends |

pub(crate) mod duration;
pub(crate) mod origin;
pub(crate) mod public_url;
mod request_limits;

pub use duration::parse_duration;
pub use origin::AllowedOrigins;
pub use public_url::PublicUrl;
pub use request_limits::RequestLimits;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::http::client_addr::TrustedProxies;

/// The body limit when none is configured: 16 KiB.
pub const DEFAULT_BODY_LIMIT: u64 = 16 * 1024;

/// How long responses to requests with an `Idempotency-Key` are kept when
/// nothing else is configured: 24 hours.
pub const DEFAULT_IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Where polls and votes are kept when `--database-url` is not set: a
/// SQLite file in the working directory, created at the first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://polling.db";

/// The `--database-url` value that keeps polls and votes in process memory
/// (the in-process store: nothing is kept when the process ends).
pub const MEMORY_DATABASE_URL: &str = "memory";

/// Where polls and votes live, as `--database-url` says
/// ([`Config::database`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseTarget<'a> {
    /// In process memory: `memory`. Nothing is kept across a restart.
    Memory,
    /// In SQLite: a file (`sqlite://polling.db`, the default) or an in-memory
    /// database (`sqlite::memory:`, nothing kept across a restart). One
    /// process per file: the cache and broadcaster are this process's own.
    Sqlite(&'a str),
    /// In PostgreSQL (`postgres://` or `postgresql://`), shared by replicas.
    Postgres(&'a str),
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for Promtail/Loki).
    Json,
}

/// Where the results cache lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CacheKind {
    /// In this process: each replica its own, so with several replicas on one
    /// database a replica serves results another one's votes made stale.
    Memory,
    /// In Redis (`--redis-url` or `--redis-cluster-nodes`): shared by every
    /// replica.
    Redis,
    /// None: every read goes to the store, so every replica serves the
    /// store's latest results.
    None,
}

/// How results events reach listeners.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BroadcasterKind {
    /// Within this process only.
    Local,
    /// Over Redis Pub/Sub (`--redis-url`; sharded Pub/Sub with
    /// `--redis-cluster-nodes`): every replica sees every vote.
    Redis,
    /// Over PostgreSQL `LISTEN`/`NOTIFY` (a `postgres://` `--database-url`):
    /// every replica on the database sees every vote, without Redis.
    Postgres,
}

/// The Redis a server shares with its replicas ([`Config::redis`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedisTarget<'a> {
    /// One node: `--redis-url`.
    Node(&'a str),
    /// The seed nodes of a Redis Cluster: `--redis-cluster-nodes`.
    Cluster(Vec<&'a str>),
}

/// The server's settings: each flag falls back to an environment variable,
/// so a compose file can configure it with environment alone.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "polling-server",
    version,
    about = "The polling reference server"
)]
pub struct Config {
    /// The address to listen on.
    #[arg(
        long,
        env = "POLLING_LISTEN",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    pub listen: SocketAddr,

    /// A directory whose files are served at `/` instead of the browser app
    /// built into the binary, read on every request (for developing the app)
    /// [default: the built-in app].
    #[arg(long, env = "POLLING_FRONTEND_DIR", value_name = "DIR")]
    pub frontend_dir: Option<PathBuf>,

    /// Log line format.
    #[arg(long, env = "POLLING_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// The most bytes a request body may have.
    #[arg(long, env = "POLLING_BODY_LIMIT", default_value_t = DEFAULT_BODY_LIMIT, value_name = "BYTES")]
    pub body_limit: u64,

    /// How long to let requests in flight finish after SIGINT/SIGTERM.
    #[arg(long, env = "POLLING_SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub shutdown_grace: Duration,

    /// Where polls and votes are kept: `sqlite://FILE` (a SQLite file,
    /// created when missing; the default is `polling.db` in the working
    /// directory), `postgres://user:password@host:port/db` (PostgreSQL,
    /// shared by replicas), or nothing kept across a restart: `memory` (the
    /// in-process store) or `sqlite::memory:` (SQLite in memory).
    #[arg(
        long,
        env = "DATABASE_URL",
        value_name = "URL",
        hide_env_values = true,
        default_value = DEFAULT_DATABASE_URL
    )]
    pub database_url: Option<String>,

    /// A direct PostgreSQL URL for what needs a session of its own (the
    /// migrations' advisory lock, `--broadcaster postgres`'s `LISTEN`) when
    /// --database-url goes through a pooler in transaction mode such as
    /// PgBouncer, which hands a session's server connection to other
    /// clients between transactions (docs/pgbouncer.md); empty is none
    /// [default: --database-url].
    #[arg(
        long,
        env = "DATABASE_SESSION_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_session_url: Option<String>,

    /// The most database connections this process opens for queries
    /// (`--broadcaster postgres` adds its one listening connection; a SQLite
    /// file has one writer at a time, the rest read).
    #[arg(long, env = "POLLING_DATABASE_POOL_SIZE", default_value_t = 10, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub database_pool_size: u32,

    /// PostgreSQL's statement_timeout on every connection; 0 sends none
    /// (behind PgBouncer, which refuses it: set it on PgBouncer's server
    /// connections instead, docs/pgbouncer.md).
    #[arg(long, env = "POLLING_DATABASE_STATEMENT_TIMEOUT", default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    pub database_statement_timeout: Duration,

    /// How long a request waits for a database connection before it is
    /// answered 503 `unavailable`.
    #[arg(long, env = "POLLING_DATABASE_ACQUIRE_TIMEOUT", default_value = "3s", value_parser = parse_duration, value_name = "DURATION")]
    pub database_acquire_timeout: Duration,

    /// The most votes on one poll that wait for the database (PostgreSQL or
    /// SQLite) at once in this process; the next is answered 503
    /// `unavailable` with `Retry-After` instead of queueing behind a slow
    /// database.
    #[arg(long, env = "POLLING_DATABASE_MAX_QUEUED_VOTES", default_value_t = 4096, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub database_max_queued_votes: u32,

    /// Redis URL (`redis://host:port/db`): cache results and broadcast votes
    /// through Redis, shared by every replica; empty is none [default: none,
    /// in-process].
    #[arg(long, env = "REDIS_URL", value_name = "URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Seed nodes of a Redis Cluster (comma-separated `redis://` URLs of some
    /// of its nodes): cache results, broadcast votes (sharded Pub/Sub) and
    /// share rate limits there, as --redis-url does on one node; not
    /// together with --redis-url [default: none].
    #[arg(
        long,
        env = "POLLING_REDIS_CLUSTER_NODES",
        value_name = "URLS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub redis_cluster_nodes: Vec<String>,

    /// Where the results cache lives [default: `redis` with --redis-url or
    /// --redis-cluster-nodes, else `none` with a PostgreSQL --database-url
    /// (replicas share no cache, and a memory one would go stale), else
    /// `memory`].
    #[arg(long, env = "POLLING_CACHE", value_enum, value_name = "KIND")]
    pub cache: Option<CacheKind>,

    /// How results events reach listeners [default: `redis` with
    /// --redis-url or --redis-cluster-nodes, else `postgres` with a
    /// PostgreSQL --database-url, else `local`].
    #[arg(long, env = "POLLING_BROADCASTER", value_enum, value_name = "KIND")]
    pub broadcaster: Option<BroadcasterKind>,

    /// The prefix of every Redis key and channel, so several deployments can
    /// share one Redis.
    #[arg(
        long,
        env = "POLLING_REDIS_PREFIX",
        default_value = "polling:",
        value_name = "PREFIX"
    )]
    pub redis_prefix: String,

    /// How long cached results live in Redis after their last write.
    #[arg(long, env = "POLLING_CACHE_TTL", default_value = "10m", value_parser = parse_duration, value_name = "DURATION")]
    pub cache_ttl: Duration,

    /// With the Redis cache and a shared broadcaster: how many polls each
    /// replica keeps in its near cache, its own copy of their results kept
    /// fresh by the broadcaster's events, so reads of them cost no round
    /// trip (0: off).
    #[arg(
        long,
        env = "POLLING_NEAR_CACHE_POLLS",
        default_value_t = 10_000,
        value_name = "POLLS"
    )]
    pub near_cache_polls: usize,

    /// How long the near cache serves an entry no event or write confirmed
    /// before it reads the shared cache again.
    #[arg(long, env = "POLLING_NEAR_CACHE_MAX_AGE", default_value = "1s", value_parser = parse_duration, value_name = "DURATION")]
    pub near_cache_max_age: Duration,

    /// The pages allowed to open live-results WebSockets: `same-origin`,
    /// a comma-separated list of origins (`https://polls.example.com`), or `*`.
    #[arg(
        long,
        env = "POLLING_ALLOWED_ORIGINS",
        default_value = "same-origin",
        value_name = "ORIGINS"
    )]
    pub allowed_origins: AllowedOrigins,

    /// The most live-results WebSockets open at once; more are refused with 503.
    #[arg(
        long,
        env = "POLLING_MAX_SOCKETS",
        default_value_t = 10_000,
        value_name = "N"
    )]
    pub max_sockets: usize,

    /// The most live-results WebSockets one client address may have open at
    /// once (behind `--trusted-proxies`, the client they name); more are
    /// refused with 503. `0`: no cap.
    #[arg(
        long,
        env = "POLLING_MAX_SOCKETS_PER_CLIENT",
        default_value_t = polling_realtime::HubConfig::DEFAULT_MAX_SOCKETS_PER_CLIENT,
        value_name = "N"
    )]
    pub max_sockets_per_client: usize,

    /// How long a response to a request sent with an `Idempotency-Key` is
    /// kept to answer retries of the same request.
    #[arg(long, env = "POLLING_IDEMPOTENCY_TTL", default_value = "24h", value_parser = parse_duration, value_name = "DURATION")]
    pub idempotency_ttl: Duration,

    /// The most idempotency keys kept in process memory (with
    /// `--database-url memory`); to make room for a new one, an expired key goes
    /// first, else the oldest kept response. Keys of requests still running
    /// are never dropped: with all of them running, a new key is answered
    /// 503.
    #[arg(long, env = "POLLING_IDEMPOTENCY_MAX_KEYS",
          default_value_t = polling_core::memory::MemoryIdempotencyStore::DEFAULT_MAX_KEYS,
          value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub idempotency_max_keys: usize,

    /// The server's public base URL (`https://polls.example.com`), for share
    /// links and QR codes [default: from each request's Host and
    /// X-Forwarded-Proto].
    #[arg(long, env = "POLLING_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<PublicUrl>,

    /// Poll creations (`POST /api/polls`) and additions of invite codes
    /// (`POST /api/polls/{id}/invites`) per minute per client address,
    /// with a burst of as many; more are refused 429. 0: unlimited.
    #[arg(
        long,
        env = "POLLING_RATE_LIMIT_POLLS",
        default_value_t = 20,
        value_name = "N"
    )]
    pub rate_limit_polls: u32,

    /// Votes (`POST /api/polls/{id}/votes`) per minute per client address
    /// once its burst is spent; more are refused 429. 0: unlimited. With
    /// --redis-url every replica shares the allowance.
    #[arg(
        long,
        env = "POLLING_RATE_LIMIT_VOTES",
        default_value_t = 1200,
        value_name = "N"
    )]
    pub rate_limit_votes: u32,

    /// Votes a client address may send at once: a lecture hall behind one
    /// NAT voting together. 0: as many as --rate-limit-votes.
    #[arg(
        long,
        env = "POLLING_RATE_LIMIT_VOTES_BURST",
        default_value_t = 3000,
        value_name = "N"
    )]
    pub rate_limit_votes_burst: u32,

    /// Votes per minute per voter cookie at one address, with a burst of as
    /// many; more are refused 429. Votes without a cookie are held by the
    /// address's allowance alone. 0: unlimited.
    #[arg(
        long,
        env = "POLLING_RATE_LIMIT_VOTER_VOTES",
        default_value_t = 30,
        value_name = "N"
    )]
    pub rate_limit_voter_votes: u32,

    /// The proxies (comma-separated addresses or CIDR blocks, such as
    /// `127.0.0.1` or `172.16.0.0/12`) whose `X-Forwarded-For` names the
    /// client for rate limits [default: none: the peer is the client].
    #[arg(long, env = "POLLING_TRUSTED_PROXIES", value_name = "ADDRS")]
    pub trusted_proxies: Option<TrustedProxies>,

    /// The most requests in flight at once; more are answered 503 at once.
    /// 0: no cap.
    #[arg(
        long,
        env = "POLLING_MAX_CONCURRENT_REQUESTS",
        default_value_t = 1024,
        value_name = "N"
    )]
    pub max_concurrent_requests: usize,

    /// How long a client may take to send a request's headers, or to start
    /// the next request on a kept-alive connection, before it is closed.
    #[arg(long, env = "POLLING_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub header_read_timeout: Duration,

    /// How long a client may take to send a request's body before it is
    /// answered 408 `request_timeout`.
    #[arg(long, env = "POLLING_BODY_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub body_read_timeout: Duration,

    /// How long a vote or a results read may take through PostgreSQL and
    /// Redis before it is answered 503 `unavailable`.
    #[arg(long, env = "POLLING_BACKEND_TIMEOUT", default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub backend_timeout: Duration,

    /// Mark the voter cookie `Secure`: set it when browsers reach the
    /// server over HTTPS (directly or through a TLS-terminating proxy).
    #[arg(long, env = "POLLING_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// This server's name in metrics, logs and the `X-Served-By` header
    /// [default: the host name].
    #[arg(long, env = "POLLING_INSTANCE", value_name = "NAME")]
    pub instance: Option<String>,

    /// Instead of serving: ask the server listening on `--listen` (on this
    /// machine) whether it is ready, and exit 0 if `/readyz` answers 200
    /// (a container healthcheck with no curl in the image).
    #[arg(long)]
    pub probe_ready: bool,

    /// How long start-up keeps retrying a backend that does not answer
    /// (PostgreSQL, Redis) before it gives up with an error.
    #[arg(long, env = "POLLING_STARTUP_TIMEOUT", default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub startup_timeout: Duration,
}

impl Config {
    /// The abuse limits these flags set.
    pub fn limits(&self) -> RequestLimits {
        RequestLimits {
            polls_per_minute: self.rate_limit_polls,
            votes_per_minute: self.rate_limit_votes,
            votes_burst: self.rate_limit_votes_burst,
            voter_votes_per_minute: self.rate_limit_voter_votes,
            trusted_proxies: self.trusted_proxies.clone().unwrap_or_default(),
            max_concurrent_requests: self.max_concurrent_requests,
            header_read_timeout: self.header_read_timeout,
            body_read_timeout: self.body_read_timeout,
            backend_timeout: self.backend_timeout,
        }
    }

    /// This server's name: as set, else the host name.
    pub fn instance(&self) -> String {
        self.instance.clone().unwrap_or_else(host_name)
    }

    /// The results cache to use: as set, else `redis` when a Redis URL or
    /// cluster is given, else `none` when a PostgreSQL database is
    /// (replicas on one database must not each cache results the others'
    /// votes change), else `memory`.
    pub fn cache_kind(&self) -> CacheKind {
        self.cache
            .unwrap_or(match (self.has_redis(), self.postgres_url()) {
                (true, _) => CacheKind::Redis,
                (false, Some(_)) => CacheKind::None,
                (false, None) => CacheKind::Memory,
            })
    }

    /// The broadcaster to use: as set, else `redis` when a Redis URL or
    /// cluster is given, else `postgres` when a PostgreSQL database is, else
    /// `local`.
    pub fn broadcaster_kind(&self) -> BroadcasterKind {
        self.broadcaster
            .unwrap_or(match (self.has_redis(), self.postgres_url()) {
                (true, _) => BroadcasterKind::Redis,
                (false, Some(_)) => BroadcasterKind::Postgres,
                (false, None) => BroadcasterKind::Local,
            })
    }

    /// Where polls and votes live: `--database-url` (unset or empty: the
    /// [default SQLite file](DEFAULT_DATABASE_URL)).
    ///
    /// # Errors
    ///
    /// A one-line message naming the setting when the URL is none of
    /// `memory`, `sqlite:...` and `postgres://...`.
    pub fn database(&self) -> Result<DatabaseTarget<'_>, String> {
        let url = self
            .database_url
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .unwrap_or(DEFAULT_DATABASE_URL);
        if url == MEMORY_DATABASE_URL {
            Ok(DatabaseTarget::Memory)
        } else if url.starts_with("sqlite:") {
            Ok(DatabaseTarget::Sqlite(url))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseTarget::Postgres(url))
        } else {
            let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
            Err(format!(
                "--database-url (DATABASE_URL): a URL of scheme `{scheme}` is none of \
                 `sqlite://FILE`, `sqlite::memory:`, `memory` and `postgres://...`"
            ))
        }
    }

    /// `--database-session-url`, unless empty.
    ///
    /// # Errors
    ///
    /// A one-line message naming the setting when it is not a PostgreSQL
    /// URL, or is set while `--database-url` is not one.
    pub fn database_session_url(&self) -> Result<Option<&str>, String> {
        let Some(url) = self
            .database_session_url
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty())
        else {
            return Ok(None);
        };
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(
                "--database-session-url (DATABASE_SESSION_URL): not a `postgres://...` URL"
                    .to_owned(),
            );
        }
        if self.postgres_url().is_none() {
            return Err("--database-session-url (DATABASE_SESSION_URL) is set, but \
                 --database-url (DATABASE_URL) is not a PostgreSQL URL: the session URL \
                 is the direct way to the same database"
                .to_owned());
        }
        Ok(Some(url))
    }

    /// The PostgreSQL URL, when `--database-url` is one.
    fn postgres_url(&self) -> Option<&str> {
        match self.database() {
            Ok(DatabaseTarget::Postgres(url)) => Some(url),
            _ => None,
        }
    }

    /// The Redis to use: one node (`--redis-url`), a cluster
    /// (`--redis-cluster-nodes`), or none.
    ///
    /// # Errors
    ///
    /// A one-line message naming both settings when both are set (one node
    /// and a cluster are different deployments: which one the replicas share
    /// must not depend on which setting wins).
    pub fn redis(&self) -> Result<Option<RedisTarget<'_>>, String> {
        let nodes: Vec<&str> = self
            .redis_cluster_nodes
            .iter()
            .map(|node| node.trim())
            .filter(|node| !node.is_empty())
            .collect();
        match (self.redis_url(), nodes.is_empty()) {
            (Some(_), false) => Err("--redis-url (REDIS_URL) and --redis-cluster-nodes \
                 (POLLING_REDIS_CLUSTER_NODES) are both set: give one Redis node or \
                 the seed nodes of one Redis Cluster, not both"
                .to_owned()),
            (Some(url), true) => Ok(Some(RedisTarget::Node(url))),
            (None, false) => Ok(Some(RedisTarget::Cluster(nodes))),
            (None, true) => Ok(None),
        }
    }

    /// `--redis-url`, unless empty: an empty `REDIS_URL` is no URL, so a
    /// compose override can switch a deployment to a cluster.
    fn redis_url(&self) -> Option<&str> {
        self.redis_url
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty())
    }

    /// Whether a Redis node or cluster is given.
    fn has_redis(&self) -> bool {
        self.redis_url().is_some()
            || self
                .redis_cluster_nodes
                .iter()
                .any(|n| !n.trim().is_empty())
    }

    /// The browser app's directory, which must exist, if one is configured
    /// (else the binary serves the app built into it).
    ///
    /// # Errors
    ///
    /// A one-line message naming the setting when the configured directory
    /// is missing.
    pub fn frontend_dir(&self) -> Result<Option<PathBuf>, String> {
        match &self.frontend_dir {
            Some(dir) if dir.is_dir() => Ok(Some(dir.clone())),
            Some(dir) => Err(format!(
                "--frontend-dir (POLLING_FRONTEND_DIR): {} is not a directory",
                dir.display()
            )),
            None => Ok(None),
        }
    }
}

/// The machine's host name (in a container, the container's), or `unknown`.
pub(crate) fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_have_the_documented_defaults() {
        let config = Config::try_parse_from(["polling-server"]).unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.body_limit, 16 * 1024);
        assert_eq!(config.shutdown_grace, Duration::from_secs(10));
        assert_eq!(config.database_pool_size, 10);
        if std::env::var_os("DATABASE_URL").is_none() {
            assert_eq!(
                config.database(),
                Ok(DatabaseTarget::Sqlite("sqlite://polling.db"))
            );
        }
        assert_eq!(
            config.database_max_queued_votes as usize,
            polling_store_postgres::CastMode::DEFAULT_MAX_QUEUE
        );
        assert_eq!(config.database_statement_timeout, Duration::from_secs(5));
        assert_eq!(config.startup_timeout, Duration::from_secs(30));
        assert_eq!(config.allowed_origins, AllowedOrigins::SameOrigin);
        assert_eq!(config.max_sockets, 10_000);
        assert_eq!(config.max_sockets_per_client, 2_000);
        let limits = config.limits();
        assert_eq!(limits.polls_per_minute, 20);
        assert_eq!(limits.votes_per_minute, 1200);
        assert_eq!(limits.votes_burst, 3000);
        assert_eq!(limits.voter_votes_per_minute, 30);
        assert_eq!(limits.trusted_proxies, TrustedProxies::default());
        assert_eq!(limits.max_concurrent_requests, 1024);
        assert_eq!(limits.header_read_timeout, Duration::from_secs(10));
        assert_eq!(limits.body_read_timeout, Duration::from_secs(10));
        assert_eq!(limits.backend_timeout, Duration::from_secs(10));
        assert!(!config.secure_cookies);
        assert_eq!(config.idempotency_ttl, Duration::from_secs(24 * 60 * 60));
        assert_eq!(config.idempotency_max_keys, 100_000);
        assert_eq!(config.public_url, None);
    }

    #[test]
    fn a_public_url_must_be_an_http_base_url() {
        let config = Config::try_parse_from([
            "polling-server",
            "--public-url",
            "https://polls.example.com/",
        ])
        .unwrap();
        assert_eq!(
            config.public_url.map(|u| u.to_string()).as_deref(),
            Some("https://polls.example.com")
        );
        let error = Config::try_parse_from(["polling-server", "--public-url", "polls.example.com"])
            .unwrap_err();
        assert!(error.to_string().contains("--public-url"), "{error}");
    }

    #[test]
    fn limits_and_secure_cookies_come_from_flags_or_the_environment() {
        let config = Config::try_parse_from([
            "polling-server",
            "--trusted-proxies",
            "127.0.0.1,10.0.0.0/8",
            "--rate-limit-votes",
            "0",
            "--rate-limit-votes-burst",
            "50",
            "--rate-limit-voter-votes",
            "5",
            "--secure-cookies",
        ])
        .unwrap();
        assert!(config.secure_cookies);
        let limits = config.limits();
        assert!(limits.trusted_proxies.trusts("10.9.8.7".parse().unwrap()));
        assert_eq!(limits.votes_per_minute, 0);
        assert_eq!(limits.votes_burst, 50);
        assert_eq!(limits.voter_votes_per_minute, 5);
        let error =
            Config::try_parse_from(["polling-server", "--trusted-proxies", "nginx"]).unwrap_err();
        assert!(error.to_string().contains("--trusted-proxies"), "{error}");
    }

    #[test]
    fn durations_take_units_and_bad_ones_name_the_flag() {
        let config =
            Config::try_parse_from(["polling-server", "--database-statement-timeout", "750ms"])
                .unwrap();
        assert_eq!(
            config.database_statement_timeout,
            Duration::from_millis(750)
        );
        let error =
            Config::try_parse_from(["polling-server", "--startup-timeout", "soon"]).unwrap_err();
        assert!(error.to_string().contains("--startup-timeout"), "{error}");
    }

    #[test]
    fn a_session_url_is_a_postgres_url_beside_a_postgres_database() {
        let parse = |args: &[&str]| {
            let mut config = Config::try_parse_from([&["polling-server"], args].concat()).unwrap();
            if !args.contains(&"--database-url") {
                config.database_url = None;
            }
            if !args.contains(&"--database-session-url") {
                config.database_session_url = None;
            }
            config
                .database_session_url()
                .map(|url| url.map(str::to_owned))
        };
        let pooled = ["--database-url", "postgres://u@pgbouncer:6432/polls"];
        let session = ["--database-session-url", "postgres://u@db:5432/polls"];
        assert_eq!(parse(&pooled), Ok(None));
        assert_eq!(
            parse(&[&pooled[..], &session[..]].concat()),
            Ok(Some("postgres://u@db:5432/polls".to_owned()))
        );
        assert_eq!(
            parse(&[&pooled[..], &["--database-session-url", " "][..]].concat()),
            Ok(None)
        );
        let error = parse(&[&pooled[..], &["--database-session-url", "redis://x"][..]].concat())
            .unwrap_err();
        assert!(error.starts_with("--database-session-url"), "{error}");
        let error = parse(&[&["--database-url", "memory"][..], &session[..]].concat()).unwrap_err();
        assert!(error.contains("--database-url"), "{error}");
    }

    /// The cache and broadcaster `args` choose, whatever `DATABASE_URL` and
    /// `REDIS_URL` the tests run with.
    fn backend_kinds(args: &[&str]) -> (CacheKind, BroadcasterKind) {
        let mut config = Config::try_parse_from([&["polling-server"], args].concat()).unwrap();
        if !args.contains(&"--database-url") {
            config.database_url = None;
        }
        if !args.contains(&"--redis-url") {
            config.redis_url = None;
        }
        if !args.contains(&"--redis-cluster-nodes") {
            config.redis_cluster_nodes.clear();
        }
        (config.cache_kind(), config.broadcaster_kind())
    }

    #[test]
    fn an_empty_redis_url_is_none_so_an_override_can_switch_to_a_cluster() {
        let config = Config::try_parse_from([
            "polling-server",
            "--redis-url",
            "",
            "--redis-cluster-nodes",
            "redis://a:6379,redis://b:6379",
        ])
        .unwrap();
        assert_eq!(
            config.redis(),
            Ok(Some(RedisTarget::Cluster(vec![
                "redis://a:6379",
                "redis://b:6379"
            ])))
        );
        let config = Config::try_parse_from(["polling-server", "--redis-url", " "]).unwrap();
        assert_eq!(config.redis(), Ok(None));
        assert!(!config.has_redis());
    }

    #[test]
    fn cluster_nodes_turn_on_the_redis_backends_and_exclude_a_redis_url() {
        let nodes = "redis://127.0.0.1:7000/, redis://127.0.0.1:7001/";
        assert_eq!(
            backend_kinds(&["--redis-cluster-nodes", nodes]),
            (CacheKind::Redis, BroadcasterKind::Redis)
        );
        let mut config =
            Config::try_parse_from(["polling-server", "--redis-cluster-nodes", nodes]).unwrap();
        config.redis_url = None;
        assert_eq!(
            config.redis(),
            Ok(Some(RedisTarget::Cluster(vec![
                "redis://127.0.0.1:7000/",
                "redis://127.0.0.1:7001/"
            ])))
        );
        config.redis_url = Some("redis://127.0.0.1:6379/".to_owned());
        let error = config.redis().unwrap_err();
        assert!(
            error.contains("--redis-url") && error.contains("--redis-cluster-nodes"),
            "{error}"
        );
        config.redis_cluster_nodes.clear();
        assert_eq!(
            config.redis(),
            Ok(Some(RedisTarget::Node("redis://127.0.0.1:6379/")))
        );
    }

    #[test]
    fn a_redis_url_turns_on_both_redis_backends_unless_one_is_chosen() {
        let parse = backend_kinds;
        assert_eq!(parse(&[]), (CacheKind::Memory, BroadcasterKind::Local));
        let redis = ["--redis-url", "redis://127.0.0.1/"];
        assert_eq!(parse(&redis), (CacheKind::Redis, BroadcasterKind::Redis));
        assert_eq!(
            parse(&[&redis[..], &["--cache", "memory"]].concat()),
            (CacheKind::Memory, BroadcasterKind::Redis)
        );
        assert_eq!(
            parse(&[&redis[..], &["--broadcaster", "local"]].concat()),
            (CacheKind::Redis, BroadcasterKind::Local)
        );
    }

    #[test]
    fn a_database_without_redis_broadcasts_through_postgres_and_caches_nothing() {
        let parse = backend_kinds;
        let database = ["--database-url", "postgres://postgres@127.0.0.1/polling"];
        assert_eq!(
            parse(&database),
            (CacheKind::None, BroadcasterKind::Postgres)
        );
        let redis = ["--redis-url", "redis://127.0.0.1/"];
        assert_eq!(
            parse(&[&database[..], &redis[..]].concat()),
            (CacheKind::Redis, BroadcasterKind::Redis),
            "Redis, when given, wins"
        );
        assert_eq!(
            parse(
                &[
                    &database[..],
                    &["--cache", "memory", "--broadcaster", "local"]
                ]
                .concat()
            ),
            (CacheKind::Memory, BroadcasterKind::Local),
            "a choice is kept"
        );
        assert_eq!(
            parse(&["--cache", "none", "--broadcaster", "postgres"]),
            (CacheKind::None, BroadcasterKind::Postgres)
        );
    }

    #[test]
    fn the_database_url_chooses_sqlite_memory_or_postgres() {
        // What `database()` makes of `url`, in the form it is compared in.
        let target = |url: Option<&str>| {
            let mut config = Config::try_parse_from(["polling-server"]).unwrap();
            config.database_url = url.map(str::to_owned);
            config.database().map(|target| format!("{target:?}"))
        };
        let default = Ok(format!("Sqlite({DEFAULT_DATABASE_URL:?})"));
        assert_eq!(target(None), default, "unset: the default file");
        assert_eq!(target(Some(" ")), default, "empty: the default file");
        assert_eq!(target(Some("memory")), Ok("Memory".to_owned()));
        for url in ["sqlite::memory:", "sqlite:///var/lib/polling/polls.db"] {
            assert_eq!(target(Some(url)), Ok(format!("Sqlite({url:?})")));
        }
        for url in ["postgres://u@db/polls", "postgresql://u@db/polls"] {
            assert_eq!(target(Some(url)), Ok(format!("Postgres({url:?})")));
        }
        let error = target(Some("mysql://root:hunter2@db/polls")).unwrap_err();
        assert!(
            error.starts_with("--database-url (DATABASE_URL)"),
            "{error}"
        );
        assert!(error.contains("`mysql`"), "{error}");
        assert!(!error.contains("hunter2"), "no password in errors: {error}");
    }

    #[test]
    fn a_sqlite_or_memory_database_caches_in_memory_and_broadcasts_locally() {
        for url in ["sqlite://polling.db", "sqlite::memory:", "memory"] {
            let mut config = Config::try_parse_from(["polling-server"]).unwrap();
            config.database_url = Some(url.to_owned());
            config.redis_url = None;
            config.redis_cluster_nodes.clear();
            assert_eq!(
                (config.cache_kind(), config.broadcaster_kind()),
                (CacheKind::Memory, BroadcasterKind::Local),
                "{url}"
            );
        }
    }

    #[test]
    fn a_pool_of_no_connections_is_refused() {
        let error =
            Config::try_parse_from(["polling-server", "--database-pool-size", "0"]).unwrap_err();
        assert!(
            error.to_string().contains("--database-pool-size"),
            "{error}"
        );
    }

    #[test]
    fn a_bad_listen_address_is_refused_naming_the_flag() {
        let error = Config::try_parse_from(["polling-server", "--listen", "nowhere"]).unwrap_err();
        assert!(error.to_string().contains("--listen"), "{error}");
    }

    #[test]
    fn a_missing_frontend_dir_is_an_error_naming_the_setting() {
        let config =
            Config::try_parse_from(["polling-server", "--frontend-dir", "/definitely/not/here"])
                .unwrap();
        assert!(config
            .frontend_dir()
            .unwrap_err()
            .contains("--frontend-dir"));
    }
}

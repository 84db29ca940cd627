//! [`RedisRateLimiter`]: token buckets in Redis, shared by every replica.

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use polling_core::{PollError, Result};
use redis::aio::ConnectionManager;
use redis::{IntoConnectionInfo, Script};

use crate::config::RedisConfig;
use crate::connection::Connection;
use crate::keys::Keys;

/// The check-and-take of [`RedisRateLimiter::check`]; Redis keeps it by its
/// SHA1 after the first call (and reloads it if a restarted Redis forgot it).
static RATE_LIMIT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("rate_limit.lua")));

/// One allowance a request draws on: a token bucket of `burst` requests that
/// refills at `per_minute`.
///
/// # Example
///
/// ```
/// use polling_cache_redis::RateBucket;
///
/// // A client address: 3,000 votes at once, then 1,200 a minute.
/// let bucket = RateBucket::new("votes:203.0.113.7", 1_200, 3_000).with_shard("203.0.113.7");
/// assert_eq!(bucket.name(), "votes:203.0.113.7");
/// assert_eq!(bucket.shard(), Some("203.0.113.7"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateBucket {
    /// Names the bucket under the key prefix (`{prefix}rate:{name}`).
    name: String,
    /// The microseconds one request costs: a minute over the rate.
    interval_micros: u64,
    /// How far ahead of now the bucket's next arrival may run, in
    /// microseconds: `(burst - 1)` intervals.
    tolerance_micros: u64,
    /// What the buckets checked together share (a client address), so that
    /// on a Redis Cluster they sit in one slot; `None`: the name.
    shard: Option<String>,
}

impl RateBucket {
    /// A bucket named `name` of `burst` requests at once (at least 1),
    /// refilling at `per_minute` requests a minute (at least 1).
    pub fn new(name: impl Into<String>, per_minute: u32, burst: u32) -> Self {
        let interval_micros = 60_000_000 / u64::from(per_minute.max(1));
        Self {
            name: name.into(),
            interval_micros,
            tolerance_micros: interval_micros * u64::from(burst.max(1) - 1),
            shard: None,
        }
    }

    /// Sets the bucket's shard key: on a Redis Cluster, every bucket of one
    /// [`check`](RedisRateLimiter::check) must have the same one (such as the
    /// client address they all belong to), which puts their keys in one slot
    /// (`{prefix}rate:{<shard>}{name}`). One Redis node ignores it.
    pub fn with_shard(mut self, shard: impl Into<String>) -> Self {
        self.shard = Some(shard.into());
        self
    }

    /// The bucket's name under the key prefix.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The bucket's shard key, if set (see [`with_shard`](Self::with_shard)).
    pub fn shard(&self) -> Option<&str> {
        self.shard.as_deref()
    }

    /// The key of the bucket under `keys`.
    fn key(&self, keys: &Keys) -> String {
        keys.rate(&self.name, self.shard.as_deref())
    }

    /// What picks the bucket's slot on a cluster.
    fn tag(&self) -> &str {
        Keys::rate_tag(&self.name, self.shard.as_deref())
    }
}

/// What [`RedisRateLimiter::check`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateDecision {
    /// Every bucket had a request left, and each was charged one.
    Allowed,
    /// Some bucket is empty; none was charged.
    Refused {
        /// How long until every bucket has a request again.
        retry_after: Duration,
    },
}

/// Token buckets in Redis: a request is checked against several buckets at
/// once (a client address and a voter, say), and allowed only if each has a
/// request left, in which case each is charged one, all inside one Lua
/// script. Every replica on the same Redis and [key
/// prefix](RedisConfig::with_key_prefix) draws on the same buckets. Clones
/// share the connection.
///
/// Each bucket is one string key, `{prefix}rate:{name}`, holding the GCRA
/// "theoretical arrival time" of its next request in microseconds on
/// Redis' own clock (`TIME`), so replicas' clocks do not matter. A key
/// expires once its bucket is full again: idle clients cost no memory.
///
/// Every Redis failure is a [`PollError::Unavailable`], returned within
/// about two [response timeouts](RedisConfig::response_timeout); a caller
/// that must not refuse requests while Redis is down falls back to a limit
/// of its own.
///
/// On a Redis Cluster ([`connect_cluster`](Self::connect_cluster)) the
/// script of one check runs on one shard, so the buckets checked together
/// must share a [shard key](RateBucket::with_shard); buckets of different
/// clients spread over the shards.
///
/// # Example
///
/// ```no_run
/// use polling_cache_redis::{RateBucket, RateDecision, RedisConfig, RedisRateLimiter};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> polling_core::Result<()> {
/// let limiter = RedisRateLimiter::connect("redis://127.0.0.1/", &RedisConfig::new()).await?;
/// let buckets = [
///     RateBucket::new("votes:203.0.113.7", 1_200, 3_000),
///     RateBucket::new("voter:203.0.113.7:some-voter", 30, 30),
/// ];
/// match limiter.check(&buckets).await? {
///     RateDecision::Allowed => { /* serve the request */ }
///     RateDecision::Refused { retry_after } => { /* 429, Retry-After */ let _ = retry_after; }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisRateLimiter {
    /// The multiplexed, self-reconnecting connection every script runs on:
    /// to one node, or to a cluster.
    connection: Connection,
    /// Names the bucket keys.
    keys: Keys,
}

impl RedisRateLimiter {
    /// Connects to the Redis at `url` (such as `redis://127.0.0.1:6379/`).
    ///
    /// # Errors
    ///
    /// [`PollError::Unavailable`] when the URL is not a Redis URL or Redis
    /// cannot be reached.
    pub async fn connect(url: &str, config: &RedisConfig) -> Result<Self> {
        Ok(Self {
            connection: Connection::node(url, config).await?,
            keys: Keys::new(config.key_prefix()),
        })
    }

    /// Connects to the Redis Cluster that `nodes` (`redis://` URLs of some of
    /// its nodes) belong to, with the client of
    /// [`RedisConfig::cluster_client_builder`].
    ///
    /// # Errors
    ///
    /// [`PollError::Unavailable`] when a URL is not a Redis URL or no node
    /// can be reached.
    pub async fn connect_cluster<T: IntoConnectionInfo>(
        nodes: impl IntoIterator<Item = T>,
        config: &RedisConfig,
    ) -> Result<Self> {
        let client = config.cluster_client(nodes)?;
        Ok(Self {
            connection: Connection::cluster(&client).await?,
            keys: Keys::hash_tagged(config.key_prefix()),
        })
    }

    /// Uses an existing connection manager (built with
    /// [`RedisConfig::connection_manager_config`] for the timeouts this crate
    /// expects); only the key prefix of `config` applies.
    pub fn from_manager(connection: ConnectionManager, config: &RedisConfig) -> Self {
        Self {
            connection: Connection::Node(connection),
            keys: Keys::new(config.key_prefix()),
        }
    }

    /// Takes one request from every bucket of `buckets`, or from none when
    /// one of them is empty (see the [type docs](Self)). No buckets: allowed.
    ///
    /// # Errors
    ///
    /// [`PollError::Unavailable`] when Redis fails or does not answer in
    /// time, and on a cluster when the buckets have different shard keys.
    pub async fn check(&self, buckets: &[RateBucket]) -> Result<RateDecision> {
        let Some(first) = buckets.first() else {
            return Ok(RateDecision::Allowed);
        };
        if self.keys.is_hash_tagged() && buckets.iter().any(|b| b.tag() != first.tag()) {
            return Err(PollError::unavailable(
                "rate buckets checked together on a redis cluster must share a shard key",
            ));
        }
        let mut invocation = RATE_LIMIT.prepare_invoke();
        for bucket in buckets {
            invocation
                .key(bucket.key(&self.keys))
                .arg(bucket.interval_micros)
                .arg(bucket.tolerance_micros);
        }
        let mut connection = self.connection.clone();
        let (allowed, wait_micros): (i64, i64) = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(PollError::unavailable)?;
        Ok(if allowed == 1 {
            RateDecision::Allowed
        } else {
            RateDecision::Refused {
                retry_after: Duration::from_micros(u64::try_from(wait_micros).unwrap_or(1).max(1)),
            }
        })
    }
}

impl fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_costs_a_minute_over_its_rate_and_tolerates_its_burst_less_one() {
        let bucket = RateBucket::new("votes:1", 1_200, 3_000);
        assert_eq!(bucket.interval_micros, 50_000);
        assert_eq!(bucket.tolerance_micros, 50_000 * 2_999);
        let least = RateBucket::new("x", 0, 0);
        assert_eq!(least.interval_micros, 60_000_000);
        assert_eq!(least.tolerance_micros, 0, "a burst of one");
    }
}

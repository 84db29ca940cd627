//! [`RedisConfig`]: key prefix, time to live, timeouts and reconnect delays
//! shared by [`RedisResultsCache`](crate::RedisResultsCache) and
//! [`RedisBroadcaster`](crate::RedisBroadcaster).

use std::time::Duration;

use polling_core::relay::RelayConfig;
use redis::aio::ConnectionManagerConfig;
use redis::cluster::ClusterClientBuilder;
use redis::IntoConnectionInfo;

/// How the Redis cache and broadcaster name their keys and channels, how long
/// cached results live, and how long they wait for Redis.
///
/// Every setting has a default (the `DEFAULT_*` constants); the setters take
/// and return the config, builder style:
///
/// ```
/// use std::time::Duration;
///
/// use polling_cache_redis::RedisConfig;
///
/// let config = RedisConfig::new()
///     .with_key_prefix("myapp:")
///     .with_results_ttl(Duration::from_secs(300));
/// assert_eq!(config.key_prefix(), "myapp:");
/// assert_eq!(config.response_timeout(), RedisConfig::DEFAULT_RESPONSE_TIMEOUT);
/// ```
#[derive(Clone, Debug)]
pub struct RedisConfig {
    /// Put in front of every key and channel, so that several applications
    /// (or tests) can share one Redis without seeing each other's data.
    key_prefix: String,
    /// How long a poll's cached results live after their last write. Hot polls
    /// are rewritten by every vote; the TTL bounds the memory of polls nobody
    /// reads and how long a stale entry can outlive a failed write.
    results_ttl: Duration,
    /// How long one command may wait for its reply before it fails, so a
    /// stalled Redis fails a cache write or a publish instead of stalling the
    /// vote that made it.
    response_timeout: Duration,
    /// How long one attempt to open a connection may take.
    connection_timeout: Duration,
    /// The first delay before the Pub/Sub connection is opened again after it
    /// was lost; it doubles with every failed attempt.
    reconnect_min_delay: Duration,
    /// The longest delay between two attempts to open the Pub/Sub connection.
    reconnect_max_delay: Duration,
    /// Events buffered per poll for the slowest local subscriber before it
    /// skips them and receives a `Resync` instead.
    subscriber_capacity: usize,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            key_prefix: Self::DEFAULT_KEY_PREFIX.to_owned(),
            results_ttl: Self::DEFAULT_RESULTS_TTL,
            response_timeout: Self::DEFAULT_RESPONSE_TIMEOUT,
            connection_timeout: Self::DEFAULT_CONNECTION_TIMEOUT,
            reconnect_min_delay: Self::DEFAULT_RECONNECT_MIN_DELAY,
            reconnect_max_delay: Self::DEFAULT_RECONNECT_MAX_DELAY,
            subscriber_capacity: Self::DEFAULT_SUBSCRIBER_CAPACITY,
        }
    }
}

impl RedisConfig {
    /// The key prefix unless set: `polling:`.
    pub const DEFAULT_KEY_PREFIX: &'static str = "polling:";

    /// The time to live of cached results unless set: 10 minutes.
    ///
    /// Every vote rewrites its poll's entry, so the TTL only matters for polls
    /// that stopped receiving votes. It is kept short because it is also the
    /// longest time an entry can stay stale: after a cache write failed while
    /// Redis was unreachable, or after a write that raced the deletion of its
    /// poll (see [`RedisResultsCache`](crate::RedisResultsCache)). Reading an
    /// expired poll again costs one store read.
    pub const DEFAULT_RESULTS_TTL: Duration = Duration::from_secs(10 * 60);

    /// The response timeout unless set: 300 ms.
    ///
    /// A Redis on the same network answers in well under a millisecond; a
    /// reply this late means Redis is stalled, and the vote path must not wait
    /// for it (the cache write and the publish of a vote run one after the
    /// other, so a vote waits at most about twice this).
    pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_millis(300);

    /// The connection timeout unless set: 300 ms.
    pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_millis(300);

    /// The first reconnect delay unless set: 50 ms.
    pub const DEFAULT_RECONNECT_MIN_DELAY: Duration = Duration::from_millis(50);

    /// The longest reconnect delay unless set: 2 s.
    pub const DEFAULT_RECONNECT_MAX_DELAY: Duration = Duration::from_secs(2);

    /// Events buffered per poll for local subscribers unless set: 64.
    pub const DEFAULT_SUBSCRIBER_CAPACITY: usize = 64;

    /// How often the broadcaster's idle Pub/Sub connection is checked with a
    /// `PING`.
    pub(crate) const PING_INTERVAL: Duration = Duration::from_secs(5);
    /// How often a command on a cluster is tried again (after a `MOVED`, or
    /// a connection to reopen), within its response timeout.
    const CLUSTER_RETRIES: u32 = 3;
    /// The shortest timeout or time to live accepted; shorter values are raised
    /// to it (Redis counts expiry in milliseconds, and a zero timeout would
    /// fail every command).
    const MIN_DURATION: Duration = Duration::from_millis(1);

    /// A config with every default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the prefix of every key and channel (`polling:` by default).
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Sets how long cached results live after their last write (at least 1 ms).
    pub fn with_results_ttl(mut self, ttl: Duration) -> Self {
        self.results_ttl = ttl.max(Self::MIN_DURATION);
        self
    }

    /// Sets how long a command waits for its reply (at least 1 ms).
    pub fn with_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout.max(Self::MIN_DURATION);
        self
    }

    /// Sets how long an attempt to connect may take (at least 1 ms).
    pub fn with_connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout.max(Self::MIN_DURATION);
        self
    }

    /// Sets the first and the longest delay between attempts to open the
    /// Pub/Sub connection again; `max` is raised to `min` if lower.
    pub fn with_reconnect_delays(mut self, min: Duration, max: Duration) -> Self {
        self.reconnect_min_delay = min.max(Self::MIN_DURATION);
        self.reconnect_max_delay = max.max(self.reconnect_min_delay);
        self
    }

    /// Sets how many events are buffered per poll for local subscribers (at
    /// least 1).
    pub fn with_subscriber_capacity(mut self, capacity: usize) -> Self {
        self.subscriber_capacity = capacity.max(1);
        self
    }

    /// The prefix of every key and channel.
    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// How long cached results live after their last write.
    pub fn results_ttl(&self) -> Duration {
        self.results_ttl
    }

    /// How long a command waits for its reply.
    pub fn response_timeout(&self) -> Duration {
        self.response_timeout
    }

    /// How long an attempt to connect may take.
    pub fn connection_timeout(&self) -> Duration {
        self.connection_timeout
    }

    /// The first delay before reopening a lost Pub/Sub connection.
    pub fn reconnect_min_delay(&self) -> Duration {
        self.reconnect_min_delay
    }

    /// The longest delay between attempts to reopen the Pub/Sub connection.
    pub fn reconnect_max_delay(&self) -> Duration {
        self.reconnect_max_delay
    }

    /// How many events are buffered per poll for local subscribers.
    pub fn subscriber_capacity(&self) -> usize {
        self.subscriber_capacity
    }

    /// The [`ConnectionManagerConfig`] the constructors that connect use: this
    /// config's timeouts, and a single quick retry when reconnecting, so that
    /// commands sent while Redis is down fail within about twice the
    /// connection timeout instead of waiting through a long retry schedule.
    ///
    /// The manager still reconnects on its own: every command that finds the
    /// connection broken starts a new attempt. Use this config when you build
    /// the [`ConnectionManager`](redis::aio::ConnectionManager) yourself for
    /// [`RedisResultsCache::from_manager`](crate::RedisResultsCache::from_manager)
    /// or [`RedisBroadcaster::from_manager`](crate::RedisBroadcaster::from_manager).
    pub fn connection_manager_config(&self) -> ConnectionManagerConfig {
        ConnectionManagerConfig::new()
            .set_response_timeout(Some(self.response_timeout))
            .set_connection_timeout(Some(self.connection_timeout))
            .set_number_of_retries(1)
            .set_min_delay(self.reconnect_min_delay)
            .set_max_delay(self.reconnect_min_delay * 4)
    }

    /// A [`ClusterClientBuilder`] for the seed nodes `nodes` (`redis://`
    /// URLs of some nodes of a Redis Cluster) with this config's timeouts and
    /// RESP3 (which sharded Pub/Sub messages need): the client the
    /// `connect_cluster` constructors use.
    ///
    /// Each attempt of a command waits at most the
    /// [response timeout](Self::response_timeout), and so does the command
    /// as a whole, retries (to follow a `MOVED` after a failover, or to reach
    /// a reconnected node) included: a shard that is down costs a command one
    /// response timeout.
    ///
    /// ```
    /// use polling_cache_redis::RedisConfig;
    ///
    /// let client = RedisConfig::new()
    ///     .cluster_client_builder(["redis://127.0.0.1:7000/", "redis://127.0.0.1:7001/"])
    ///     .build();
    /// assert!(client.is_ok());
    /// ```
    pub fn cluster_client_builder<T: IntoConnectionInfo>(
        &self,
        nodes: impl IntoIterator<Item = T>,
    ) -> ClusterClientBuilder {
        ClusterClientBuilder::new(nodes)
            .use_protocol(redis::ProtocolVersion::RESP3)
            .connection_timeout(self.connection_timeout)
            .response_timeout(self.response_timeout)
            .retries(Self::CLUSTER_RETRIES)
            .min_retry_wait(10)
            .max_retry_wait(100)
    }

    /// The client of the cluster `nodes` seed, built with
    /// [`cluster_client_builder`](Self::cluster_client_builder).
    pub(crate) fn cluster_client<T: IntoConnectionInfo>(
        &self,
        nodes: impl IntoIterator<Item = T>,
    ) -> polling_core::Result<redis::cluster::ClusterClient> {
        self.cluster_client_builder(nodes)
            .build()
            .map_err(polling_core::PollError::unavailable)
    }

    /// The settings of the broadcaster's [`Relay`](polling_core::relay::Relay):
    /// this config's queue size, timeouts and reconnect delays, and a `PING`
    /// every [`PING_INTERVAL`](Self::PING_INTERVAL).
    pub(crate) fn relay_config(&self) -> RelayConfig {
        RelayConfig {
            subscriber_capacity: self.subscriber_capacity,
            connect_timeout: self.connection_timeout,
            response_timeout: self.response_timeout,
            ping_interval: Self::PING_INTERVAL,
            reconnect_min_delay: self.reconnect_min_delay,
            reconnect_max_delay: self.reconnect_max_delay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setters_keep_durations_and_capacities_usable() {
        let config = RedisConfig::new()
            .with_results_ttl(Duration::ZERO)
            .with_response_timeout(Duration::ZERO)
            .with_connection_timeout(Duration::ZERO)
            .with_reconnect_delays(Duration::from_secs(1), Duration::from_millis(10))
            .with_subscriber_capacity(0);
        assert_eq!(config.results_ttl(), Duration::from_millis(1));
        assert_eq!(config.response_timeout(), Duration::from_millis(1));
        assert_eq!(config.connection_timeout(), Duration::from_millis(1));
        assert_eq!(config.reconnect_min_delay(), Duration::from_secs(1));
        assert_eq!(
            config.reconnect_max_delay(),
            Duration::from_secs(1),
            "the cap is never below the first delay"
        );
        assert_eq!(config.subscriber_capacity(), 1);
    }

    #[test]
    fn the_connection_manager_uses_the_configured_timeouts() {
        let config = RedisConfig::new()
            .with_response_timeout(Duration::from_millis(123))
            .with_connection_timeout(Duration::from_millis(45));
        let manager = config.connection_manager_config();
        assert_eq!(manager.response_timeout(), Some(Duration::from_millis(123)));
        assert_eq!(
            manager.connection_timeout(),
            Some(Duration::from_millis(45))
        );
        assert_eq!(manager.number_of_retries(), 1);
    }
}

//! [`PgBroadcasterConfig`]: the timeouts, delays and buffer of a
//! [`PgBroadcaster`](crate::PgBroadcaster).

use std::time::Duration;

use polling_core::relay::RelayConfig;

/// Settings of a [`PgBroadcaster`](crate::PgBroadcaster), with defaults.
///
/// ```
/// use std::time::Duration;
/// use polling_store_postgres::PgBroadcasterConfig;
///
/// let config = PgBroadcasterConfig {
///     reconnect_max_delay: Duration::from_secs(10),
///     ..PgBroadcasterConfig::default()
/// };
/// assert_eq!(config.subscriber_capacity, 64);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgBroadcasterConfig {
    /// The longest wait for the listening connection: a connection attempt,
    /// or a `LISTEN`, `UNLISTEN` or `SELECT 1` on it. Past it the connection
    /// counts as lost.
    pub response_timeout: Duration,
    /// The delay before the first reconnect attempt after a loss; it doubles
    /// after every failed attempt (jittered).
    pub reconnect_min_delay: Duration,
    /// The longest delay between reconnect attempts.
    pub reconnect_max_delay: Duration,
    /// How often an idle listening connection is checked with `SELECT 1`, so
    /// that one that died silently is found and replaced.
    pub ping_interval: Duration,
    /// Events buffered per poll for the slowest local subscriber; one that
    /// falls further behind gets a `Resync`.
    pub subscriber_capacity: usize,
}

impl PgBroadcasterConfig {
    /// The default [`response_timeout`](Self::response_timeout).
    pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);
    /// The default [`reconnect_min_delay`](Self::reconnect_min_delay).
    pub const DEFAULT_RECONNECT_MIN_DELAY: Duration = Duration::from_millis(50);
    /// The default [`reconnect_max_delay`](Self::reconnect_max_delay).
    pub const DEFAULT_RECONNECT_MAX_DELAY: Duration = Duration::from_secs(2);
    /// The default [`ping_interval`](Self::ping_interval).
    pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(5);
    /// The default [`subscriber_capacity`](Self::subscriber_capacity).
    pub const DEFAULT_SUBSCRIBER_CAPACITY: usize = 64;

    /// The settings of the broadcaster's [`Relay`](polling_core::relay::Relay):
    /// [`response_timeout`](Self::response_timeout) bounds connection
    /// attempts too.
    pub(crate) fn relay_config(&self) -> RelayConfig {
        RelayConfig {
            subscriber_capacity: self.subscriber_capacity,
            connect_timeout: self.response_timeout,
            response_timeout: self.response_timeout,
            ping_interval: self.ping_interval,
            reconnect_min_delay: self.reconnect_min_delay,
            reconnect_max_delay: self.reconnect_max_delay,
        }
    }
}

impl Default for PgBroadcasterConfig {
    fn default() -> Self {
        Self {
            response_timeout: Self::DEFAULT_RESPONSE_TIMEOUT,
            reconnect_min_delay: Self::DEFAULT_RECONNECT_MIN_DELAY,
            reconnect_max_delay: Self::DEFAULT_RECONNECT_MAX_DELAY,
            ping_interval: Self::DEFAULT_PING_INTERVAL,
            subscriber_capacity: Self::DEFAULT_SUBSCRIBER_CAPACITY,
        }
    }
}

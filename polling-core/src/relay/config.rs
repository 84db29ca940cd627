//! [`RelayConfig`]: the queue size, timeouts and reconnect delays of a
//! [`Relay`](super::Relay).

use std::time::Duration;

/// How a [`Relay`](super::Relay) queues, waits and reconnects.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use polling_core::relay::RelayConfig;
///
/// let config = RelayConfig {
///     subscriber_capacity: 1024,
///     connect_timeout: Duration::from_secs(1),
///     response_timeout: Duration::from_millis(500),
///     ping_interval: Duration::from_secs(5),
///     reconnect_min_delay: Duration::from_millis(50),
///     reconnect_max_delay: Duration::from_secs(2),
/// };
/// assert_eq!(config.subscribe_timeout(), Duration::from_secs(2));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayConfig {
    /// Events buffered per poll for its slowest local subscriber; one that
    /// falls further behind gets a `Resync`.
    pub subscriber_capacity: usize,
    /// The longest wait for a connection attempt.
    pub connect_timeout: Duration,
    /// The longest wait for the reply to a listen, unlisten or ping.
    pub response_timeout: Duration,
    /// How often an idle connection is pinged, to find one that died
    /// silently.
    pub ping_interval: Duration,
    /// The delay before the first reconnect attempt, and after a reset.
    pub reconnect_min_delay: Duration,
    /// The longest delay between reconnect attempts.
    pub reconnect_max_delay: Duration,
}

impl RelayConfig {
    /// How long a new subscriber waits for its poll's channel to be listened
    /// to before it returns anyway (a `Resync` then follows once it is): a
    /// connection attempt and two replies.
    pub fn subscribe_timeout(&self) -> Duration {
        self.connect_timeout + self.response_timeout * 2
    }
}

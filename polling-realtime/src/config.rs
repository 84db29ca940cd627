//! [`HubConfig`] and [`SocketConfig`]: the knobs of the hub and of each socket.

use std::time::Duration;

/// Settings of a [`Hub`](crate::Hub), fixed when it is made.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubConfig {
    /// How many sockets may be admitted at once (see
    /// [`Hub::try_admit`](crate::Hub::try_admit)); more are refused, so the
    /// server answers 503 before upgrading instead of running out of file
    /// descriptors or memory.
    pub max_sockets: usize,
    /// How many sockets one client may have admitted at once (see
    /// [`Hub::try_admit_from`](crate::Hub::try_admit_from)), so that one
    /// client cannot hold every place of `max_sockets`; `0`: no cap.
    pub max_sockets_per_client: usize,
}

impl HubConfig {
    /// The default of [`HubConfig::max_sockets`].
    pub const DEFAULT_MAX_SOCKETS: usize = 20_000;
    /// The default of [`HubConfig::max_sockets_per_client`]: a lecture hall
    /// behind one NAT, two tabs per seat.
    pub const DEFAULT_MAX_SOCKETS_PER_CLIENT: usize = 2_000;

    /// The default settings with `max_sockets` sockets at most.
    pub fn with_max_sockets(max_sockets: usize) -> Self {
        Self {
            max_sockets,
            max_sockets_per_client: Self::DEFAULT_MAX_SOCKETS_PER_CLIENT,
        }
    }

    /// Sets [`HubConfig::max_sockets_per_client`].
    pub fn max_sockets_per_client(mut self, max: usize) -> Self {
        self.max_sockets_per_client = max;
        self
    }
}

impl Default for HubConfig {
    fn default() -> Self {
        Self::with_max_sockets(Self::DEFAULT_MAX_SOCKETS)
    }
}

/// Settings of each socket served by [`serve_socket`](crate::serve_socket).
///
/// The incoming limits apply to frames *after* the WebSocket library has read
/// them: the server must also cap the library's own message and frame sizes
/// (tungstenite allows 64 MiB by default) to [`max_incoming_message_bytes`]
/// or a little more, so that a huge message is refused while it is read.
///
/// [`max_incoming_message_bytes`]: SocketConfig::max_incoming_message_bytes
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocketConfig {
    /// How often the server pings a socket, to keep idle connections open
    /// through proxies and to find dead peers. Default 20 s.
    pub ping_interval: Duration,
    /// How long after a ping the peer has to send a frame (any frame, a pong
    /// as a rule) before the socket is considered dead and dropped. Default
    /// 10 s.
    pub pong_timeout: Duration,
    /// How long one outgoing frame may wait for the peer to take it before
    /// the socket is considered stalled and dropped. Default 10 s.
    pub send_timeout: Duration,
    /// The largest text, binary or ping payload accepted from a client; a
    /// larger one closes the socket with 1009. Clients have nothing to say on
    /// this socket, so the cap is small. Default 1 KiB.
    pub max_incoming_message_bytes: usize,
    /// How many frames a client may send per second (pongs included); more
    /// close the socket with 1008. Default 10.
    pub max_incoming_per_sec: u32,
    /// While a socket may not see its poll's counts (see
    /// [`CountsGate`](crate::CountsGate)), the least time between two of its
    /// asks prompted by events (its voter's vote, a resync) or by the
    /// client's `recheck` and `manage` messages: a flood of them is answered
    /// once per interval. Default 250 ms.
    pub recheck_interval: Duration,
}

impl SocketConfig {
    /// The default of [`SocketConfig::ping_interval`].
    pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(20);
    /// The default of [`SocketConfig::pong_timeout`].
    pub const DEFAULT_PONG_TIMEOUT: Duration = Duration::from_secs(10);
    /// The default of [`SocketConfig::send_timeout`].
    pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(10);
    /// The default of [`SocketConfig::max_incoming_message_bytes`].
    pub const DEFAULT_MAX_INCOMING_MESSAGE_BYTES: usize = 1024;
    /// The default of [`SocketConfig::max_incoming_per_sec`].
    pub const DEFAULT_MAX_INCOMING_PER_SEC: u32 = 10;
    /// The default of [`SocketConfig::recheck_interval`].
    pub const DEFAULT_RECHECK_INTERVAL: Duration = Duration::from_millis(250);

    /// Sets [`SocketConfig::ping_interval`].
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = interval;
        self
    }

    /// Sets [`SocketConfig::pong_timeout`].
    pub fn pong_timeout(mut self, timeout: Duration) -> Self {
        self.pong_timeout = timeout;
        self
    }

    /// Sets [`SocketConfig::send_timeout`].
    pub fn send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = timeout;
        self
    }

    /// Sets [`SocketConfig::max_incoming_message_bytes`].
    pub fn max_incoming_message_bytes(mut self, bytes: usize) -> Self {
        self.max_incoming_message_bytes = bytes;
        self
    }

    /// Sets [`SocketConfig::max_incoming_per_sec`].
    pub fn max_incoming_per_sec(mut self, frames: u32) -> Self {
        self.max_incoming_per_sec = frames;
        self
    }

    /// Sets [`SocketConfig::recheck_interval`].
    pub fn recheck_interval(mut self, interval: Duration) -> Self {
        self.recheck_interval = interval;
        self
    }
}

impl Default for SocketConfig {
    fn default() -> Self {
        Self {
            ping_interval: Self::DEFAULT_PING_INTERVAL,
            pong_timeout: Self::DEFAULT_PONG_TIMEOUT,
            send_timeout: Self::DEFAULT_SEND_TIMEOUT,
            max_incoming_message_bytes: Self::DEFAULT_MAX_INCOMING_MESSAGE_BYTES,
            max_incoming_per_sec: Self::DEFAULT_MAX_INCOMING_PER_SEC,
            recheck_interval: Self::DEFAULT_RECHECK_INTERVAL,
        }
    }
}

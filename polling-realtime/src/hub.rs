//! [`Hub`]: the one place per process where sockets meet the broadcaster.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use polling_core::{Broadcaster, PollId};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore, TryAcquireError};

use crate::clock::{Beat, Cadence, Clocks};
use crate::config::HubConfig;
use crate::poll_feed::{lock, Feeds, PollFeed};
use crate::snapshot::SnapshotSource;
use crate::stats::{Counters, HubStats};

/// Connects sockets to a [`Broadcaster`]: all sockets of one poll share one
/// upstream subscription, each gets the newest results as fast as it takes
/// them. One hub per process; clones share it.
///
/// Serve a socket by [admitting](Hub::try_admit) it, then handing the
/// [`Admission`] to [`serve_socket`](crate::serve_socket). See the
/// [crate example](crate).
#[derive(Clone)]
pub struct Hub {
    /// Everything clones share.
    inner: Arc<Inner>,
}

/// The state of a hub.
struct Inner {
    /// Where results events come from.
    broadcaster: Arc<dyn Broadcaster>,
    /// Where snapshots come from.
    source: Arc<dyn SnapshotSource>,
    /// The feed of each poll that has sockets.
    feeds: Arc<Feeds>,
    /// One permit per admitted socket.
    permits: Arc<Semaphore>,
    /// How many sockets each client has admitted, for
    /// [`HubConfig::max_sockets_per_client`]; a client leaves the map with
    /// its last socket.
    clients: Mutex<HashMap<IpAddr, usize>>,
    /// The settings.
    config: HubConfig,
    /// `true` once [`Hub::shutdown`] was called.
    shutdown: watch::Sender<bool>,
    /// What sockets did, for [`Hub::stats`].
    counters: Counters,
    /// The ping and pong clocks of the sockets.
    clocks: Arc<Clocks>,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .field("shut_down", &self.is_shut_down())
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub reading events from `broadcaster` and snapshots from `source`,
    /// with the default [`HubConfig`].
    pub fn new(broadcaster: Arc<dyn Broadcaster>, source: impl SnapshotSource) -> Self {
        Self::with_config(broadcaster, source, HubConfig::default())
    }

    /// A hub reading events from `broadcaster` and snapshots from `source`.
    pub fn with_config(
        broadcaster: Arc<dyn Broadcaster>,
        source: impl SnapshotSource,
        config: HubConfig,
    ) -> Self {
        let permits = config.max_sockets.min(Semaphore::MAX_PERMITS);
        Self {
            inner: Arc::new(Inner {
                broadcaster,
                source: Arc::new(source),
                feeds: Arc::default(),
                permits: Arc::new(Semaphore::new(permits)),
                clients: Mutex::default(),
                config,
                shutdown: watch::Sender::new(false),
                counters: Counters::default(),
                clocks: Arc::default(),
            }),
        }
    }

    /// The settings of this hub.
    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    /// Admits one more socket, or refuses when
    /// [`max_sockets`](HubConfig::max_sockets) sockets are admitted already or
    /// the hub is shutting down. Call it before upgrading the connection, so
    /// that a refusal can be an HTTP 503; the socket counts until the
    /// [`Admission`] is dropped. A server that knows the client's address
    /// calls [`Hub::try_admit_from`] instead, which also holds the client to
    /// its share.
    pub fn try_admit(&self) -> Result<Admission, AdmitError> {
        if self.is_shut_down() {
            return Err(AdmitError::ShuttingDown);
        }
        match Arc::clone(&self.inner.permits).try_acquire_owned() {
            Ok(permit) => {
                self.inner.counters.admitted();
                Ok(Admission {
                    hub: self.clone(),
                    client: None,
                    _permit: permit,
                })
            }
            Err(TryAcquireError::NoPermits) => Err(AdmitError::Full),
            Err(TryAcquireError::Closed) => Err(AdmitError::ShuttingDown),
        }
    }

    /// [`Hub::try_admit`] for a socket of `client`, which may have at most
    /// [`max_sockets_per_client`](HubConfig::max_sockets_per_client) sockets
    /// admitted at once: past it, [`AdmitError::ClientFull`]. The caller
    /// says who the client is: the address that counts, behind trusted
    /// proxies the one they name, an IPv6 client by its /64 network.
    pub fn try_admit_from(&self, client: IpAddr) -> Result<Admission, AdmitError> {
        let cap = self.inner.config.max_sockets_per_client;
        if cap > 0 {
            let mut clients = self.clients();
            let open = clients.entry(client).or_insert(0);
            if *open >= cap {
                return Err(AdmitError::ClientFull);
            }
            *open += 1;
        }
        // Counted first, so that two sockets of one client racing for the
        // last place cannot both pass; given back if the hub refuses.
        let slot = (cap > 0).then_some(client);
        match self.try_admit() {
            Ok(mut admission) => {
                admission.client = slot;
                Ok(admission)
            }
            Err(error) => {
                if let Some(client) = slot {
                    self.leave(client);
                }
                Err(error)
            }
        }
    }

    /// How many sockets `client` has admitted now.
    pub fn sockets_of(&self, client: IpAddr) -> usize {
        self.clients().get(&client).copied().unwrap_or(0)
    }

    fn clients(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        // Counts change by one under the lock: a poisoned map is consistent.
        self.inner.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One socket of `client` left.
    fn leave(&self, client: IpAddr) {
        let mut clients = self.clients();
        if let Some(open) = clients.get_mut(&client) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                clients.remove(&client);
            }
        }
    }

    /// Closes every socket with 1001 (going away) and refuses new ones.
    ///
    /// Call it when the server begins its graceful shutdown: upgraded
    /// connections are not waited for by the HTTP server, so without this
    /// they would be cut without a close frame. Sockets end soon after (at
    /// the latest after [`send_timeout`](crate::SocketConfig::send_timeout));
    /// wait for [`HubStats::sockets`] to reach zero to know.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
        self.inner.clocks.shut_down();
        self.inner.permits.close();
    }

    /// Whether [`Hub::shutdown`] was called.
    pub fn is_shut_down(&self) -> bool {
        *self.inner.shutdown.borrow()
    }

    /// The hub's gauges and counters now.
    pub fn stats(&self) -> HubStats {
        let polls = lock(&self.inner.feeds)
            .values()
            .filter(|feed| feed.strong_count() > 0)
            .count();
        self.inner.counters.read(polls)
    }

    /// The feed of `poll`, joined or started.
    pub(crate) fn join(&self, poll: PollId) -> Arc<PollFeed> {
        PollFeed::join(
            &self.inner.feeds,
            poll,
            &self.inner.broadcaster,
            &self.inner.source,
        )
    }

    pub(crate) fn source(&self) -> &dyn SnapshotSource {
        &*self.inner.source
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    /// The beats of `cadence`: when to ping, when a ping is unanswered,
    /// whether the hub shuts down.
    pub(crate) fn beats(&self, cadence: Cadence) -> watch::Receiver<Beat> {
        self.inner.clocks.subscribe(cadence)
    }

    /// Becomes `true` when the hub shuts down.
    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }
}

/// One admitted socket, from [`Hub::try_admit`]: counts against
/// [`max_sockets`](HubConfig::max_sockets) until dropped.
/// [`serve_socket`](crate::serve_socket) takes it and drops it when the
/// socket ends.
#[derive(Debug)]
pub struct Admission {
    /// The hub that admitted the socket.
    hub: Hub,
    /// The client it counts against, when admitted by
    /// [`Hub::try_admit_from`] under a per-client cap.
    client: Option<IpAddr>,
    /// The socket's place.
    _permit: OwnedSemaphorePermit,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.hub.inner.counters.left();
        if let Some(client) = self.client {
            self.hub.leave(client);
        }
    }
}

impl Admission {
    /// The hub that admitted the socket.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }
}

/// Why [`Hub::try_admit`] or [`Hub::try_admit_from`] refused a socket; all
/// mean HTTP 503.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdmitError {
    /// [`max_sockets`](HubConfig::max_sockets) sockets are admitted already.
    Full,
    /// The hub is shutting down.
    ShuttingDown,
    /// The client has
    /// [`max_sockets_per_client`](HubConfig::max_sockets_per_client) sockets
    /// admitted already.
    ClientFull,
}

impl fmt::Display for AdmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full => "too many live sockets",
            Self::ShuttingDown => "the server is shutting down",
            Self::ClientFull => "too many live sockets from one client",
        })
    }
}

impl std::error::Error for AdmitError {}

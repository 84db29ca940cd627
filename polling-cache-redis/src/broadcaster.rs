//! [`RedisBroadcaster`]: the [`Broadcaster`] over Redis Pub/Sub.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use polling_core::relay::Relay;
use polling_core::{Broadcaster, EventStream, PollError, PollId, Result, ResultsEvent};
use redis::aio::ConnectionManager;
use redis::{Client, IntoConnectionInfo};

use crate::config::RedisConfig;
use crate::connection::Connection;
use crate::keys::Keys;
use crate::pubsub::RedisPubSub;
use crate::sharded_pubsub::RedisShardedPubSub;

/// A [`Broadcaster`] over Redis Pub/Sub, so that every replica sees every
/// vote. Clones share the connections and the subscribers; the last one
/// dropped stops the background task.
///
/// # Channels
///
/// Each poll has its own channel, `{prefix}poll:{poll_id}`, carrying
/// [`ResultsEvent`]s as JSON. Redis then routes by poll: a replica receives
/// the events of the polls its own subscribers watch, not every vote of every
/// poll (as one channel for all polls would make it), at the price of a
/// `SUBSCRIBE` when a poll gets its first local subscriber and an
/// `UNSUBSCRIBE` when it loses its last.
///
/// # Publishing
///
/// [`publish`](Broadcaster::publish) sends `PUBLISH` through a
/// [`ConnectionManager`]; a failure is a [`PollError::Unavailable`] and is
/// counted ([`RedisBroadcaster::publish_failures`]).
///
/// # Subscribing
///
/// Each broadcaster has exactly one Pub/Sub connection, however many polls
/// and subscribers, owned by a background task. Local subscribers of a poll
/// share a tokio broadcast channel, as with polling-core's `LocalBroadcaster`:
/// one that falls behind gets a [`ResultsEvent::Resync`] instead of the events
/// it skipped. Malformed messages are logged, counted and skipped.
///
/// When the connection is lost, the task reconnects with exponential backoff
/// (from [`reconnect_min_delay`](RedisConfig::reconnect_min_delay), doubling,
/// jittered, up to [`reconnect_max_delay`](RedisConfig::reconnect_max_delay)),
/// subscribes every poll that still has subscribers, and sends each of them a
/// `Resync` (Pub/Sub delivers at most once: whatever was published meanwhile is
/// lost, and a `Resync` makes subscribers fetch a fresh snapshot).
/// [`subscribe`](Broadcaster::subscribe) works while Redis is down: the stream
/// starts with that `Resync` once Redis is back.
///
/// The task stops, and the connection closes, when the last clone of the
/// broadcaster is dropped; the subscribers' streams then end.
///
/// # Redis Cluster
///
/// [`connect_cluster`](Self::connect_cluster) broadcasts over a Redis
/// Cluster with sharded Pub/Sub (Redis 7): the channel is
/// `{prefix}poll:{<poll_id>}`, in the slot of the poll's cached results,
/// events are sent with `SPUBLISH` and listened to with `SSUBSCRIBE`, each
/// routed to the shard owning the slot, so a shard carries the events of its
/// own polls only. The guarantees stay those above: one listening
/// connection (a cluster connection, with a connection to each node) per
/// broadcaster, one subscription per poll, reconnects with backoff. On top,
/// the listening connection counts as lost when any node's connection closes
/// (a master died or failed over, a replica went away) or the cluster moves
/// a watched channel's slot to another shard: the broadcaster then opens a
/// new one, subscribes every watched poll again (each on its shard's master
/// or, while that is down, on its replica, which Redis lets serve sharded
/// subscriptions and which receives what the shard's master, the promoted
/// one included, publishes; or, with no node of the shard up, retrying with
/// backoff), and only then resyncs them, so no subscriber misses an event
/// published after its `Resync`. [`check`](Broadcaster::check) stays failing
/// until every shard has a master that answers again.
///
/// # Health and metrics
///
/// [`check`](Broadcaster::check) fails while the Pub/Sub connection is down
/// or Redis does not answer a `PING`. Through the `metrics` facade, under the
/// names of [`polling_core::metrics`], the broadcaster records
/// [`BROADCAST_RESYNCS_TOTAL`](polling_core::metrics::BROADCAST_RESYNCS_TOTAL)
/// (once per poll resynced),
/// [`BROADCAST_RECONNECTS_TOTAL`](polling_core::metrics::BROADCAST_RECONNECTS_TOTAL),
/// [`BROADCAST_RECEIVE_ERRORS_TOTAL`](polling_core::metrics::BROADCAST_RECEIVE_ERRORS_TOTAL)
/// (malformed messages) and the gauge
/// [`REDIS_PUBSUB_CONNECTED`](polling_core::metrics::REDIS_PUBSUB_CONNECTED)
/// (one per process: with several broadcasters, the last to change wins).
/// Failed publishes are counted by the
/// [`BroadcastLayer`](polling_core::layer::BroadcastLayer) that makes them.
///
/// # Example
///
/// ```no_run
/// use futures_util::StreamExt;
/// use polling_cache_redis::{RedisBroadcaster, RedisConfig};
/// use polling_core::{Broadcaster, PollId, ResultsEvent};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> polling_core::Result<()> {
/// let broadcaster = RedisBroadcaster::connect("redis://127.0.0.1/", &RedisConfig::new()).await?;
/// let poll = PollId::generate();
/// let mut events = broadcaster.subscribe(poll).await?;
/// broadcaster.publish(&ResultsEvent::Resync { poll_id: poll }).await?;
/// assert_eq!(events.next().await, Some(ResultsEvent::Resync { poll_id: poll }));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisBroadcaster {
    /// Shared by the clones; its drop closes the listener's command channel.
    inner: Arc<Inner>,
}

/// The state the clones of a [`RedisBroadcaster`] share.
struct Inner {
    /// Publishes; multiplexed and self-reconnecting, to one node or a cluster.
    publisher: Connection,
    /// `PUBLISH`, or `SPUBLISH` on a cluster.
    publish: &'static str,
    /// Names the poll channels.
    keys: Keys,
    /// The local subscribers and the task owning the Pub/Sub connection;
    /// dropped with the last clone, which stops the task.
    relay: Relay,
    /// Publishes that failed since the broadcaster was made.
    publish_failures: AtomicU64,
}

impl RedisBroadcaster {
    /// Connects to the Redis at `url` (such as `redis://127.0.0.1:6379/`) and
    /// starts the Pub/Sub task. Call it within a Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`PollError::Unavailable`] when the URL is not a Redis URL or Redis
    /// cannot be reached.
    pub async fn connect(url: &str, config: &RedisConfig) -> Result<Self> {
        let client = Client::open(url).map_err(PollError::unavailable)?;
        Self::connect_with_client(client, config).await
    }

    /// Connects through `client`, with the timeouts of `config`, and starts
    /// the Pub/Sub task.
    ///
    /// # Errors
    ///
    /// [`PollError::Unavailable`] when Redis cannot be reached.
    pub async fn connect_with_client(client: Client, config: &RedisConfig) -> Result<Self> {
        let publisher =
            ConnectionManager::new_with_config(client.clone(), config.connection_manager_config())
                .await
                .map_err(PollError::unavailable)?;
        Ok(Self::from_manager(client, publisher, config))
    }

    /// Publishes through an existing connection manager (built with
    /// [`RedisConfig::connection_manager_config`] for the timeouts this crate
    /// expects) and opens the Pub/Sub connection with `client`, in the
    /// background: this returns at once, even while Redis is down.
    ///
    /// # Panics
    ///
    /// When called outside a Tokio runtime, as `tokio::spawn` does.
    pub fn from_manager(
        client: Client,
        publisher: ConnectionManager,
        config: &RedisConfig,
    ) -> Self {
        let keys = Keys::new(config.key_prefix());
        let relay = Relay::spawn(
            RedisPubSub::new(client, keys.clone()),
            &config.relay_config(),
        );
        Self::with_parts(Connection::Node(publisher), "PUBLISH", keys, relay)
    }

    /// Connects to the Redis Cluster that `nodes` (`redis://` URLs of some of
    /// its nodes) belong to, with the client of
    /// [`RedisConfig::cluster_client_builder`], and starts the sharded
    /// Pub/Sub task (see [Redis Cluster](Self#redis-cluster)). Call it
    /// within a Tokio runtime.
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
        let publisher = Connection::cluster(&client).await?;
        let keys = Keys::hash_tagged(config.key_prefix());
        let relay = Relay::spawn(
            RedisShardedPubSub::new(client, keys.clone(), config),
            &config.relay_config(),
        );
        Ok(Self::with_parts(publisher, "SPUBLISH", keys, relay))
    }

    fn with_parts(publisher: Connection, publish: &'static str, keys: Keys, relay: Relay) -> Self {
        Self {
            inner: Arc::new(Inner {
                publisher,
                publish,
                keys,
                relay,
                publish_failures: AtomicU64::new(0),
            }),
        }
    }

    /// How many publishes failed so far (each also returned an error).
    pub fn publish_failures(&self) -> u64 {
        self.inner.publish_failures.load(Ordering::Relaxed)
    }

    /// How many Pub/Sub connections this broadcaster opened so far: 1, plus
    /// one per reconnect. Never more than one is open at a time (on a
    /// cluster, one cluster connection: one connection per node).
    pub fn connections_established(&self) -> u64 {
        self.inner.relay.connections_established()
    }

    /// Whether the Pub/Sub connection is up with its subscriptions in place
    /// (for readiness checks).
    pub fn is_listening(&self) -> bool {
        self.inner.relay.is_listening()
    }

    /// Publishes `event` on its poll's channel.
    async fn send(&self, event: &ResultsEvent) -> Result<()> {
        let payload = serde_json::to_string(event).map_err(PollError::unavailable)?;
        let mut publisher = self.inner.publisher.clone();
        redis::cmd(self.inner.publish)
            .arg(self.inner.keys.channel(event.poll_id()))
            .arg(payload)
            .query_async::<i64>(&mut publisher)
            .await
            .map_err(PollError::unavailable)?;
        Ok(())
    }
}

impl fmt::Debug for RedisBroadcaster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBroadcaster")
            .field("keys", &self.inner.keys)
            .field("connections_established", &self.connections_established())
            .field("publish_failures", &self.publish_failures())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Broadcaster for RedisBroadcaster {
    async fn publish(&self, event: &ResultsEvent) -> Result<()> {
        let sent = self.send(event).await;
        if sent.is_err() {
            self.inner.publish_failures.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// `Unavailable` when the Pub/Sub connection is not up (see
    /// [`RedisBroadcaster::is_listening`]) or a `PING` through the publishing
    /// connection (on a cluster, to the master of every slot) fails (within
    /// the response timeout).
    async fn check(&self) -> Result<()> {
        if !self.is_listening() {
            return Err(PollError::unavailable(
                "the redis pub/sub connection is down",
            ));
        }
        self.inner.publisher.check().await
    }

    async fn subscribe(&self, poll: PollId) -> Result<EventStream> {
        self.inner.relay.subscribe(poll).await
    }
}

//! [`RedisShardedPubSub`]: sharded Pub/Sub on a Redis Cluster as the
//! [`Remote`] of a [`Relay`](polling_core::relay::Relay), and
//! [`ShardedPubSubConnection`], its listening connection.
//!
//! Channels are `{prefix}poll:{<poll_id>}` (see [`Keys`]): the hash tag puts
//! a poll's channel in the slot of its cached results, and `SSUBSCRIBE` and
//! `SPUBLISH` route it to the shard owning that slot, so a message travels
//! within one shard instead of over the whole cluster bus, as classic
//! Pub/Sub's would.
//!
//! A listening connection is one [`ClusterConnection`] speaking RESP3, with
//! connections to every node; the messages arrive as push messages on a
//! channel of the connection's own. The cluster connection reconnects nodes
//! and moves subscriptions by itself, but cannot say what was published in
//! the meantime; so the listening connection counts as lost (and the relay
//! opens a new one, subscribes every watched poll again, and resyncs them)
//! when any node's connection closes (a node died, or failed over) and when
//! the cluster unsubscribes a channel still watched (its slot moved to
//! another shard). While a shard's master is down, the new connection's
//! `SSUBSCRIBE` goes to the shard's replica (redis-rs falls back within the
//! shard, and Redis lets replicas serve sharded subscriptions): it hears
//! what the promoted replica publishes once it is master.

use std::collections::HashSet;

use futures_util::future::try_join_all;
use polling_core::metrics::REDIS_PUBSUB_CONNECTED;
use polling_core::relay::{Remote, RemoteConnection};
use polling_core::{BoxError, PollId, ResultsEvent};
use redis::cluster::{ClusterClient, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{PushInfo, PushKind, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use crate::config::RedisConfig;
use crate::keys::Keys;

/// Opens sharded Pub/Sub connections to one Redis Cluster and names the
/// channels under one prefix.
#[derive(Debug)]
pub(crate) struct RedisShardedPubSub {
    /// Knows the seed nodes and speaks RESP3.
    client: ClusterClient,
    /// Names the poll channels (hash-tagged) and reads the poll back.
    keys: Keys,
    /// The timeouts of each connection, and a push sender of its own.
    config: RedisConfig,
}

impl RedisShardedPubSub {
    /// Connections through `client` (RESP3), channels named by `keys`.
    pub(crate) fn new(client: ClusterClient, keys: Keys, config: &RedisConfig) -> Self {
        Self {
            client,
            keys,
            config: config.clone(),
        }
    }
}

impl Remote for RedisShardedPubSub {
    type Connection = ShardedPubSubConnection;

    const CONNECTION: &'static str = "redis cluster sharded pub/sub connection";

    async fn connect(&self) -> Result<ShardedPubSubConnection, BoxError> {
        let (pushes, received) = unbounded_channel();
        let settings = ClusterConfig::new()
            .set_connection_timeout(self.config.connection_timeout())
            .set_response_timeout(self.config.response_timeout())
            .set_push_sender(pushes);
        let connection = self
            .client
            .get_async_connection_with_config(settings)
            .await?;
        Ok(ShardedPubSubConnection {
            connection,
            pushes: received,
            listening: HashSet::new(),
        })
    }

    fn channel(&self, poll: PollId) -> String {
        self.keys.channel(poll)
    }

    fn poll_of_channel(&self, channel: &str) -> Option<PollId> {
        self.keys.poll_of_channel(channel)
    }

    fn message_channel<'m>(&self, message: &'m ShardMessage) -> &'m str {
        &message.channel
    }

    fn decode(&self, message: &ShardMessage) -> Result<ResultsEvent, BoxError> {
        Ok(serde_json::from_slice(&message.payload)?)
    }

    /// Also the gauge [`REDIS_PUBSUB_CONNECTED`] (one per process: with
    /// several broadcasters, the last to change wins).
    fn set_connected(&self, connected: bool) {
        metrics::gauge!(REDIS_PUBSUB_CONNECTED).set(if connected { 1.0 } else { 0.0 });
    }
}

/// A message of a sharded channel (`smessage`).
#[derive(Debug)]
pub(crate) struct ShardMessage {
    /// The channel it came on.
    channel: String,
    /// What was published.
    payload: Vec<u8>,
}

/// One cluster connection listening to sharded channels, and the push
/// messages of all its nodes.
pub(crate) struct ShardedPubSubConnection {
    /// Sends `SSUBSCRIBE`, `SUNSUBSCRIBE` (each to the shard of its channel)
    /// and `PING` (to every master).
    connection: ClusterConnection,
    /// Every node's push messages: the messages, subscription changes, and a
    /// `Disconnection` when a node's connection closes.
    pushes: UnboundedReceiver<PushInfo>,
    /// The channels subscribed (or being subscribed) and still wanted: the
    /// cluster unsubscribing one of them means its slot moved.
    listening: HashSet<String>,
}

impl RemoteConnection for ShardedPubSubConnection {
    type Message = ShardMessage;

    /// One `SSUBSCRIBE` per channel, all at once: channels of different
    /// slots cannot share one command on a cluster.
    async fn listen(&mut self, channels: &[String]) -> Result<(), BoxError> {
        self.listening.extend(channels.iter().cloned());
        let connection = &self.connection;
        try_join_all(channels.iter().map(|channel| {
            let mut connection = connection.clone();
            async move { connection.ssubscribe(channel).await }
        }))
        .await?;
        Ok(())
    }

    async fn unlisten(&mut self, channel: &str) -> Result<(), BoxError> {
        self.listening.remove(channel);
        Ok(self.connection.sunsubscribe(channel).await?)
    }

    async fn ping(&mut self) -> Result<(), BoxError> {
        redis::cmd("PING")
            .query_async::<Value>(&mut self.connection)
            .await?;
        Ok(())
    }

    /// Cancel-safe: the push channel keeps what it has not handed out.
    async fn next_message(&mut self) -> Result<Option<ShardMessage>, BoxError> {
        loop {
            let Some(push) = self.pushes.recv().await else {
                return Ok(None);
            };
            match push.kind {
                PushKind::SMessage => {
                    if let [channel, payload] = &push.data[..] {
                        if let (Some(channel), Some(payload)) = (bytes(channel), bytes(payload)) {
                            return Ok(Some(ShardMessage {
                                channel: String::from_utf8_lossy(channel).into_owned(),
                                payload: payload.to_vec(),
                            }));
                        }
                    }
                    tracing::warn!(push = ?push.data, "malformed smessage skipped");
                }
                PushKind::Disconnection => {
                    return Err("a cluster node's connection closed".into());
                }
                PushKind::SUnsubscribe => {
                    let channel = push.data.first().and_then(bytes);
                    let channel = channel.map(String::from_utf8_lossy);
                    if let Some(channel) = channel.filter(|c| self.listening.contains(c.as_ref())) {
                        return Err(format!(
                            "the cluster unsubscribed {channel}: its slot moved to another shard"
                        )
                        .into());
                    }
                }
                _ => {}
            }
        }
    }
}

/// The bytes of a bulk or simple string.
fn bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.as_bytes()),
        _ => None,
    }
}

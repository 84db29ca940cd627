//! [`RedisPubSub`]: Redis Pub/Sub as the [`Remote`] of a
//! [`Relay`](polling_core::relay::Relay), and [`PubSubConnection`], its
//! listening connection.
//!
//! Channels are `{prefix}poll:{poll_id}` (see [`Keys`]); messages carry
//! [`ResultsEvent`]s as JSON. The connection subscribes with `SUBSCRIBE`,
//! unsubscribes with `UNSUBSCRIBE` and checks itself with `PING`; its
//! state is also the gauge [`REDIS_PUBSUB_CONNECTED`].

use futures_util::StreamExt;
use polling_core::metrics::REDIS_PUBSUB_CONNECTED;
use polling_core::relay::{Remote, RemoteConnection};
use polling_core::{BoxError, PollId, ResultsEvent};
use redis::aio::{PubSubSink, PubSubStream};
use redis::{Client, Msg};

use crate::keys::Keys;

/// Opens Pub/Sub connections to one Redis and names the channels under one
/// prefix.
#[derive(Debug)]
pub(crate) struct RedisPubSub {
    /// Opens the Pub/Sub connections.
    client: Client,
    /// Names the poll channels and reads the poll back from a channel.
    keys: Keys,
}

impl RedisPubSub {
    /// Connections through `client`, channels named by `keys`.
    pub(crate) fn new(client: Client, keys: Keys) -> Self {
        Self { client, keys }
    }
}

impl Remote for RedisPubSub {
    type Connection = PubSubConnection;

    const CONNECTION: &'static str = "redis pub/sub connection";

    async fn connect(&self) -> Result<PubSubConnection, BoxError> {
        let (sink, messages) = self.client.get_async_pubsub().await?.split();
        Ok(PubSubConnection { sink, messages })
    }

    fn channel(&self, poll: PollId) -> String {
        self.keys.channel(poll)
    }

    fn poll_of_channel(&self, channel: &str) -> Option<PollId> {
        self.keys.poll_of_channel(channel)
    }

    fn message_channel<'m>(&self, message: &'m Msg) -> &'m str {
        message.get_channel_name()
    }

    fn decode(&self, message: &Msg) -> Result<ResultsEvent, BoxError> {
        Ok(serde_json::from_slice(message.get_payload_bytes())?)
    }

    /// Also the gauge [`REDIS_PUBSUB_CONNECTED`] (one per process: with
    /// several broadcasters, the last to change wins).
    fn set_connected(&self, connected: bool) {
        metrics::gauge!(REDIS_PUBSUB_CONNECTED).set(if connected { 1.0 } else { 0.0 });
    }
}

/// One Pub/Sub connection, split: commands go through the sink while the
/// messages arrive on the stream.
pub(crate) struct PubSubConnection {
    /// Sends `SUBSCRIBE`, `UNSUBSCRIBE` and `PING`.
    sink: PubSubSink,
    /// The messages of the subscribed channels.
    messages: PubSubStream,
}

impl RemoteConnection for PubSubConnection {
    type Message = Msg;

    async fn listen(&mut self, channels: &[String]) -> Result<(), BoxError> {
        Ok(self.sink.subscribe(channels).await?)
    }

    async fn unlisten(&mut self, channel: &str) -> Result<(), BoxError> {
        Ok(self.sink.unsubscribe(channel).await?)
    }

    async fn ping(&mut self) -> Result<(), BoxError> {
        self.sink.ping::<redis::Value>().await?;
        Ok(())
    }

    /// Cancel-safe: the stream keeps what it has not handed out.
    async fn next_message(&mut self) -> Result<Option<Msg>, BoxError> {
        Ok(self.messages.next().await)
    }
}

//! [`Listener`]: the background task that owns a broadcaster's one Redis
//! Pub/Sub connection.
//!
//! The task keeps the connection's subscriptions equal to the polls that have
//! local [`Subscriptions`], and hands every message it receives to them:
//!
//! * A [`Reconcile`] command, sent when a poll gains a subscriber or loses its
//!   last one, makes it `SUBSCRIBE` or `UNSUBSCRIBE` the poll's channel. A
//!   subscriber waits for the acknowledgement, so events published after
//!   `subscribe` returns are received.
//! * A `PING` every [`PING_INTERVAL`] finds connections that died silently.
//! * When the connection is lost (closed, or a command failed or timed out),
//!   the task opens a new one after a [`Backoff`] delay, subscribes every poll
//!   that still has local subscribers in one `SUBSCRIBE`, and then sends them
//!   a [`ResultsEvent::Resync`]: Pub/Sub delivers at most once, and events
//!   published while the connection was down are gone.
//! * While it is down, a subscriber is acknowledged at once (its poll is
//!   subscribed, and resynced, when the connection is back), except during a
//!   connection attempt, whose outcome it waits for.
//!
//! The task stops when every [`RedisBroadcaster`](crate::RedisBroadcaster)
//! clone is dropped: the command channel then closes.

use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use polling_core::metrics::{
    BROADCAST_RECEIVE_ERRORS_TOTAL, BROADCAST_RECONNECTS_TOTAL, REDIS_PUBSUB_CONNECTED,
};
use polling_core::relay::{Backoff, Reconcile, Subscriptions};
use polling_core::{BoxError, PollId, ResultsEvent};
use redis::aio::{PubSub, PubSubSink};
use redis::{Client, Msg, RedisResult};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::oneshot;
use tokio::time::{Instant, MissedTickBehavior};

use crate::config::RedisConfig;
use crate::keys::Keys;

/// How often an idle connection is checked with a `PING`.
pub(crate) const PING_INTERVAL: Duration = Duration::from_secs(5);

/// What the listener reports to its broadcaster.
#[derive(Debug, Default)]
pub(crate) struct ListenerStats {
    /// Pub/Sub connections opened so far (1 until a connection is lost).
    pub(crate) connections: AtomicU64,
    /// Whether the connection is up and its subscriptions are in place.
    pub(crate) connected: AtomicBool,
}

/// Why [`Listener::serve`] returned.
enum Exit {
    /// Every broadcaster clone is gone.
    Shutdown,
    /// The connection is unusable; open another one.
    Lost(BoxError),
}

/// The task owning the Pub/Sub connection. See the [module docs](self).
pub(crate) struct Listener {
    /// Opens the Pub/Sub connections.
    client: Client,
    /// Names the poll channels and reads the poll back from a channel.
    keys: Keys,
    /// The local subscribers, shared with the broadcaster.
    subscriptions: Arc<Subscriptions>,
    /// The broadcaster's commands; `None` once every clone is dropped.
    commands: UnboundedReceiver<Reconcile>,
    /// Shared with the broadcaster, for its accessors.
    stats: Arc<ListenerStats>,
    /// The longest wait for a reply to `SUBSCRIBE`, `UNSUBSCRIBE` or `PING`.
    response_timeout: Duration,
    /// The longest wait for a connection attempt.
    connection_timeout: Duration,
    /// The delays between connection attempts.
    backoff: Backoff,
    /// Polls whose subscribers may have missed events and get a `Resync` once
    /// a connection has subscribed them again.
    missed: HashSet<PollId>,
}

impl Listener {
    /// Starts the listener task on the current Tokio runtime.
    pub(crate) fn spawn(
        client: Client,
        config: &RedisConfig,
        subscriptions: Arc<Subscriptions>,
        commands: UnboundedReceiver<Reconcile>,
        stats: Arc<ListenerStats>,
    ) {
        let listener = Self {
            client,
            keys: Keys::new(config.key_prefix()),
            subscriptions,
            commands,
            stats,
            response_timeout: config.response_timeout(),
            connection_timeout: config.connection_timeout(),
            backoff: Backoff::new(config.reconnect_min_delay(), config.reconnect_max_delay()),
            missed: HashSet::new(),
        };
        listener.set_connected(false);
        tokio::spawn(listener.run());
    }

    async fn run(mut self) {
        let mut after_failure = false;
        loop {
            let Some((pubsub, waiting)) = self.connect(after_failure).await else {
                return;
            };
            match self.serve(pubsub, waiting).await {
                Exit::Shutdown => return,
                Exit::Lost(error) => {
                    tracing::warn!(
                        error = %error,
                        "redis pub/sub connection lost; reconnecting"
                    );
                    self.missed.extend(self.subscriptions.all());
                    after_failure = true;
                }
            }
        }
    }

    /// Opens a connection, with a backoff delay before every attempt but a
    /// first one that follows no failure. Returns it with the subscribers
    /// that wait for it, or `None` when the broadcaster is gone.
    async fn connect(&mut self, mut delay_first: bool) -> Option<(PubSub, Vec<Waiting>)> {
        let mut waiting = Vec::new();
        loop {
            if delay_first {
                let mut sleep = pin!(tokio::time::sleep(self.backoff.next_delay()));
                loop {
                    tokio::select! {
                        () = &mut sleep => break,
                        command = self.commands.recv() => self.acknowledge_while_down(command?),
                    }
                }
            }
            delay_first = true;

            // In a block: the attempt borrows the client until it is dropped.
            let outcome = {
                let mut attempt = pin!(tokio::time::timeout(
                    self.connection_timeout,
                    self.client.get_async_pubsub()
                ));
                loop {
                    tokio::select! {
                        outcome = &mut attempt => break outcome,
                        command = self.commands.recv() => {
                            let (poll, ack) = command?.into_parts();
                            waiting.extend(ack.map(|ack| Waiting { poll, ack }));
                        }
                    }
                }
            };
            match outcome {
                Ok(Ok(pubsub)) => return Some((pubsub, waiting)),
                Ok(Err(error)) => {
                    tracing::debug!(error = %error, "redis pub/sub connection attempt failed");
                }
                Err(_) => tracing::debug!(
                    timeout = ?self.connection_timeout,
                    "redis pub/sub connection attempt timed out"
                ),
            }
            for subscriber in waiting.drain(..) {
                self.release_while_down(subscriber);
            }
        }
    }

    /// Subscribes every poll with local subscribers on `pubsub`, then serves
    /// commands and messages until the connection is lost or the broadcaster
    /// is gone.
    async fn serve(&mut self, pubsub: PubSub, waiting: Vec<Waiting>) -> Exit {
        let connections = self.stats.connections.fetch_add(1, Ordering::Relaxed) + 1;
        let (mut sink, mut messages) = pubsub.split();
        let mut subscribed = HashSet::new();

        let polls = self.subscriptions.all();
        if !polls.is_empty() {
            let channels: Vec<String> = polls.iter().map(|&p| self.keys.channel(p)).collect();
            if let Err(error) =
                timed(self.response_timeout, "SUBSCRIBE", sink.subscribe(channels)).await
            {
                for subscriber in waiting {
                    self.release_while_down(subscriber);
                }
                return Exit::Lost(error);
            }
            subscribed.extend(polls.iter().copied());
        }
        for &poll in &polls {
            if self.missed.contains(&poll) {
                self.subscriptions.resync(poll);
            }
        }
        self.missed.clear();
        for subscriber in waiting {
            self.acknowledge(subscriber);
        }
        self.backoff.reset();
        self.set_connected(true);
        if connections > 1 {
            metrics::counter!(BROADCAST_RECONNECTS_TOTAL).increment(1);
            tracing::info!(
                polls = polls.len(),
                "redis pub/sub connection restored; its polls are resubscribed and resynced"
            );
        } else {
            tracing::debug!(polls = polls.len(), "redis pub/sub connection ready");
        }

        let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let exit = loop {
            tokio::select! {
                message = messages.next() => match message {
                    Some(message) => self.dispatch(&message),
                    None => break Exit::Lost("the server closed the connection".into()),
                },
                command = self.commands.recv() => {
                    let Some((poll, ack)) = command.map(Reconcile::into_parts) else {
                        break Exit::Shutdown;
                    };
                    let outcome = self.reconcile(&mut sink, &mut subscribed, poll).await;
                    if let Some(ack) = ack {
                        self.acknowledge(Waiting { poll, ack });
                    }
                    if let Err(error) = outcome {
                        break Exit::Lost(error);
                    }
                }
                _ = ping.tick() => {
                    let pong = timed(self.response_timeout, "PING", sink.ping::<redis::Value>());
                    if let Err(error) = pong.await {
                        break Exit::Lost(error);
                    }
                }
            }
        };
        self.set_connected(false);
        exit
    }

    /// Records whether the connection is up with its subscriptions in place,
    /// for [`RedisBroadcaster::is_listening`](crate::RedisBroadcaster::is_listening)
    /// and the gauge [`REDIS_PUBSUB_CONNECTED`].
    fn set_connected(&self, connected: bool) {
        self.stats.connected.store(connected, Ordering::Relaxed);
        metrics::gauge!(REDIS_PUBSUB_CONNECTED).set(if connected { 1.0 } else { 0.0 });
    }

    /// Subscribes or unsubscribes `poll`'s channel so that it is subscribed
    /// exactly when the poll has local subscribers.
    async fn reconcile(
        &self,
        sink: &mut PubSubSink,
        subscribed: &mut HashSet<PollId>,
        poll: PollId,
    ) -> Result<(), BoxError> {
        let wanted = self.subscriptions.contains(poll);
        if wanted == subscribed.contains(&poll) {
            return Ok(());
        }
        let channel = self.keys.channel(poll);
        if wanted {
            timed(self.response_timeout, "SUBSCRIBE", sink.subscribe(channel)).await?;
            subscribed.insert(poll);
        } else {
            timed(
                self.response_timeout,
                "UNSUBSCRIBE",
                sink.unsubscribe(channel),
            )
            .await?;
            subscribed.remove(&poll);
        }
        Ok(())
    }

    /// Hands a message to the subscribers of its poll; logs, counts (in
    /// [`BROADCAST_RECEIVE_ERRORS_TOTAL`]) and skips any message that is not
    /// a well-formed event of the channel's poll.
    fn dispatch(&self, message: &Msg) {
        let channel = message.get_channel_name();
        let Some(poll) = self.keys.poll_of_channel(channel) else {
            metrics::counter!(BROADCAST_RECEIVE_ERRORS_TOTAL).increment(1);
            tracing::warn!(channel, "message on an unknown channel skipped");
            return;
        };
        match serde_json::from_slice::<ResultsEvent>(message.get_payload_bytes()) {
            Ok(event) if event.poll_id() == poll => {
                self.subscriptions.deliver(event);
                return;
            }
            Ok(event) => tracing::warn!(
                channel,
                event_poll_id = %event.poll_id(),
                "event about another poll skipped"
            ),
            Err(error) => tracing::warn!(channel, error = %error, "malformed event skipped"),
        }
        metrics::counter!(BROADCAST_RECEIVE_ERRORS_TOTAL).increment(1);
    }

    /// Lets a subscriber return. If it stopped waiting (its subscribe timed
    /// out), events may have been published between its return and now: its
    /// poll gets a `Resync`.
    fn acknowledge(&self, subscriber: Waiting) {
        if subscriber.ack.send(()).is_err() {
            self.subscriptions.resync(subscriber.poll);
        }
    }

    /// Answers a command while no connection is up (see
    /// [`Listener::release_while_down`]); the next connection subscribes every
    /// poll with subscribers, so there is nothing else to do.
    fn acknowledge_while_down(&mut self, command: Reconcile) {
        if let (poll, Some(ack)) = command.into_parts() {
            self.release_while_down(Waiting { poll, ack });
        }
    }

    /// Lets a subscriber return before its poll could be subscribed: it gets
    /// a `Resync` once a connection has subscribed the poll.
    fn release_while_down(&mut self, subscriber: Waiting) {
        self.missed.insert(subscriber.poll);
        let _ = subscriber.ack.send(());
    }
}

/// A subscriber waiting for its poll to be subscribed.
struct Waiting {
    /// The poll it subscribed to.
    poll: PollId,
    /// Lets it return.
    ack: oneshot::Sender<()>,
}

/// `operation`, failing after `timeout`; `what` names it in the error.
async fn timed<T>(
    timeout: Duration,
    what: &'static str,
    operation: impl Future<Output = RedisResult<T>>,
) -> Result<T, BoxError> {
    match tokio::time::timeout(timeout, operation).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(error.into()),
        Err(_) => Err(format!("{what} got no reply within {timeout:?}").into()),
    }
}

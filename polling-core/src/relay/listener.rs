//! [`Listener`]: the background task that owns a broadcaster's one listening
//! connection to a [`Remote`] service.
//!
//! The task keeps the connection's channels equal to the polls that have
//! local [`Subscriptions`], and hands every message it receives to them:
//!
//! * A [`Reconcile`] command, sent when a poll gains a subscriber or loses its
//!   last one, makes it listen to or unlisten the poll's channel. A
//!   subscriber waits for the acknowledgement, so events published after
//!   `subscribe` returns are received.
//! * A ping every [`ping_interval`](RelayConfig::ping_interval) finds
//!   connections that died silently.
//! * When the connection is lost (closed, or a command failed or timed out),
//!   the task opens a new one after a [`Backoff`] delay, listens to every
//!   poll that still has local subscribers in one round trip, and then sends
//!   them a [`ResultsEvent::Resync`](crate::ResultsEvent::Resync): the services deliver at most once, and
//!   events published while no connection listened are gone.
//! * While it is down, a subscriber is acknowledged at once (its poll is
//!   listened to, and resynced, when the connection is back), except during a
//!   connection attempt, whose outcome it waits for.
//!
//! The task stops when every [`Relay`](super::Relay) clone is dropped (the
//! command channel then closes), and then calls [`Remote::close`].
//!
//! # Example
//!
//! The listener is started by [`Relay::spawn`](super::Relay::spawn); see
//! [the module](super) for how the pieces fit.

use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::oneshot;
use tokio::time::{Instant, MissedTickBehavior};

use crate::domain::PollId;
use crate::error::BoxError;
use crate::metrics::{BROADCAST_RECEIVE_ERRORS_TOTAL, BROADCAST_RECONNECTS_TOTAL};

use super::backoff::Backoff;
use super::config::RelayConfig;
use super::connection::RemoteConnection;
use super::reconcile::Reconcile;
use super::remote::Remote;
use super::subscriptions::Subscriptions;

/// What the listener reports to its [`Relay`](super::Relay).
#[derive(Debug, Default)]
pub(crate) struct ListenerStats {
    /// Listening connections opened so far (1 until a connection is lost).
    pub(crate) connections: AtomicU64,
    /// Whether the connection is up and its channels are listened to.
    pub(crate) connected: AtomicBool,
}

/// Why [`Listener::serve`] returned.
enum Exit {
    /// Every relay clone is gone.
    Shutdown,
    /// The connection is unusable; open another one.
    Lost(BoxError),
}

/// The task owning the listening connection. See the [module docs](self).
pub(crate) struct Listener<R> {
    /// Opens the connections, names the channels and reads the messages.
    remote: R,
    /// The local subscribers, shared with the relay.
    subscriptions: Arc<Subscriptions>,
    /// The relay's commands; `None` once every clone is dropped.
    commands: UnboundedReceiver<Reconcile>,
    /// Shared with the relay, for its accessors.
    stats: Arc<ListenerStats>,
    /// The longest wait for a connection attempt.
    connect_timeout: Duration,
    /// The longest wait for a reply to a listen, unlisten or ping.
    response_timeout: Duration,
    /// How often an idle connection is pinged.
    ping_interval: Duration,
    /// The delays between connection attempts.
    backoff: Backoff,
    /// Polls whose subscribers may have missed events and get a `Resync` once
    /// a connection listens to them again.
    missed: HashSet<PollId>,
}

impl<R: Remote> Listener<R> {
    /// Starts the listener task on the current Tokio runtime.
    pub(crate) fn spawn(
        remote: R,
        config: &RelayConfig,
        subscriptions: Arc<Subscriptions>,
        commands: UnboundedReceiver<Reconcile>,
        stats: Arc<ListenerStats>,
    ) {
        let listener = Self {
            remote,
            subscriptions,
            commands,
            stats,
            connect_timeout: config.connect_timeout,
            response_timeout: config.response_timeout,
            ping_interval: config.ping_interval,
            backoff: Backoff::new(config.reconnect_min_delay, config.reconnect_max_delay),
            missed: HashSet::new(),
        };
        listener.set_connected(false);
        tokio::spawn(listener.run());
    }

    async fn run(mut self) {
        let mut after_failure = false;
        loop {
            let Some((connection, waiting)) = self.connect(after_failure).await else {
                break;
            };
            match self.serve(connection, waiting).await {
                Exit::Shutdown => break,
                Exit::Lost(error) => {
                    tracing::warn!(
                        error = %error,
                        "{} lost; reconnecting",
                        R::CONNECTION
                    );
                    self.missed.extend(self.subscriptions.all());
                    after_failure = true;
                }
            }
        }
        self.remote.close().await;
    }

    /// Opens a connection, with a backoff delay before every attempt but a
    /// first one that follows no failure. Returns it with the subscribers
    /// that wait for it, or `None` when the relay is gone.
    async fn connect(&mut self, mut delay_first: bool) -> Option<(R::Connection, Vec<Waiting>)> {
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

            // In a block: the attempt borrows the remote until it is dropped.
            let outcome = {
                let mut attempt = pin!(timed(
                    self.connect_timeout,
                    "a connection attempt",
                    self.remote.connect()
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
                Ok(connection) => return Some((connection, waiting)),
                Err(error) => {
                    tracing::debug!(error = %error, "{} attempt failed", R::CONNECTION);
                }
            }
            for subscriber in waiting.drain(..) {
                self.release_while_down(subscriber);
            }
        }
    }

    /// Listens to every poll with local subscribers on `connection`, then
    /// serves commands and messages until the connection is lost or the
    /// relay is gone.
    async fn serve(&mut self, mut connection: R::Connection, waiting: Vec<Waiting>) -> Exit {
        let connections = self.stats.connections.fetch_add(1, Ordering::Relaxed) + 1;
        let mut listening = HashSet::new();

        let polls = self.subscriptions.all();
        if !polls.is_empty() {
            let channels: Vec<String> = polls.iter().map(|&p| self.remote.channel(p)).collect();
            let listen = connection.listen(&channels);
            if let Err(error) = timed(self.response_timeout, "listen", listen).await {
                for subscriber in waiting {
                    self.release_while_down(subscriber);
                }
                return Exit::Lost(error);
            }
            listening.extend(polls.iter().copied());
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
                "{} restored; its polls are listened to again and resynced",
                R::CONNECTION
            );
        } else {
            tracing::debug!(polls = polls.len(), "{} ready", R::CONNECTION);
        }

        let mut ping =
            tokio::time::interval_at(Instant::now() + self.ping_interval, self.ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let exit = loop {
            // `next_message` is cancel-safe (see `RemoteConnection`): a message
            // half read when another branch wins is kept for the next call.
            tokio::select! {
                received = connection.next_message() => match received {
                    Ok(Some(message)) => self.dispatch(&message),
                    Ok(None) => break Exit::Lost("the server closed the connection".into()),
                    Err(error) => break Exit::Lost(error),
                },
                command = self.commands.recv() => {
                    let Some((poll, ack)) = command.map(Reconcile::into_parts) else {
                        break Exit::Shutdown;
                    };
                    let outcome = self.reconcile(&mut connection, &mut listening, poll).await;
                    if let Some(ack) = ack {
                        self.acknowledge(Waiting { poll, ack });
                    }
                    if let Err(error) = outcome {
                        break Exit::Lost(error);
                    }
                }
                _ = ping.tick() => {
                    let pong = timed(self.response_timeout, "ping", connection.ping());
                    if let Err(error) = pong.await {
                        break Exit::Lost(error);
                    }
                }
            }
        };
        self.set_connected(false);
        exit
    }

    /// Records whether the connection is up with its channels listened to,
    /// for [`Relay::is_listening`](super::Relay::is_listening) and
    /// [`Remote::set_connected`].
    fn set_connected(&self, connected: bool) {
        self.stats.connected.store(connected, Ordering::Relaxed);
        self.remote.set_connected(connected);
    }

    /// Listens to or unlistens `poll`'s channel so that it is listened to
    /// exactly when the poll has local subscribers.
    async fn reconcile(
        &self,
        connection: &mut R::Connection,
        listening: &mut HashSet<PollId>,
        poll: PollId,
    ) -> Result<(), BoxError> {
        let wanted = self.subscriptions.contains(poll);
        if wanted == listening.contains(&poll) {
            return Ok(());
        }
        let channel = self.remote.channel(poll);
        if wanted {
            let channels = [channel];
            timed(
                self.response_timeout,
                "listen",
                connection.listen(&channels),
            )
            .await?;
            listening.insert(poll);
        } else {
            let unlisten = connection.unlisten(&channel);
            timed(self.response_timeout, "unlisten", unlisten).await?;
            listening.remove(&poll);
        }
        Ok(())
    }

    /// Hands a message to the subscribers of its poll; logs, counts (in
    /// [`BROADCAST_RECEIVE_ERRORS_TOTAL`]) and skips any message that is not
    /// a well-formed event of the channel's poll.
    fn dispatch(&self, message: &<R::Connection as RemoteConnection>::Message) {
        let channel = self.remote.message_channel(message);
        let Some(poll) = self.remote.poll_of_channel(channel) else {
            metrics::counter!(BROADCAST_RECEIVE_ERRORS_TOTAL).increment(1);
            tracing::warn!(channel, "message on an unknown channel skipped");
            return;
        };
        match self.remote.decode(message) {
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
    /// [`Listener::release_while_down`]); the next connection listens to
    /// every poll with subscribers, so there is nothing else to do.
    fn acknowledge_while_down(&mut self, command: Reconcile) {
        if let (poll, Some(ack)) = command.into_parts() {
            self.release_while_down(Waiting { poll, ack });
        }
    }

    /// Lets a subscriber return before its poll could be listened to: it
    /// gets a `Resync` once a connection listens to the poll.
    fn release_while_down(&mut self, subscriber: Waiting) {
        self.missed.insert(subscriber.poll);
        let _ = subscriber.ack.send(());
    }
}

/// A subscriber waiting for its poll to be listened to.
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
    operation: impl Future<Output = Result<T, BoxError>>,
) -> Result<T, BoxError> {
    match tokio::time::timeout(timeout, operation).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("{what} got no reply within {timeout:?}").into()),
    }
}

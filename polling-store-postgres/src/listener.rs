//! [`Listener`]: the background task that owns a broadcaster's one
//! `LISTEN` connection.
//!
//! The task keeps the connection's `LISTEN`s equal to the polls that have
//! local [`Subscriptions`], and hands every notification it receives to them:
//!
//! * A [`Reconcile`] command, sent when a poll gains a subscriber or loses its
//!   last one, makes it `LISTEN` or `UNLISTEN` the poll's channel. A
//!   subscriber waits for the acknowledgement, so events published after
//!   `subscribe` returns are received.
//! * A `SELECT 1` every [`ping_interval`](PgBroadcasterConfig::ping_interval)
//!   finds connections that died silently.
//! * When the connection is lost (closed, terminated by the server, or a
//!   command failed or timed out), the task opens a new one after a
//!   [`Backoff`] delay, listens to every poll that still has local subscribers
//!   in one statement, and then sends them a [`ResultsEvent::Resync`]:
//!   notifications sent while no connection listened are gone.
//! * While it is down, a subscriber is acknowledged at once (its poll is
//!   listened to, and resynced, when the connection is back), except during a
//!   connection attempt, whose outcome it waits for.
//!
//! The connection comes from a pool of its own (one connection, named
//! [`LISTENER_APPLICATION_NAME`] in `pg_stat_activity`), so it never takes a
//! slot of the pool the votes use. The task stops, and closes that pool, when
//! every [`PgBroadcaster`](crate::PgBroadcaster) clone is dropped: the command
//! channel then closes.

use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use polling_core::metrics::{BROADCAST_RECEIVE_ERRORS_TOTAL, BROADCAST_RECONNECTS_TOTAL};
use polling_core::relay::{Backoff, Reconcile, Subscriptions};
use polling_core::{BoxError, PollId, ResultsEvent};
use sqlx::postgres::{PgListener, PgNotification};
use sqlx::{Executor, PgPool};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::oneshot;
use tokio::time::{Instant, MissedTickBehavior};

use crate::broadcaster_config::PgBroadcasterConfig;
use crate::channel::{channel, poll_of_channel};

/// The `application_name` of the listening connection.
pub const LISTENER_APPLICATION_NAME: &str = "polling-listener";

/// What the listener reports to its broadcaster.
#[derive(Debug, Default)]
pub(crate) struct ListenerStats {
    /// Listening connections opened so far (1 until a connection is lost).
    pub(crate) connections: AtomicU64,
    /// Whether the connection is up and its `LISTEN`s are in place.
    pub(crate) connected: AtomicBool,
}

/// Why [`Listener::serve`] returned.
enum Exit {
    /// Every broadcaster clone is gone.
    Shutdown,
    /// The connection is unusable; open another one.
    Lost(BoxError),
}

/// The task owning the listening connection. See the [module docs](self).
pub(crate) struct Listener {
    /// The one-connection pool the listening connection comes from.
    pool: PgPool,
    /// The local subscribers, shared with the broadcaster.
    subscriptions: Arc<Subscriptions>,
    /// The broadcaster's commands; `None` once every clone is dropped.
    commands: UnboundedReceiver<Reconcile>,
    /// Shared with the broadcaster, for its accessors.
    stats: Arc<ListenerStats>,
    /// The longest wait for a connection, `LISTEN`, `UNLISTEN` or `SELECT 1`.
    response_timeout: Duration,
    /// How often an idle connection is checked.
    ping_interval: Duration,
    /// The delays between connection attempts.
    backoff: Backoff,
    /// Polls whose subscribers may have missed events and get a `Resync` once
    /// a connection listens to them again.
    missed: HashSet<PollId>,
}

impl Listener {
    /// Starts the listener task on the current Tokio runtime, with
    /// connections from `pool` (of its own).
    pub(crate) fn spawn(
        pool: PgPool,
        config: &PgBroadcasterConfig,
        subscriptions: Arc<Subscriptions>,
        commands: UnboundedReceiver<Reconcile>,
        stats: Arc<ListenerStats>,
    ) {
        let listener = Self {
            pool,
            subscriptions,
            commands,
            stats,
            response_timeout: config.response_timeout,
            ping_interval: config.ping_interval,
            backoff: Backoff::new(config.reconnect_min_delay, config.reconnect_max_delay),
            missed: HashSet::new(),
        };
        tokio::spawn(listener.run());
    }

    async fn run(mut self) {
        let mut after_failure = false;
        loop {
            let Some((listener, waiting)) = self.connect(after_failure).await else {
                break;
            };
            match self.serve(listener, waiting).await {
                Exit::Shutdown => break,
                Exit::Lost(error) => {
                    tracing::warn!(
                        error = %error,
                        "postgres listening connection lost; reconnecting"
                    );
                    self.missed.extend(self.subscriptions.all());
                    after_failure = true;
                }
            }
        }
        // The listener (dropped by now) gives its connection back with an
        // `UNLISTEN *`; closing waits for that and then closes it, so the
        // database is left with no session of this broadcaster.
        self.pool.close().await;
    }

    /// Opens a connection, with a backoff delay before every attempt but a
    /// first one that follows no failure. Returns it with the subscribers
    /// that wait for it, or `None` when the broadcaster is gone.
    async fn connect(&mut self, mut delay_first: bool) -> Option<(PgListener, Vec<Waiting>)> {
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

            // In a block: the attempt borrows the pool until it is dropped.
            let outcome = {
                let mut attempt = pin!(timed(
                    self.response_timeout,
                    "a connection attempt",
                    PgListener::connect_with(&self.pool)
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
                Ok(mut listener) => {
                    // A lost connection is ours to replace, with backoff
                    // and a resync, not the listener's to hide.
                    listener.eager_reconnect(false);
                    return Some((listener, waiting));
                }
                Err(error) => {
                    tracing::debug!(error = %error, "postgres listening connection attempt failed");
                }
            }
            for subscriber in waiting.drain(..) {
                self.release_while_down(subscriber);
            }
        }
    }

    /// Listens to every poll with local subscribers on `listener`, then
    /// serves commands and notifications until the connection is lost or the
    /// broadcaster is gone.
    async fn serve(&mut self, mut listener: PgListener, waiting: Vec<Waiting>) -> Exit {
        let connections = self.stats.connections.fetch_add(1, Ordering::Relaxed) + 1;
        let mut listening = HashSet::new();

        let polls = self.subscriptions.all();
        if !polls.is_empty() {
            let channels: Vec<String> = polls.iter().map(|&p| channel(p)).collect();
            let listen = listener.listen_all(channels.iter().map(String::as_str));
            if let Err(error) = timed(self.response_timeout, "LISTEN", listen).await {
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
                "postgres listening connection restored; its polls are listened to again and resynced"
            );
        } else {
            tracing::debug!(polls = polls.len(), "postgres listening connection ready");
        }

        let mut ping =
            tokio::time::interval_at(Instant::now() + self.ping_interval, self.ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // `try_recv` is cancel-safe: a notification half read when another
        // branch wins stays buffered for the next call.
        let exit = loop {
            tokio::select! {
                received = listener.try_recv() => match received {
                    Ok(Some(notification)) => self.dispatch(&notification),
                    Ok(None) => break Exit::Lost("the server closed the connection".into()),
                    Err(error) => break Exit::Lost(error.into()),
                },
                command = self.commands.recv() => {
                    let Some((poll, ack)) = command.map(Reconcile::into_parts) else {
                        break Exit::Shutdown;
                    };
                    let outcome = self.reconcile(&mut listener, &mut listening, poll).await;
                    if let Some(ack) = ack {
                        self.acknowledge(Waiting { poll, ack });
                    }
                    if let Err(error) = outcome {
                        break Exit::Lost(error);
                    }
                }
                _ = ping.tick() => {
                    let pong = timed(self.response_timeout, "SELECT 1", listener.execute("SELECT 1"));
                    if let Err(error) = pong.await {
                        break Exit::Lost(error);
                    }
                }
            }
        };
        self.set_connected(false);
        exit
    }

    /// Records whether the connection is up with its `LISTEN`s in place, for
    /// [`PgBroadcaster::is_listening`](crate::PgBroadcaster::is_listening).
    fn set_connected(&self, connected: bool) {
        self.stats.connected.store(connected, Ordering::Relaxed);
    }

    /// Listens to or unlistens `poll`'s channel so that it is listened to
    /// exactly when the poll has local subscribers.
    async fn reconcile(
        &self,
        listener: &mut PgListener,
        listening: &mut HashSet<PollId>,
        poll: PollId,
    ) -> Result<(), BoxError> {
        let wanted = self.subscriptions.contains(poll);
        if wanted == listening.contains(&poll) {
            return Ok(());
        }
        let channel = channel(poll);
        if wanted {
            timed(self.response_timeout, "LISTEN", listener.listen(&channel)).await?;
            listening.insert(poll);
        } else {
            timed(
                self.response_timeout,
                "UNLISTEN",
                listener.unlisten(&channel),
            )
            .await?;
            listening.remove(&poll);
        }
        Ok(())
    }

    /// Hands a notification to the subscribers of its poll; logs, counts (in
    /// [`BROADCAST_RECEIVE_ERRORS_TOTAL`]) and skips any that is not a
    /// well-formed event of the channel's poll.
    fn dispatch(&self, notification: &PgNotification) {
        let channel = notification.channel();
        let Some(poll) = poll_of_channel(channel) else {
            metrics::counter!(BROADCAST_RECEIVE_ERRORS_TOTAL).increment(1);
            tracing::warn!(channel, "notification on an unknown channel skipped");
            return;
        };
        match serde_json::from_str::<ResultsEvent>(notification.payload()) {
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
    operation: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, BoxError> {
    match tokio::time::timeout(timeout, operation).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(error.into()),
        Err(_) => Err(format!("{what} got no reply within {timeout:?}").into()),
    }
}

//! [`Relay`]: the subscribing half of a broadcaster over a [`Remote`]
//! service, as the broadcaster holds it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{self, UnboundedSender};

use crate::broadcaster::EventStream;
use crate::domain::PollId;
use crate::error::{PollError, Result};

use super::config::RelayConfig;
use super::listener::{Listener, ListenerStats};
use super::reconcile::Reconcile;
use super::remote::Remote;
use super::subscriptions::Subscriptions;

/// The local subscribers of a remote broadcaster and the task listening for
/// them. Dropping it stops the task, and the subscribers' streams then end.
///
/// It owns the local [`Subscriptions`] and the command channel of the
/// listener task it starts, so that a backend's `subscribe` is one call and
/// its health accessors read what the listener reports.
///
/// # Example
///
/// See the [`relay`](super) module for a relay over an in-process service.
#[derive(Debug)]
pub struct Relay {
    /// The local subscribers, shared with the listener.
    subscriptions: Arc<Subscriptions>,
    /// The listener's commands. The only strong sender: dropping it stops
    /// the listener.
    commands: UnboundedSender<Reconcile>,
    /// What the listener reports.
    stats: Arc<ListenerStats>,
    /// How long `subscribe` waits for the listener to listen to the poll
    /// before it returns anyway (a `Resync` then follows the subscription).
    subscribe_timeout: Duration,
    /// Names the listening connection in logs and errors.
    connection: &'static str,
}

impl Relay {
    /// Starts the listener task over `remote` on the current Tokio runtime;
    /// it connects in the background, so this returns at once, even while
    /// the service is down.
    ///
    /// # Panics
    ///
    /// When called outside a Tokio runtime, as `tokio::spawn` does.
    pub fn spawn<R: Remote>(remote: R, config: &RelayConfig) -> Self {
        let subscriptions = Arc::new(Subscriptions::new(config.subscriber_capacity));
        let stats = Arc::new(ListenerStats::default());
        let (commands, receiver) = mpsc::unbounded_channel();
        Listener::spawn(
            remote,
            config,
            Arc::clone(&subscriptions),
            receiver,
            Arc::clone(&stats),
        );
        Self {
            subscriptions,
            commands,
            stats,
            subscribe_timeout: config.subscribe_timeout(),
            connection: R::CONNECTION,
        }
    }

    /// Registers a local subscriber of `poll` and returns its events once
    /// the poll's channel is listened to, or after the
    /// [subscribe timeout](RelayConfig::subscribe_timeout) (or at once while
    /// the connection is down): the stream then starts with a `Resync` once
    /// the channel is listened to.
    ///
    /// # Errors
    ///
    /// [`PollError::Unavailable`] when the listener task has stopped (its
    /// runtime is shutting down).
    pub async fn subscribe(&self, poll: PollId) -> Result<EventStream> {
        let events = self
            .subscriptions
            .subscribe(poll, self.commands.downgrade());
        let (command, listening) = Reconcile::subscribed(poll);
        if self.commands.send(command).is_err() {
            return Err(PollError::unavailable(format!(
                "the task of the {} has stopped",
                self.connection
            )));
        }
        // Either way the stream is good: once the poll is listened to, a
        // late acknowledgement turns into a `Resync` (see the listener).
        if tokio::time::timeout(self.subscribe_timeout, listening)
            .await
            .is_err()
        {
            tracing::debug!(
                poll_id = %poll,
                "{}: channel still pending; the subscriber gets a resync once it is in place",
                self.connection
            );
        }
        Ok(events)
    }

    /// How many listening connections were opened so far: 1, plus one per
    /// reconnect. Never more than one is open at a time.
    pub fn connections_established(&self) -> u64 {
        self.stats.connections.load(Ordering::Relaxed)
    }

    /// Whether the listening connection is up with its channels in place
    /// (for readiness checks).
    pub fn is_listening(&self) -> bool {
        self.stats.connected.load(Ordering::Relaxed)
    }
}

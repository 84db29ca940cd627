//! [`Subscriptions`]: the local subscribers of each poll, and the stream each
//! of them holds.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};

use crate::broadcaster::{resyncing_stream, EventStream};
use crate::domain::{PollId, ResultsEvent};
use crate::metrics::BROADCAST_RESYNCS_TOTAL;
use futures_util::stream::{BoxStream, Stream, StreamExt};
use tokio::sync::broadcast;
use tokio::sync::mpsc::WeakUnboundedSender;

use super::reconcile::Reconcile;

/// The channel of one poll with local subscribers.
#[derive(Debug)]
struct Entry {
    /// Where the listener sends the poll's events.
    sender: broadcast::Sender<ResultsEvent>,
    /// The live [`Subscription`]s of the poll; the entry goes at zero.
    subscribers: usize,
}

/// The polls that have local subscribers, each with its channel.
///
/// One tokio broadcast channel per poll with local subscribers, counted, as in
/// [`LocalBroadcaster`](crate::memory::LocalBroadcaster): the listener sends
/// what the remote service delivers into it, and a subscriber that falls more
/// than the capacity behind skips events and gets one
/// [`ResultsEvent::Resync`]. When a poll's last subscription is dropped, the
/// poll is forgotten and the listener is sent a [`Reconcile`] to stop
/// listening to its channel.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use futures_util::{FutureExt, StreamExt};
/// use polling_core::relay::Subscriptions;
/// use polling_core::{PollId, ResultsEvent};
/// use tokio::sync::mpsc;
///
/// let subscriptions = Arc::new(Subscriptions::new(16));
/// let (commands, mut reconciles) = mpsc::unbounded_channel();
/// let poll = PollId::generate();
/// let mut events = subscriptions.subscribe(poll, commands.downgrade());
///
/// // What the listener receives for the poll reaches its subscribers.
/// subscriptions.resync(poll);
/// let event = events.next().now_or_never().flatten();
/// assert_eq!(event, Some(ResultsEvent::Resync { poll_id: poll }));
///
/// // The last subscriber leaving asks the listener to reconcile the poll.
/// drop(events);
/// assert!(!subscriptions.contains(poll));
/// assert_eq!(reconciles.try_recv().map(|command| command.poll()), Ok(poll));
/// ```
#[derive(Debug)]
pub struct Subscriptions {
    /// The entry of every poll with at least one subscriber.
    polls: Mutex<HashMap<PollId, Entry>>,
    /// Events buffered per poll for the slowest subscriber.
    capacity: usize,
}

impl Subscriptions {
    /// No subscribers yet; each poll's channel will buffer `capacity` events.
    pub fn new(capacity: usize) -> Self {
        Self {
            polls: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    fn polls(&self) -> MutexGuard<'_, HashMap<PollId, Entry>> {
        // Entries change whole under the lock, so a poisoned map is consistent.
        self.polls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers one more subscriber of `poll` and returns its stream. When
    /// the stream is dropped, the subscriber is unregistered, and if it was
    /// the poll's last one, `commands` is told to reconcile the poll.
    pub fn subscribe(
        self: &Arc<Self>,
        poll: PollId,
        commands: WeakUnboundedSender<Reconcile>,
    ) -> EventStream {
        let receiver = {
            let mut polls = self.polls();
            let entry = polls.entry(poll).or_insert_with(|| Entry {
                sender: broadcast::channel(self.capacity).0,
                subscribers: 0,
            });
            entry.subscribers += 1;
            entry.sender.subscribe()
        };
        Subscription {
            events: resyncing_stream(receiver, poll),
            poll,
            subscriptions: Arc::downgrade(self),
            commands,
        }
        .boxed()
    }

    /// Unregisters one subscriber of `poll`; whether it was the last.
    fn unsubscribe(&self, poll: PollId) -> bool {
        let mut polls = self.polls();
        let Some(entry) = polls.get_mut(&poll) else {
            return false;
        };
        entry.subscribers = entry.subscribers.saturating_sub(1);
        if entry.subscribers == 0 {
            polls.remove(&poll);
            true
        } else {
            false
        }
    }

    /// Whether `poll` has local subscribers.
    pub fn contains(&self, poll: PollId) -> bool {
        self.polls().contains_key(&poll)
    }

    /// Every poll with local subscribers.
    pub fn all(&self) -> Vec<PollId> {
        self.polls().keys().copied().collect()
    }

    /// Sends `event` to the subscribers of its poll, if any.
    pub fn deliver(&self, event: ResultsEvent) {
        if let Some(entry) = self.polls().get(&event.poll_id()) {
            // An error means no receiver right now: nothing to deliver to.
            let _ = entry.sender.send(event);
        }
    }

    /// Tells the subscribers of `poll` that they may have missed events;
    /// counted in [`BROADCAST_RESYNCS_TOTAL`] (once per poll, however many
    /// subscribers it has).
    pub fn resync(&self, poll: PollId) {
        metrics::counter!(BROADCAST_RESYNCS_TOTAL).increment(1);
        self.deliver(ResultsEvent::Resync { poll_id: poll });
    }
}

/// The events of one poll for one subscriber.
struct Subscription {
    /// The poll's channel, with lagging turned into `Resync`.
    events: BoxStream<'static, ResultsEvent>,
    /// The poll subscribed to.
    poll: PollId,
    /// Where this subscriber is counted; weak, so that the streams end when
    /// the broadcaster is gone.
    subscriptions: Weak<Subscriptions>,
    /// The listener's commands; weak, so that subscriptions do not keep the
    /// listener running after the broadcaster is dropped.
    commands: WeakUnboundedSender<Reconcile>,
}

impl Stream for Subscription {
    type Item = ResultsEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ResultsEvent>> {
        self.events.poll_next_unpin(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let Some(subscriptions) = self.subscriptions.upgrade() else {
            return;
        };
        if subscriptions.unsubscribe(self.poll) {
            if let Some(commands) = self.commands.upgrade() {
                // Fails only when the listener has stopped: nothing to undo then.
                let _ = commands.send(Reconcile::unsubscribed(self.poll));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::Results;
    use futures_util::FutureExt;
    use tokio::sync::mpsc;

    use super::*;

    fn updated(poll_id: PollId, version: u64) -> ResultsEvent {
        ResultsEvent::Updated {
            results: Results {
                poll_id,
                version,
                total: version,
                counts: Vec::new(),
                ranked: None,
                star: None,
            },
        }
    }

    #[test]
    fn the_last_subscriber_leaving_forgets_the_poll_and_asks_for_a_reconcile() {
        let subscriptions = Arc::new(Subscriptions::new(8));
        let (commands, mut reconciles) = mpsc::unbounded_channel();
        let (a, b) = (PollId::generate(), PollId::generate());
        let first = subscriptions.subscribe(a, commands.downgrade());
        let second = subscriptions.subscribe(a, commands.downgrade());
        let other = subscriptions.subscribe(b, commands.downgrade());
        assert!(subscriptions.contains(a) && subscriptions.contains(b));

        drop(first);
        assert!(subscriptions.contains(a), "A still has a subscriber");
        assert!(reconciles.try_recv().is_err(), "nothing to reconcile yet");

        drop(second);
        assert!(!subscriptions.contains(a), "A's last subscriber left");
        assert_eq!(reconciles.try_recv().map(|r| r.poll()), Ok(a));
        assert_eq!(subscriptions.all(), vec![b], "B is untouched");
        drop(other);
        assert!(subscriptions.all().is_empty());
    }

    #[test]
    fn events_reach_only_their_polls_subscribers() {
        let subscriptions = Arc::new(Subscriptions::new(8));
        let (commands, _reconciles) = mpsc::unbounded_channel();
        let (a, b) = (PollId::generate(), PollId::generate());
        let mut of_a = subscriptions.subscribe(a, commands.downgrade());
        let mut of_b = subscriptions.subscribe(b, commands.downgrade());
        subscriptions.deliver(updated(b, 1));
        subscriptions.resync(a);
        assert_eq!(
            of_a.next().now_or_never(),
            Some(Some(ResultsEvent::Resync { poll_id: a }))
        );
        assert_eq!(of_b.next().now_or_never(), Some(Some(updated(b, 1))));
        assert_eq!(of_a.next().now_or_never(), None, "nothing else for A");
    }

    #[test]
    fn a_lagging_subscriber_gets_a_resync_then_the_newest_events() {
        let subscriptions = Arc::new(Subscriptions::new(2));
        let (commands, _reconciles) = mpsc::unbounded_channel();
        let poll = PollId::generate();
        let mut events = subscriptions.subscribe(poll, commands.downgrade());
        for version in 1..=5 {
            subscriptions.deliver(updated(poll, version));
        }
        let mut next = || events.next().now_or_never().flatten();
        assert_eq!(next(), Some(ResultsEvent::Resync { poll_id: poll }));
        assert_eq!(next(), Some(updated(poll, 4)));
        assert_eq!(next(), Some(updated(poll, 5)));
    }

    #[test]
    fn streams_end_when_the_subscriptions_are_gone() {
        let subscriptions = Arc::new(Subscriptions::new(8));
        let (commands, _reconciles) = mpsc::unbounded_channel();
        let poll = PollId::generate();
        let mut events = subscriptions.subscribe(poll, commands.downgrade());
        subscriptions.deliver(updated(poll, 1));
        drop(subscriptions);
        assert_eq!(events.next().now_or_never(), Some(Some(updated(poll, 1))));
        assert_eq!(events.next().now_or_never(), Some(None), "the stream ends");
    }
}

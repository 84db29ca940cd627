//! [`LocalBroadcaster`]: results events within one process.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};

use async_trait::async_trait;
use futures_util::stream::{BoxStream, Stream};
use futures_util::StreamExt;
use tokio::sync::broadcast;

use crate::broadcaster::{resyncing_stream, Broadcaster, EventStream};
use crate::domain::{PollId, ResultsEvent};
use crate::error::Result;

/// The channel of each poll that has subscribers.
type Channels = Mutex<HashMap<PollId, broadcast::Sender<ResultsEvent>>>;

/// A [`Broadcaster`] within one process: a tokio broadcast channel per poll.
///
/// A subscriber that falls more than `capacity` events behind skips them and
/// receives one [`ResultsEvent::Resync`] instead. A poll's channel is dropped
/// when its last subscriber goes (at the latest, when the next publish finds
/// nobody listening), and the streams end when the last clone of the
/// broadcaster is dropped. Clones share the same channels.
#[derive(Clone, Debug)]
pub struct LocalBroadcaster {
    /// The channel of each poll that has subscribers.
    channels: Arc<Channels>,
    /// Events buffered per poll for the slowest subscriber.
    capacity: usize,
}

impl Default for LocalBroadcaster {
    fn default() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }
}

impl LocalBroadcaster {
    /// Events buffered per poll by [`LocalBroadcaster::new`].
    pub const DEFAULT_CAPACITY: usize = 64;

    /// A broadcaster buffering [`Self::DEFAULT_CAPACITY`] events per poll.
    pub fn new() -> Self {
        Self::default()
    }

    /// A broadcaster buffering `capacity` events per poll (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            channels: Arc::default(),
            capacity: capacity.max(1),
        }
    }

    fn channels(&self) -> MutexGuard<'_, HashMap<PollId, broadcast::Sender<ResultsEvent>>> {
        lock(&self.channels)
    }
}

fn lock(channels: &Channels) -> MutexGuard<'_, HashMap<PollId, broadcast::Sender<ResultsEvent>>> {
    // Senders are inserted and removed whole, so a poisoned map is consistent.
    channels.lock().unwrap_or_else(|e| e.into_inner())
}

#[async_trait]
impl Broadcaster for LocalBroadcaster {
    async fn publish(&self, event: &ResultsEvent) -> Result<()> {
        let poll = event.poll_id();
        let mut channels = self.channels();
        if let Some(sender) = channels.get(&poll) {
            if sender.send(event.clone()).is_err() {
                // Nobody listens any more: forget the channel.
                channels.remove(&poll);
            }
        }
        Ok(())
    }

    async fn subscribe(&self, poll: PollId) -> Result<EventStream> {
        let receiver = self
            .channels()
            .entry(poll)
            .or_insert_with(|| broadcast::channel(self.capacity).0)
            .subscribe();
        Ok(Subscription {
            events: resyncing_stream(receiver, poll),
            poll,
            channels: Arc::downgrade(&self.channels),
        }
        .boxed())
    }
}

/// The events of one poll for one subscriber; forgets the poll's channel when
/// the last subscriber drops its stream.
struct Subscription {
    /// The poll's channel, with lagging turned into `Resync`.
    events: BoxStream<'static, ResultsEvent>,
    /// The poll subscribed to.
    poll: PollId,
    /// The broadcaster's channels; weak, so that streams still end when the
    /// broadcaster is dropped.
    channels: Weak<Channels>,
}

impl Stream for Subscription {
    type Item = ResultsEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ResultsEvent>> {
        self.events.poll_next_unpin(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let Some(channels) = self.channels.upgrade() else {
            return;
        };
        let mut channels = lock(&channels);
        // This subscription's receiver is still alive (fields drop after this)
        // and receivers are only made under this lock, so a count of one means
        // nobody else listens. Two subscribers dropping at once may both see
        // two; the next publish then forgets the channel.
        if channels
            .get(&self.poll)
            .is_some_and(|sender| sender.receiver_count() <= 1)
        {
            channels.remove(&self.poll);
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;
    use crate::domain::Results;

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

    // Nothing here waits: every future is ready when first polled.
    fn subscribe(broadcaster: &LocalBroadcaster, poll: PollId) -> EventStream {
        broadcaster.subscribe(poll).now_or_never().unwrap().unwrap()
    }

    fn publish(broadcaster: &LocalBroadcaster, event: &ResultsEvent) {
        broadcaster.publish(event).now_or_never().unwrap().unwrap();
    }

    #[test]
    fn a_channel_is_forgotten_when_its_last_subscriber_goes() {
        let broadcaster = LocalBroadcaster::new();
        let (a, b) = (PollId::generate(), PollId::generate());
        let first = subscribe(&broadcaster, a);
        let second = subscribe(&broadcaster, a);
        let other = subscribe(&broadcaster, b);
        assert_eq!(broadcaster.channels().len(), 2);

        drop(first);
        assert!(
            broadcaster.channels().contains_key(&a),
            "A still has a subscriber"
        );
        drop(second);
        assert!(
            !broadcaster.channels().contains_key(&a),
            "A's last subscriber left"
        );
        assert!(broadcaster.channels().contains_key(&b), "B is untouched");
        drop(other);
        assert!(broadcaster.channels().is_empty());
    }

    #[test]
    fn streams_end_when_the_broadcaster_is_gone() {
        let broadcaster = LocalBroadcaster::new();
        let poll = PollId::generate();
        let mut events = subscribe(&broadcaster, poll);
        publish(&broadcaster, &updated(poll, 1));
        drop(broadcaster);
        assert_eq!(events.next().now_or_never(), Some(Some(updated(poll, 1))));
        assert_eq!(events.next().now_or_never(), Some(None), "the stream ends");
    }

    #[test]
    fn a_lagging_subscriber_gets_a_resync() {
        let broadcaster = LocalBroadcaster::with_capacity(2);
        let poll = PollId::generate();
        let mut events = subscribe(&broadcaster, poll);
        for version in 1..=5 {
            publish(&broadcaster, &updated(poll, version));
        }
        let mut next = || events.next().now_or_never().flatten();
        assert_eq!(next(), Some(ResultsEvent::Resync { poll_id: poll }));
        assert_eq!(next(), Some(updated(poll, 4)));
        assert_eq!(next(), Some(updated(poll, 5)));
    }
}

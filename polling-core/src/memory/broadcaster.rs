//! [`LocalBroadcaster`]: results events within one process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

use crate::broadcaster::{Broadcaster, EventStream};
use crate::domain::{PollId, ResultsEvent};
use crate::error::Result;

/// A [`Broadcaster`] within one process: a tokio broadcast channel per poll.
///
/// A subscriber that falls more than `capacity` events behind skips them and
/// receives one [`ResultsEvent::Resync`] instead. Channels are dropped when
/// their last subscriber goes. Clones share the same channels.
#[derive(Clone, Debug)]
pub struct LocalBroadcaster {
    /// The channel of each poll that has (or recently had) subscribers.
    channels: Arc<Mutex<HashMap<PollId, broadcast::Sender<ResultsEvent>>>>,
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

    fn channels(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<PollId, broadcast::Sender<ResultsEvent>>> {
        // Senders are inserted and removed whole, so a poisoned map is consistent.
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }
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
        let events = BroadcastStream::new(receiver).map(move |item| match item {
            Ok(event) => event,
            Err(BroadcastStreamRecvError::Lagged(_)) => ResultsEvent::Resync { poll_id: poll },
        });
        Ok(events.boxed())
    }
}

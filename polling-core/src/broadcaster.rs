//! [`Broadcaster`]: results events from the vote path to every listener.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::stream::BoxStream;

use crate::domain::{PollId, ResultsEvent};
use crate::error::Result;

/// The events of one poll, as returned by [`Broadcaster::subscribe`].
pub type EventStream = BoxStream<'static, ResultsEvent>;

/// Fans results events out to subscribers, in this process or across replicas.
///
/// Delivery is at most once: a subscriber that may have missed events gets a
/// [`ResultsEvent::Resync`] and should fetch a fresh snapshot. The stream ends
/// only when the broadcaster is gone.
#[async_trait]
pub trait Broadcaster: Send + Sync + 'static {
    /// Sends `event` to the current subscribers of its poll.
    async fn publish(&self, event: &ResultsEvent) -> Result<()>;

    /// Listens to the events of `poll`. Every event published after this
    /// returns is delivered (or signalled by a `Resync`).
    async fn subscribe(&self, poll: PollId) -> Result<EventStream>;
}

#[async_trait]
impl<T: Broadcaster + ?Sized> Broadcaster for Arc<T> {
    async fn publish(&self, event: &ResultsEvent) -> Result<()> {
        (**self).publish(event).await
    }

    async fn subscribe(&self, poll: PollId) -> Result<EventStream> {
        (**self).subscribe(poll).await
    }
}

//! [`Broadcaster`]: results events from the vote path to every listener.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

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

    /// Whether the broadcaster is usable now, for readiness checks: `Ok(())`
    /// when events published now reach the subscribers, else the
    /// [`PollError::Unavailable`](crate::PollError::Unavailable) saying why.
    /// Quick (bounded by the backend's timeouts) and without side effects.
    ///
    /// The default is `Ok(())`, right for an in-process broadcaster; one
    /// that goes through a network connection overrides it.
    async fn check(&self) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl<T: Broadcaster + ?Sized> Broadcaster for Arc<T> {
    async fn publish(&self, event: &ResultsEvent) -> Result<()> {
        (**self).publish(event).await
    }

    async fn subscribe(&self, poll: PollId) -> Result<EventStream> {
        (**self).subscribe(poll).await
    }

    async fn check(&self) -> Result<()> {
        (**self).check().await
    }
}

/// The events of a tokio broadcast `receiver` as an [`EventStream`] for a
/// subscriber of `poll`: a subscriber that falls more than the channel's
/// capacity behind gets one [`ResultsEvent::Resync`] in place of the events it
/// missed, never an error. The stream ends when the channel closes.
///
/// For backends that fan events out to local subscribers through a tokio
/// broadcast channel per poll, as [`LocalBroadcaster`](crate::memory::LocalBroadcaster) does.
pub fn resyncing_stream(receiver: broadcast::Receiver<ResultsEvent>, poll: PollId) -> EventStream {
    BroadcastStream::new(receiver)
        .map(move |item| match item {
            Ok(event) => event,
            Err(BroadcastStreamRecvError::Lagged(_)) => ResultsEvent::Resync { poll_id: poll },
        })
        .boxed()
}

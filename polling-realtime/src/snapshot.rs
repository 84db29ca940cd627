//! [`SnapshotSource`]: where a socket's first results come from.

use std::future::Future;

use async_trait::async_trait;
use polling_core::{PollId, Results};

/// Reads the current results of a poll: the `snapshot` a socket starts with,
/// and the fresh results fetched after a [`Resync`](polling_core::ResultsEvent::Resync).
///
/// Implemented for every `Fn(PollId) -> impl Future<Output = Result<Results>>`,
/// so the server passes a closure calling its cached results path:
///
/// ```
/// use polling_core::memory::MemoryStore;
/// use polling_core::PollStore;
/// use polling_realtime::SnapshotSource;
///
/// // The server passes its tower results service the same way:
/// // `move |poll| service.clone().oneshot(ResultsRequest::new(poll))`.
/// fn source(store: MemoryStore) -> impl SnapshotSource {
///     move |poll| {
///         let store = store.clone();
///         async move { store.results(poll).await }
///     }
/// }
/// ```
///
/// Errors matter: [`PollError::NotFound`](polling_core::PollError::NotFound)
/// closes a socket with [`close_code::POLL_NOT_FOUND`](crate::close_code::POLL_NOT_FOUND),
/// any other error with [`close_code::INTERNAL_ERROR`](crate::close_code::INTERNAL_ERROR).
#[async_trait]
pub trait SnapshotSource: Send + Sync + 'static {
    /// The current results of `poll`.
    async fn snapshot(&self, poll: PollId) -> polling_core::Result<Results>;
}

#[async_trait]
impl<F, Fut> SnapshotSource for F
where
    F: Fn(PollId) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = polling_core::Result<Results>> + Send + 'static,
{
    async fn snapshot(&self, poll: PollId) -> polling_core::Result<Results> {
        self(poll).await
    }
}

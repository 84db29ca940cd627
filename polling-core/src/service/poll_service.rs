//! [`PollService`]: the innermost service, calling the store.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use tower::Service;

use super::ResultsRequest;
use crate::domain::{Ballot, CastOutcome, Results};
use crate::error::PollError;
use crate::store::PollStore;

/// Casts ballots and reads results through a [`PollStore`].
///
/// Always ready; clones share the store. See the [module example](crate::service).
#[derive(Debug)]
pub struct PollService<S: ?Sized> {
    /// The store every request goes to.
    store: Arc<S>,
}

impl<S: ?Sized> Clone for PollService<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
        }
    }
}

impl<S: PollStore> PollService<S> {
    /// A service over `store`.
    pub fn new(store: S) -> Self {
        Self {
            store: Arc::new(store),
        }
    }
}

impl<S: PollStore + ?Sized> PollService<S> {
    /// A service over a shared store (such as `Arc<dyn PollStore>`).
    pub fn from_arc(store: Arc<S>) -> Self {
        Self { store }
    }

    /// The store behind this service.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }
}

impl<S: PollStore + ?Sized> Service<Ballot> for PollService<S> {
    type Response = CastOutcome;
    type Error = PollError;
    type Future = BoxFuture<'static, Result<CastOutcome, PollError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), PollError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, ballot: Ballot) -> Self::Future {
        let store = Arc::clone(&self.store);
        Box::pin(async move { store.cast(&ballot).await })
    }
}

impl<S: PollStore + ?Sized> Service<ResultsRequest> for PollService<S> {
    type Response = Results;
    type Error = PollError;
    type Future = BoxFuture<'static, Result<Results, PollError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), PollError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: ResultsRequest) -> Self::Future {
        let store = Arc::clone(&self.store);
        Box::pin(async move { store.results(request.poll_id).await })
    }
}

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower::Service;

use super::ResponseFuture;
use crate::cache::ResultsCache;
use crate::domain::{Ballot, CastOutcome, Results};
use crate::metrics::{operation, source, CACHE_ERRORS_TOTAL, RESULTS_READS_TOTAL};
use crate::service::ResultsRequest;

/// Read-through results caching, refreshed by votes. See the [module docs](super).
pub struct Cache<S, C: ?Sized> {
    /// The service asked on a cache miss, and for every ballot.
    inner: S,
    /// Where results are cached.
    cache: Arc<C>,
}

impl<S, C: ResultsCache> Cache<S, C> {
    /// Caches `inner`'s results in `cache`.
    pub fn new(inner: S, cache: C) -> Self {
        Self::from_arc(inner, Arc::new(cache))
    }
}

impl<S, C: ?Sized> Cache<S, C> {
    /// Caches `inner`'s results in a shared cache.
    pub fn from_arc(inner: S, cache: Arc<C>) -> Self {
        Self { inner, cache }
    }

    define_inner_service_accessors!();
}

impl<S: Clone, C: ?Sized> Clone for Cache<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            cache: Arc::clone(&self.cache),
        }
    }
}

impl<S: fmt::Debug, C: ?Sized> fmt::Debug for Cache<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, C> Service<Ballot> for Cache<S, C>
where
    S: Service<Ballot, Response = CastOutcome>,
    S::Future: Send + 'static,
    C: ResultsCache + ?Sized,
{
    type Response = CastOutcome;
    type Error = S::Error;
    type Future = ResponseFuture<CastOutcome, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, ballot: Ballot) -> Self::Future {
        let cast = self.inner.call(ballot);
        let cache = Arc::clone(&self.cache);
        ResponseFuture::new(async move {
            let outcome = cast.await?;
            // A replay changed nothing; new and changed ballots did.
            if outcome.changed_results() {
                put(&*cache, &outcome.results).await;
            }
            Ok(outcome)
        })
    }
}

impl<S, C> Service<ResultsRequest> for Cache<S, C>
where
    S: Service<ResultsRequest, Response = Results> + Clone + Send + 'static,
    S::Future: Send + 'static,
    C: ResultsCache + ?Sized,
{
    type Response = Results;
    type Error = S::Error;
    type Future = ResponseFuture<Results, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: ResultsRequest) -> Self::Future {
        // The service made ready by `poll_ready` is the one to call; leave a
        // fresh clone in its place (the usual tower pattern).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let cache = Arc::clone(&self.cache);
        ResponseFuture::new(async move {
            match cache.get(request.poll_id).await {
                Ok(Some(results)) => {
                    count_read(source::CACHE_HIT);
                    return Ok(results);
                }
                Ok(None) => count_read(source::CACHE_MISS),
                Err(error) => {
                    count_read(source::CACHE_ERROR);
                    count_error(operation::GET);
                    tracing::warn!(
                        poll_id = %request.poll_id,
                        error = ?error,
                        "results cache read failed; reading the store"
                    );
                }
            }
            let results = inner.call(request).await?;
            put(&*cache, &results).await;
            Ok(results)
        })
    }
}

async fn put<C: ResultsCache + ?Sized>(cache: &C, results: &Results) {
    if let Err(error) = cache.put(results).await {
        count_error(operation::PUT);
        tracing::warn!(
            poll_id = %results.poll_id,
            version = results.version,
            error = ?error,
            "results cache write failed; a later write heals it"
        );
    }
}

/// Counts a results read answered from `source`.
fn count_read(source: &'static str) {
    ::metrics::counter!(RESULTS_READS_TOTAL, source::LABEL => source).increment(1);
}

/// Counts a failed cache `operation`.
fn count_error(operation: &'static str) {
    ::metrics::counter!(CACHE_ERRORS_TOTAL, operation::LABEL => operation).increment(1);
}

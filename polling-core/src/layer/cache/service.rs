use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower::Service;

use super::stale::StalePolls;
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
    /// The polls whose cached results failed to refresh, shared by clones.
    stale: Arc<StalePolls>,
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
        Self::with_stale(inner, cache, Arc::default())
    }

    /// Caches `inner`'s results, sharing `stale` with the layer's other services.
    pub(super) fn with_stale(inner: S, cache: Arc<C>, stale: Arc<StalePolls>) -> Self {
        Self {
            inner,
            cache,
            stale,
        }
    }

    define_inner_service_accessors!();
}

impl<S: Clone, C: ?Sized> Clone for Cache<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            cache: Arc::clone(&self.cache),
            stale: Arc::clone(&self.stale),
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
    S::Error: 'static,
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
        let abandoner = ballot.abandoner();
        let cast = self.inner.call(ballot);
        let cache = Arc::clone(&self.cache);
        let stale = Arc::clone(&self.stale);
        // The put belongs to the commit: if the caller leaves, the future
        // finishes it in a task (see `ResponseFuture`).
        ResponseFuture::vote(
            async move {
                let outcome = cast.await?;
                // A replay changed nothing; new and changed ballots did.
                if outcome.changed_results() {
                    put(&*cache, &stale, &outcome.results).await;
                }
                Ok(outcome)
            },
            abandoner,
        )
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
        let stale = Arc::clone(&self.stale);
        ResponseFuture::read(async move {
            let poll_id = request.poll_id;
            // A poll whose refresh failed may be cached at an older version
            // than the store's: its cached entry counts as a miss.
            let stale_since = stale.get(poll_id);
            match cache.get(poll_id).await {
                Ok(Some(results)) if stale_since.is_none() => {
                    count_read(source::CACHE_HIT);
                    return Ok(results);
                }
                Ok(_) => count_read(source::CACHE_MISS),
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
            if put(&*cache, &stale, &results).await {
                if let Some(seen) = stale_since {
                    stale.clear(poll_id, seen);
                }
            }
            Ok(results)
        })
    }
}

/// Caches `results`; whether that worked. A failure marks the poll stale, so
/// this process's reads refresh it from the store until a write succeeds.
async fn put<C: ResultsCache + ?Sized>(cache: &C, stale: &StalePolls, results: &Results) -> bool {
    match cache.put(results).await {
        Ok(()) => true,
        Err(error) => {
            stale.mark(results.poll_id);
            count_error(operation::PUT);
            tracing::warn!(
                poll_id = %results.poll_id,
                version = results.version,
                error = ?error,
                "results cache write failed; reads refresh it from the store until a write succeeds"
            );
            false
        }
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

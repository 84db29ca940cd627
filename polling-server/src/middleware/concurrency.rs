//! [`ConcurrencyCap`] (made by [`ConcurrencyCapLayer`]): at most so many
//! requests in flight; more are shed.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::Semaphore;
use tower::{Layer, Service};
use warp::http::Request;
use warp::reply::Response;

use super::{refuse, ResponseFuture};
use crate::error::ApiError;
use crate::http::route;

/// Wraps the routes: while `max` requests are in flight, another one is
/// answered at once with 503 `unavailable` and `Retry-After` rather than
/// queued (load shedding: a queue would only turn overload into latency for
/// everyone). Clones share the cap. A WebSocket counts until its upgrade is
/// answered; open sockets have their own cap (`--max-sockets`). Routes
/// not [`sheddable`](crate::Route::sheddable) (the operators') never are.
#[derive(Clone, Debug)]
pub(crate) struct ConcurrencyCap<S> {
    inner: S,
    /// One permit per request in flight; `None`: no cap.
    permits: Option<Arc<Semaphore>>,
}

/// Wraps a service in a [`ConcurrencyCap`]; every service it wraps (and
/// every clone of those) shares the one cap.
#[derive(Clone, Debug)]
pub(crate) struct ConcurrencyCapLayer {
    /// One permit per request in flight; `None`: no cap.
    permits: Option<Arc<Semaphore>>,
}

impl ConcurrencyCapLayer {
    /// A cap of `max` requests in flight (0: no cap).
    pub(crate) fn new(max: usize) -> Self {
        let permits = (max > 0).then(|| Arc::new(Semaphore::new(max)));
        Self { permits }
    }
}

impl<S> Layer<S> for ConcurrencyCapLayer {
    type Service = ConcurrencyCap<S>;

    fn layer(&self, inner: S) -> ConcurrencyCap<S> {
        ConcurrencyCap {
            inner,
            permits: self.permits.clone(),
        }
    }
}

impl<S, B> Service<Request<B>> for ConcurrencyCap<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let exempt = || {
            route::resolved(&request)
                .route
                .is_some_and(|r| !r.sheddable)
        };
        let permit = match &self.permits {
            None => None,
            Some(_) if exempt() => None,
            Some(permits) => match Arc::clone(permits).try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    metrics::counter!(crate::telemetry::OVERLOADED_TOTAL).increment(1);
                    return refuse(ApiError::Overloaded);
                }
            },
        };
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            drop(permit);
            response
        })
    }
}

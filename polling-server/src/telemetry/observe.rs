//! [`Observe`]: the tower service around every request.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tower::Service;
use tracing::Instrument;
use warp::http::{Request, Response};

use super::request_id::{request_id, HEADER};
use super::{route_template, HTTP_REQUESTS_TOTAL, HTTP_REQUEST_DURATION_SECONDS};

/// Wraps the routes: gives each request an id (`X-Request-Id`, taken from
/// the request when sane, and returned on the response), runs it in a
/// `request` span carrying that id (so every log line of the request has
/// it), then logs one line (method, route, path, status, latency) and records
/// [`HTTP_REQUESTS_TOTAL`] and [`HTTP_REQUEST_DURATION_SECONDS`] under the
/// [route template](route_template). Bodies are never logged.
#[derive(Clone, Debug)]
pub(crate) struct Observe<S> {
    inner: S,
}

impl<S> Observe<S> {
    pub(crate) fn new(inner: S) -> Self {
        Self { inner }
    }
}

impl<S, B, R> Service<Request<B>> for Observe<S>
where
    S: Service<Request<B>, Response = Response<R>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<R>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let started = Instant::now();
        let id = request_id(request.headers());
        request.headers_mut().insert(HEADER, id.clone());
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let span = tracing::info_span!(
            "request",
            method = %method,
            path = %path,
            request_id = %id.to_str().unwrap_or("-"),
        );
        let response = self.inner.call(request);
        Box::pin(
            async move {
                let Ok(mut response) = response.await;
                let status = response.status();
                let route = route_template(&path, status.as_u16() < 400);
                let elapsed = started.elapsed();
                response.headers_mut().insert(HEADER, id);
                let class = status_class(status.as_u16());
                metrics::counter!(
                    HTTP_REQUESTS_TOTAL,
                    "method" => method.to_string(),
                    "route" => route,
                    "status" => class,
                )
                .increment(1);
                metrics::histogram!(
                    HTTP_REQUEST_DURATION_SECONDS,
                    "method" => method.to_string(),
                    "route" => route,
                )
                .record(elapsed.as_secs_f64());
                tracing::info!(
                    route,
                    status = status.as_u16(),
                    latency_ms = elapsed.as_secs_f64() * 1000.0,
                    "request"
                );
                Ok(response)
            }
            .instrument(span),
        )
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

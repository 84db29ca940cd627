//! [`Observe`] (made by [`ObserveLayer`]): the tower service around every
//! request.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tower::{Layer, Service};
use tracing::Instrument;
use warp::http::{Method, Request, Response};

use super::request_id::HEADER;
use super::route_template::route_template;
use crate::http::route;
use crate::telemetry::{HTTP_REQUESTS_TOTAL, HTTP_REQUEST_DURATION_SECONDS};

/// Wraps the routes: gives each request an id (`X-Request-Id`, taken from
/// the request when sane, and returned on the response), runs it in a
/// `request` span carrying that id (so every log line of the request has
/// it), then logs one line (method, route, path, status, latency) and records
/// [`HTTP_REQUESTS_TOTAL`] and [`HTTP_REQUEST_DURATION_SECONDS`] under the
/// [route template](route_template()). Bodies are never logged.
#[derive(Clone, Debug)]
pub(crate) struct Observe<S> {
    inner: S,
}

/// Wraps a service in [`Observe`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ObserveLayer;

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe { inner }
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
        // Matched once here for every layer and filter inside.
        let resolved = route::resolve(&mut request);
        // Set by the request-id layers just outside.
        let id = request.headers().get(&HEADER).cloned();
        let method = request.method().clone();
        let span = tracing::info_span!(
            "request",
            method = %method,
            path = %request.uri().path(),
            request_id = %id.as_ref().and_then(|id| id.to_str().ok()).unwrap_or("-"),
        );
        let response = self.inner.call(request);
        Box::pin(
            async move {
                let Ok(response) = response.await;
                let status = response.status();
                let route = route_template(resolved.template, status.as_u16() < 400);
                let elapsed = started.elapsed();
                let class = status_class(status.as_u16());
                metrics::counter!(
                    HTTP_REQUESTS_TOTAL,
                    "method" => method_label(&method),
                    "route" => route,
                    "status" => class,
                )
                .increment(1);
                metrics::histogram!(
                    HTTP_REQUEST_DURATION_SECONDS,
                    "method" => method_label(&method),
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

/// The method as a metric label: the standard ones by name, any other
/// (hyper accepts any token as a method) as `OTHER`, so that clients cannot
/// grow the label set without bound. Static, so labelling allocates nothing.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_standard_ones_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let invented = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&invented), "OTHER");
        let another = Method::from_bytes(b"X-RANDOM-1234").unwrap();
        assert_eq!(method_label(&another), method_label(&invented));
    }
}

//! [`run`](crate::run): the accept loop, with graceful shutdown.
//!
//! The loop is ours rather than `warp::serve` so that every request passes
//! through tower layers around warp's service, which warp filters cannot
//! be: the [response contract](ResponseContractLayer) (security headers and
//! `X-Served-By` on every response, refusals included), [`Observe`](ObserveLayer)
//! (request id, span, log line, HTTP metrics: a filter cannot run the
//! routes inside a span of its own), the rate limits and the cap on
//! requests in flight. It is also the only place that
//! knows each connection's peer (for the [rate limits](crate::RequestLimits)) and
//! can bound how long a client takes to send its request's head.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceBuilder;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};

use crate::app::App;
use crate::http::client_addr::PeerAddr;
use crate::middleware::{
    request_id, ConcurrencyCapLayer, ObserveLayer, RateLimitLayer, ResponseContractLayer,
};
use crate::routes;

/// How long [`serve`] waits, after the server stopped, for live sockets to
/// send their close frames.
const SOCKET_CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The most bytes hyper buffers while reading a request's head: larger
/// headers are answered 431. hyper's default (about 400 KiB) is far more
/// than a browser sends; 64 KiB still fits any cookie a browser keeps.
const MAX_HEAD_BYTES: usize = 64 * 1024;

pub(crate) async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let hub = app.parts.hub.clone();
    let limits = app.parts.limits.clone();
    // Outermost first: the headers every response carries (so refusals
    // carry them too), the request id and observe (so refusals are given an
    // id, logged and counted), rate limits, the cap on requests in flight,
    // the routes.
    let service = ServiceBuilder::new()
        .layer(ResponseContractLayer::new(&app.parts.instance))
        .map_request(request_id::drop_insane_id::<Incoming>)
        .layer(SetRequestIdLayer::new(
            request_id::HEADER,
            request_id::FreshId,
        ))
        .layer(PropagateRequestIdLayer::new(request_id::HEADER))
        .layer(ObserveLayer)
        .layer(RateLimitLayer::new(
            &limits,
            app.parts.shared_rate_limits.clone(),
        ))
        .layer(ConcurrencyCapLayer::new(limits.max_concurrent_requests))
        .service(warp::service(routes::bare(app)));
    // Each connection's task, so that shutdown can wait for them; and the
    // signal that asks each to finish its request in flight and close.
    let mut connections = JoinSet::new();
    let (stopping, stop) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            // Forget connections as they end.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = &mut shutdown => break,
        };
        // Only the accept loop knows the peer: it goes on each request.
        let service = TowerToHyperService::new(
            ServiceBuilder::new()
                .map_request(move |mut request: hyper::Request<_>| {
                    request.extensions_mut().insert(PeerAddr(peer));
                    request
                })
                .service(service.clone()),
        );
        let mut stop = stop.clone();
        let header_read_timeout = limits.header_read_timeout;
        connections.spawn(async move {
            // A connection that sends nothing is closed here.
            let mut first = [0u8; 1];
            if !matches!(
                tokio::time::timeout(header_read_timeout, stream.peek(&mut first)).await,
                Ok(Ok(1..))
            ) {
                return;
            }
            // HTTP/1.1 only: browsers never speak HTTP/2 without TLS, nginx
            // speaks HTTP/1.1 to its upstreams, live sockets upgrade from
            // HTTP/1.1, and an h2c connection would need idle and stream
            // limits of its own (it ignored the header timeout and stayed
            // open). A client that trickles its headers, or idles on a
            // kept-alive connection, is cut off rather than holding it.
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .max_buf_size(MAX_HEAD_BYTES);
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut connection = pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = async {
                    // Dropped at once: the guard must not live across awaits.
                    let _ = stop.wait_for(|stopping| *stopping).await;
                } => {
                    connection.as_mut().graceful_shutdown();
                    connection.as_mut().await
                }
            };
            if let Err(error) = ended {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // A graceful shutdown does not wait for upgraded connections: the hub
    // closes its sockets itself, with 1001 (going away).
    hub.shutdown();
    let _ = stopping.send(true);
    while connections.join_next().await.is_some() {}
    let deadline = tokio::time::Instant::now() + SOCKET_CLOSE_GRACE;
    while hub.stats().sockets > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Connection-level accept errors (the peer gave up) are nothing; others,
/// such as running out of file descriptors, are logged and slowed down
/// rather than spun on.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed; pausing for 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

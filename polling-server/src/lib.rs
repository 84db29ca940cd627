//! The reference server of **polling**: the REST API
//! (`ARCHITECTURE.md#http-contract`, the contract itself in
//! [`OPENAPI_DOCUMENT`]) over warp, composed from `polling-core`'s store,
//! cache, broadcaster and layers.
//!
//! The binary (`polling-server`) only parses [`Config`], binds and calls
//! [`run`]; an application can do the same with its own [`App`].
//!
//! | module | what |
//! |---|---|
//! | `app` | [`App`] and its [`AppBuilder`]: the backends and settings every route shares, the tower [`PollServiceStack`] of the vote and results paths, readiness |
//! | `backends` | [`Backends`]: the store, cache, broadcaster, idempotency store and rate limits a [`Config`] asks for, connected with start-up retries |
//! | `config` | [`Config`]: every flag with its environment fallback, and the value types they parse into ([`RequestLimits`], [`AllowedOrigins`], [`PublicUrl`], durations) |
//! | `error` | every refusal as one JSON error with a stable code, and the one `recover` handler |
//! | `extract` | the filters taking a JSON body, the voter cookie, the manage token and the `Idempotency-Key` out of a request |
//! | `http` | what the routes stand on: the route table ([`ROUTES`]) and its matcher, client addresses ([`TrustedProxies`]), streamed bodies, the readiness probe's client ([`probe_ready`]) |
//! | `idempotency` | runs a handler at most once per `Idempotency-Key` and replays its response |
//! | `middleware` | the tower layers around the routes: response contract, observe, rate limits, concurrency cap |
//! | `routes` | [`routes`]: the API as warp filters, one file per resource, the JSON shapes of responses and the CSV exports |
//! | `serve` | [`run`]'s accept loop: the middleware around the routes, peer addresses, header timeouts, graceful shutdown |
//! | [`telemetry`] | Prometheus metric names and the process's recorder ([`telemetry::install_recorder`]) |
//!
//! The modules form layers, and each uses only the layers below its own
//! (`tests/it/layering.rs` keeps it so): `error`, `http` and `telemetry` at
//! the bottom; `config`; `app`; `extract`; `idempotency` and `middleware`;
//! `backends` and `routes`; `serve` on top.
//!
//! # Example
//!
//! ```no_run
//! use polling_server::{run, App};
//!
//! # #[tokio::main]
//! # async fn main() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! run(listener, App::in_process(), async {
//!     tokio::signal::ctrl_c().await.ok();
//! })
//! .await;
//! # Ok(())
//! # }
//! ```

// The README (the crate's page on crates.io) compiles and runs as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod app;
mod backends;
mod config;
mod error;
mod extract;
mod http;
mod idempotency;
mod middleware;
mod routes;
mod serve;
pub mod telemetry;

use std::future::Future;

use tokio::net::TcpListener;

pub use app::readiness::MAX_AGE as READINESS_MAX_AGE;
pub use app::{App, AppBuilder, PollServiceStack, ScrapeHook, VotePath};
pub use backends::{Backends, Kinds};
pub use config::{
    parse_duration, AllowedOrigins, BroadcasterKind, CacheKind, Config, DatabaseTarget, LogFormat,
    PublicUrl, RedisTarget, RequestLimits, DEFAULT_BODY_LIMIT, DEFAULT_DATABASE_URL,
    DEFAULT_IDEMPOTENCY_TTL, MEMORY_DATABASE_URL,
};
pub use http::client_addr::TrustedProxies;
pub use http::frontend::Frontend;
pub use http::listener::{bind, LISTEN_BACKLOG};
pub use http::probe::probe_ready;
pub use http::route::{RateClass, Route, ROUTES};
pub use routes::routes;

/// The OpenAPI 3 document served at `GET /api/openapi.json`.
pub const OPENAPI_DOCUMENT: &str = routes::OPENAPI;

/// Serves `app` on `listener` until `shutdown` completes, then stops
/// accepting, waits for requests in flight to finish, and closes the live
/// sockets with 1001 (going away).
pub async fn run(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    serve::serve(listener, app, shutdown).await;
}

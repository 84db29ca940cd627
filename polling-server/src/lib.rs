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
//! | `app` | [`App`]: the backends and settings every route shares, and the tower [`Stack`] of the vote and results paths |
//! | `backends` | [`Backends`]: the store, cache, broadcaster, idempotency store and rate limits a [`Config`] asks for, connected with start-up retries |
//! | `config` | [`Config`]: every flag with its environment fallback, and the defaults chosen by backend |
//! | `csv` | CSV text (RFC 4180) safe to open in a spreadsheet, for the exports |
//! | `duration` | [`parse_duration`]: `500ms`, `5s`, `2m`, `24h` in flags |
//! | `error` | every refusal as one JSON error with a stable code, and the one `recover` handler |
//! | `extract` | the filters taking a JSON body, the voter cookie, the manage token and the `Idempotency-Key` out of a request |
//! | `idempotent` | runs a handler at most once per `Idempotency-Key` and replays its response |
//! | `limits` | [`Limits`]: rate limits per client and per voter (in process or in Redis), the cap on requests in flight, [`TrustedProxies`] |
//! | `origin` | [`AllowedOrigins`]: which pages may open live sockets |
//! | `probe` | [`probe_ready`]: `--probe-ready`, the container healthcheck |
//! | `public_url` | [`PublicUrl`]: the base of share links |
//! | `readiness` | the answer of `GET /readyz`, checked once at a time and reused for [`READINESS_MAX_AGE`] |
//! | `routes` | [`routes`]: the API as warp filters, one file per resource, and [`ROUTES`] |
//! | `serve` | [`run`]'s accept loop: peer addresses, header timeouts, graceful shutdown |
//! | `streamed` | response bodies written by a task, complete only when it finishes them (`ballots.csv`) |
//! | [`telemetry`] | Prometheus metrics, the request id, span and log line of every request |
//! | `views` | the JSON shapes of responses, mapped from domain types |
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

mod app;
mod backends;
mod config;
mod csv;
mod duration;
mod error;
mod extract;
mod http;
mod idempotent;
mod limits;
mod origin;
mod probe;
mod public_url;
mod readiness;
mod routes;
mod serve;
mod streamed;
pub mod telemetry;
mod views;

use std::future::Future;

use tokio::net::TcpListener;

pub use app::{App, ScrapeHook, Stack, DEFAULT_BODY_LIMIT, DEFAULT_IDEMPOTENCY_TTL};
pub use backends::{Backends, Kinds};
pub use config::{BroadcasterKind, CacheKind, Config, LogFormat};
pub use duration::parse_duration;
pub use http::route::{RateClass, Route, ROUTES};
pub use limits::{Limits, TrustedProxies};
pub use origin::AllowedOrigins;
pub use probe::probe_ready;
pub use public_url::PublicUrl;
pub use readiness::MAX_AGE as READINESS_MAX_AGE;
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

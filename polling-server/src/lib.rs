//! The reference server of **polling**: the REST API of DESIGN §4 over warp,
//! composed from `polling-core`'s store, cache, broadcaster and layers.
//!
//! The binary (`polling-server`) only parses [`Config`], binds and calls
//! [`run`]; an application can do the same with its own [`App`].
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

mod access;
mod app;
mod backends;
mod config;
mod csv;
mod duration;
mod error;
mod extract;
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
pub use limits::{Limits, TrustedProxies};
pub use origin::AllowedOrigins;
pub use probe::probe_ready;
pub use public_url::PublicUrl;
pub use readiness::MAX_AGE as READINESS_MAX_AGE;
pub use routes::{routes, Route, ROUTES};

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

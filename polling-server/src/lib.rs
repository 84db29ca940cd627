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

mod app;
mod backends;
mod config;
mod duration;
mod error;
mod extract;
mod origin;
mod routes;
mod views;

use std::future::Future;

use tokio::net::TcpListener;

pub use app::{App, Stack, DEFAULT_BODY_LIMIT};
pub use backends::{Backends, Kinds};
pub use config::{BroadcasterKind, CacheKind, Config, LogFormat};
pub use origin::AllowedOrigins;
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
    let hub = app.hub.clone();
    let shutdown = {
        let hub = hub.clone();
        async move {
            shutdown.await;
            // Hyper's graceful shutdown does not wait for upgraded
            // connections: the hub closes its sockets itself, with 1001.
            hub.shutdown();
        }
    };
    warp::serve(routes(app))
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
    // Let the sockets send their close frames before the process may exit.
    let deadline = tokio::time::Instant::now() + SOCKET_CLOSE_GRACE;
    while hub.stats().sockets > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// How long [`run`] waits, after the server stopped, for live sockets to close.
const SOCKET_CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

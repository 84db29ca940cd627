//! An application's own warp server with the polling API mounted under
//! `/polling`, behind the application's own authentication, beside its
//! own routes.
//!
//! ```text
//! cargo run -p example-mount-warp
//! ```
//!
//! Then, with the demo session it prints:
//!
//! ```text
//! curl -i localhost:3000/polling/api/polls                        # 401, JSON
//! curl -H 'X-Session-Token: demo-session' localhost:3000/me       # {"user":"ada"}
//! curl -H 'X-Session-Token: demo-session' -H 'Content-Type: application/json' \
//!      -d '{"question":"Tea or coffee?","options":["Tea","Coffee"]}' \
//!      localhost:3000/polling/api/polls
//! ```
//!
//! What it shows:
//!
//! * [`polling_server::routes`] is a warp filter; behind
//!   `warp::path("polling")` the whole API answers under that prefix
//!   (`server.rs`);
//! * the application's own filter (`auth.rs`) stands in front of it and
//!   refuses with 401 JSON (`errors.rs`) before the polling API sees the
//!   request;
//! * the polling [`App`] is the one
//!   `polling-server` serves: any store, cache and broadcaster.
//!
//! Not part of [`polling_server::routes`]: the middleware of
//! [`polling_server::run`] (request ids, access logs, rate limits). An
//! application serving the routes itself brings its own.

mod auth;
mod errors;
mod server;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;

use polling_server::App;
use tokio::net::TcpListener;

use crate::auth::Sessions;

/// Where the server listens unless `EXAMPLE_ADDR` says otherwise.
const DEFAULT_ADDR: &str = "127.0.0.1:3000";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::var("EXAMPLE_ADDR")
        .unwrap_or_else(|_| DEFAULT_ADDR.to_owned())
        .parse()?;
    let listener = TcpListener::bind(addr).await?;
    let sessions = Sessions::new([("demo-session", "ada")]);
    println!(
        "listening on http://{}; the polling API is under /{}/api/polls, \
         send X-Session-Token: demo-session",
        listener.local_addr()?,
        server::PREFIX
    );
    server::serve(listener, App::in_process(), sessions, async {
        tokio::signal::ctrl_c().await.ok();
    })
    .await;
    Ok(())
}

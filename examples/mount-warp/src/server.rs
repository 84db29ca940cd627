//! The application's server: its own routes, and the polling API mounted
//! under [`PREFIX`] behind its authentication.

use std::future::Future;

use polling_server::App;
use serde_json::json;
use tokio::net::TcpListener;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::auth::{require_session, signed_in, Sessions, User};
use crate::errors::recover;

/// The path segment the polling API is mounted under: its routes are
/// `/polling/api/polls`, `/polling/api/polls/{id}/votes` and so on.
pub(crate) const PREFIX: &str = "polling";

/// Every route of the application:
///
/// * `GET /health`: public, the application's own;
/// * `GET /me`: the signed-in user, the application's own;
/// * `/polling/...`: the polling API (see [`polling_server::routes`]), for
///   signed-in users only.
///
/// A request without a known session token is refused with 401 before the
/// polling API sees it: nothing is created, voted or read.
pub(crate) fn routes(app: App, sessions: Sessions) -> BoxedFilter<(Response,)> {
    let health = warp::path!("health")
        .and(warp::get())
        .map(|| warp::reply::json(&json!({ "status": "ok" })).into_response());
    let me = warp::path!("me")
        .and(warp::get())
        .and(signed_in(sessions.clone()))
        .map(|user: User| warp::reply::json(&json!({ "user": user.name })).into_response());
    // The prefix first, then the session check: requests elsewhere are the
    // application's, and never asked for a session by this branch.
    let polling = warp::path(PREFIX)
        .and(require_session(sessions))
        .and(polling_server::routes(app));
    health
        .or(me)
        .unify()
        .or(polling)
        .unify()
        .recover(recover)
        .unify()
        .boxed()
}

/// Serves [`routes`] on `listener` until `shutdown` completes, then lets
/// the requests in flight finish.
pub(crate) async fn serve(
    listener: TcpListener,
    app: App,
    sessions: Sessions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    warp::serve(routes(app, sessions))
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
}

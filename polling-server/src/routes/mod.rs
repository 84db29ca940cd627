//! The HTTP API (`ARCHITECTURE.md#http-contract`) as warp filters, built by [`routes`].

mod csv;
mod export;
mod fallback;
mod invites;
mod live;
pub(crate) mod meta;
mod polls;
mod results;
mod share;
mod views;
mod votes;
mod websocket;

use std::convert::Infallible;

use polling_core::PollId;
use serde::Serialize;
use warp::filters::BoxedFilter;
use warp::http::header::HeaderValue;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::app::App;
use crate::error::{self, ApiError};
use crate::middleware::contract;

pub(crate) use meta::OPENAPI;

/// The whole server as one filter: the API, the browser app (if configured),
/// JSON errors for everything refused, and security headers and
/// `X-Served-By` (the instance name) on every response.
///
/// [`run`](crate::run) serves the routes without those headers and sets
/// them in one tower layer around all its middleware, so that refusals
/// made before the routes carry them too; this filter is for applications
/// that serve the routes with warp itself. [`run`](crate::run)'s
/// middleware (request ids, access logs, HTTP metrics, rate limits, the
/// cap on requests in flight) is not part of it.
///
/// The filter answers every request that reaches it (a path it does not
/// know is 404 `route_not_found`), so an application serves its own routes
/// before it, or mounts it under a path prefix.
///
/// # Mounting under a prefix
///
/// The routes match the part of the path the filters before them left
/// unmatched: behind `warp::path("polling")` the API is at
/// `/polling/api/polls/...`, the `Location` of a created poll included.
/// Share links are [`AppBuilder::public_url`](crate::AppBuilder::public_url)
/// and `/p/{id}`: give that URL the prefix too. The browser app expects to
/// be served at the root.
///
/// ```
/// use polling_server::{routes, App};
/// use warp::Filter;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let home = warp::path::end().map(|| "the application's own page");
/// let server = home.or(warp::path("polling").and(routes(App::in_process())));
///
/// let created = warp::test::request()
///     .method("POST")
///     .path("/polling/api/polls")
///     .header("content-type", "application/json")
///     .body(r#"{"question": "Tea or coffee?", "options": ["Tea", "Coffee"]}"#)
///     .reply(&server)
///     .await;
/// assert_eq!(created.status(), 201);
/// let location = created.headers()["location"].to_str().unwrap();
/// assert!(location.starts_with("/polling/api/polls/"), "{location}");
///
/// let poll = warp::test::request().path(location).reply(&server).await;
/// assert_eq!(poll.status(), 200);
/// // Outside the prefix, the API is not there; the application's page is.
/// let outside = warp::test::request().path("/api/polls").reply(&server).await;
/// assert_eq!(outside.status(), 404);
/// let page = warp::test::request().path("/").reply(&server).await;
/// assert_eq!(page.body(), "the application's own page");
/// # }
/// ```
pub fn routes(app: App) -> BoxedFilter<(Response,)> {
    let served_by = contract::served_by(&app.parts.instance);
    bare(app)
        .with(warp::reply::with::headers(contract::security_headers()))
        .with(warp::reply::with::header(contract::SERVED_BY, served_by))
        .map(Reply::into_response)
        .boxed()
}

/// [`routes`] without the security headers and `X-Served-By`, which the
/// accept loop's outermost layer sets on every response.
pub(crate) fn bare(app: App) -> BoxedFilter<(Response,)> {
    let api = polls::routes(&app)
        .or(votes::routes(&app))
        .unify()
        .or(results::routes(&app))
        .unify()
        .or(live::routes(&app))
        .unify()
        .or(meta::routes(&app))
        .unify()
        .or(export::routes(&app))
        .unify()
        .or(invites::routes(&app))
        .unify()
        .or(share::routes(&app))
        .unify();
    let frontend = app.parts.frontend.filter();
    api.or(frontend)
        .unify()
        .or(fallback::unmatched())
        .unify()
        .recover(error::recover)
        .unify()
        .map(Reply::into_response)
        .boxed()
}

/// A filter handing each request a clone of the app.
fn with_app(app: &App) -> impl Filter<Extract = (App,), Error = Infallible> + Clone {
    let app = app.clone();
    warp::any().map(move || app.clone())
}

/// A poll id from a path segment; anything else names no poll (404).
fn parse_poll_id(raw: &str) -> Result<PollId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::from(polling_core::PollError::NotFound))
}

/// Marks `response` as depending on who asks (the voter cookie, a manage
/// token): shared caches must not keep it, and browsers revalidate it.
fn private(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        warp::http::header::CACHE_CONTROL,
        HeaderValue::from_static(error::PRIVATE),
    );
    headers.insert(
        warp::http::header::VARY,
        HeaderValue::from_static(error::VARY_VIEWER),
    );
}

/// `value` as a JSON response with `status`.
fn json<T: Serialize>(value: &T, status: StatusCode) -> Response {
    warp::reply::with_status(warp::reply::json(value), status).into_response()
}

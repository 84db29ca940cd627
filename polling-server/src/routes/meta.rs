//! The API's description and the process's health.

use std::time::Duration;

use serde_json::json;
use warp::filters::BoxedFilter;
use warp::http::header::CONTENT_TYPE;
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Filter, Reply};

use super::{json, with_app};
use crate::app::App;

/// The OpenAPI 3 document of the API, kept in sync with [`ROUTES`](super::ROUTES) by a test.
pub(crate) const OPENAPI: &str = include_str!("../../openapi.json");

/// How long a readiness check waits for the store.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) fn routes(app: &App) -> BoxedFilter<(Response,)> {
    let openapi = warp::path!("api" / "openapi.json")
        .and(warp::get())
        .map(|| {
            let mut response = Response::new(OPENAPI.into());
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        });
    let healthz = warp::path!("healthz")
        .and(warp::get())
        .map(|| json(&json!({ "status": "ok" }), StatusCode::OK));
    let readyz = warp::path!("readyz")
        .and(warp::get())
        .and(with_app(app))
        .then(readyz);
    openapi.or(healthz).unify().or(readyz).unify().boxed()
}

/// 200 when the store answers within [`READY_TIMEOUT`], else 503; the body
/// names each dependency's state.
async fn readyz(app: App) -> Response {
    let store = match tokio::time::timeout(READY_TIMEOUT, app.store.list(1, None)).await {
        Ok(Ok(_)) => "ok",
        Ok(Err(error)) => {
            tracing::warn!(error = ?error, "readiness: store failed");
            "unavailable"
        }
        Err(_) => "timeout",
    };
    let ready = store == "ok";
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "checks": { "store": store },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(&body, status).into_response()
}

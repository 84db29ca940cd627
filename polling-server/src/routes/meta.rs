//! The API's description and the process's health.

use serde_json::json;
use warp::filters::BoxedFilter;
use warp::http::header::CONTENT_TYPE;
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Filter, Reply};

use super::{json, with_app};
use crate::app::App;
use crate::http::route;

/// The OpenAPI 3 document of the API, kept in sync with [`ROUTES`](crate::ROUTES) by a test.
pub(crate) const OPENAPI: &str = include_str!("../../openapi.json");

pub(super) fn routes(app: &App) -> BoxedFilter<(Response,)> {
    let openapi = route::on(&route::OPENAPI).map(|| {
        let mut response = Response::new(OPENAPI.into());
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    });
    let healthz =
        route::on(&route::HEALTHZ).map(|| json(&json!({ "status": "ok" }), StatusCode::OK));
    let readyz = route::on(&route::READYZ).and(with_app(app)).then(readyz);
    let metrics = route::on(&route::METRICS)
        .and(with_app(app))
        .map(|app: App| metrics(&app));
    openapi
        .or(healthz)
        .unify()
        .or(readyz)
        .unify()
        .or(metrics)
        .unify()
        .boxed()
}

/// Readiness per dependency: 503 when the store does not answer within
/// two seconds (this replica should get no traffic), 200 `degraded` when
/// only the cache or the broadcaster does not (votes still succeed: reads
/// bypass the cache and live updates resume when it returns), else 200
/// `ready`. Checked once at a time and reused for up to a second (see
/// [`Readiness`](crate::readiness::Readiness)), so a flood of these takes no
/// database connections from votes.
async fn readyz(app: App) -> Response {
    let report = app.parts.readiness.report(&app).await;
    let (status, code) = match (report.store, report.cache, report.broadcaster) {
        ("ok", "ok", "ok") => ("ready", StatusCode::OK),
        ("ok", _, _) => ("degraded", StatusCode::OK),
        _ => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
    };
    let body = json!({
        "status": status,
        "checks": {
            "store": report.store,
            "cache": report.cache,
            "broadcaster": report.broadcaster,
        },
    });
    json(&body, code).into_response()
}

/// The Prometheus text exposition of this process's metrics; a comment
/// saying they are off when no recorder was
/// [installed](crate::telemetry::install_recorder).
fn metrics(app: &App) -> Response {
    let text = match crate::telemetry::installed_recorder() {
        Some(handle) => {
            app.before_scrape();
            handle.run_upkeep();
            handle.render()
        }
        None => "# metrics are off: this process installed no recorder \
                 (polling_server::telemetry::install_recorder)\n"
            .to_owned(),
    };
    let mut response = Response::new(text.into());
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

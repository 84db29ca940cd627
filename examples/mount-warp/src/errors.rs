//! The application's one `recover` handler: its own refusals as JSON in
//! the shape the polling API uses, `{"error": {"code", "message"}}`.
//!
//! The polling API answers every request that reaches it, errors included;
//! only what the application refused itself arrives here.

use std::convert::Infallible;

use serde_json::json;
use warp::http::header::WWW_AUTHENTICATE;
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Rejection, Reply};

use crate::auth::Unauthorized;

/// `rejection` as a JSON error response.
pub(crate) async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    let (status, code, message) = if rejection.find::<Unauthorized>().is_some() {
        (
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in: send your session token in X-Session-Token",
        )
    } else if rejection.is_not_found() {
        (StatusCode::NOT_FOUND, "route_not_found", "no such route")
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not take that method",
        )
    } else {
        (
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the request could not be understood",
        )
    };
    Ok(error(status, code, message))
}

/// A JSON error; a 401 also names the scheme that would have passed.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "error": { "code": code, "message": message } });
    let mut response = warp::reply::with_status(warp::reply::json(&body), status).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Session header=\"X-Session-Token\""),
        );
    }
    response
}

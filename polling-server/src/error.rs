//! [`ApiError`]: every refusal the API makes, as a warp rejection, and the one
//! [`recover`] handler that turns rejections into JSON error bodies.
//!
//! Domain errors map to HTTP in exactly one place, [`ApiError::status`].
//! Internal causes are logged here and never put in a body.

use std::convert::Infallible;
use std::sync::Arc;

use polling_core::{PollError, Visibility};
use serde::Serialize;
use warp::http::header::{
    ALLOW, CACHE_CONTROL, CONNECTION, RETRY_AFTER, UPGRADE, VARY, WWW_AUTHENTICATE,
};
use warp::http::{HeaderValue, Method, StatusCode};
use warp::reply::Response;
use warp::{Rejection, Reply};

/// `Cache-Control` of responses that depend on who asks.
pub(crate) const PRIVATE: &str = "private, no-cache";
/// `Vary` of responses that depend on who asks.
pub(crate) const VARY_VIEWER: &str = "Cookie, Authorization";

/// What went wrong with a request, and how to say so.
#[derive(Clone, Debug)]
pub(crate) enum ApiError {
    /// A domain refusal or a backend failure.
    Poll(Arc<PollError>),
    /// The body is not well-formed JSON (or not UTF-8).
    MalformedJson(String),
    /// The JSON is well-formed but a field has the wrong type, is missing or unknown.
    InvalidField(String),
    /// A query parameter is out of range or unparseable.
    InvalidQuery(String),
    /// The body is larger than the configured limit.
    PayloadTooLarge(u64),
    /// The request body is not `application/json`.
    UnsupportedMediaType,
    /// No `Authorization: Bearer` manage token.
    Unauthorized,
    /// No route has this path.
    RouteNotFound,
    /// The path exists, but not with this method.
    MethodNotAllowed(Vec<Method>),
    /// A request warp itself refused (bad header, ...).
    BadRequest(String),
    /// A WebSocket handshake from an origin the server does not allow.
    ForeignOrigin,
    /// A WebSocket route reached without a WebSocket handshake.
    UpgradeRequired,
    /// The live-results socket cap is reached (or the server is stopping).
    TooManySockets,
    /// The client created polls or voted faster than allowed; it may try
    /// again after this many seconds.
    RateLimited(u64),
    /// The cap on requests in flight is reached.
    Overloaded,
    /// The client took longer than allowed to send the body.
    RequestTimeout,
    /// The poll's visibility rule hides its counts from this requester now.
    ResultsHidden(Visibility),
    /// An `Idempotency-Key` header that is not 1 to 255 visible ASCII characters.
    InvalidIdempotencyKey,
    /// An `Idempotency-Key` too short to be unguessable on a request without
    /// a voter cookie, where nothing else tells one client's key from
    /// another's.
    GuessableIdempotencyKey {
        /// The fewest characters such a key may have.
        min_len: usize,
    },
    /// The `Idempotency-Key` was used before with another request body.
    IdempotencyKeyMismatch,
    /// The first request with this `Idempotency-Key` is still running.
    IdempotencyKeyInUse,
    /// The share link needs a public base URL: none is configured and the
    /// request's `Host` is missing or not a host name.
    NoPublicUrl,
}

impl warp::reject::Reject for ApiError {}

impl From<PollError> for ApiError {
    fn from(error: PollError) -> Self {
        Self::Poll(Arc::new(error))
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    /// The one mapping from errors to HTTP statuses.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::Poll(error) => match **error {
                PollError::NotFound => StatusCode::NOT_FOUND,
                PollError::PollClosed | PollError::AlreadyVoted => StatusCode::CONFLICT,
                PollError::InvalidChoice(_) | PollError::InvalidPoll { .. } => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                PollError::SecretVoteChange => StatusCode::BAD_REQUEST,
                PollError::Forbidden | PollError::InviteRequired | PollError::InviteInvalid => {
                    StatusCode::FORBIDDEN
                }
                PollError::InviteNotFound => StatusCode::NOT_FOUND,
                PollError::InviteUsed | PollError::TooManyInvites { .. } => StatusCode::CONFLICT,
                PollError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::MalformedJson(_)
            | Self::BadRequest(_)
            | Self::InvalidIdempotencyKey
            | Self::GuessableIdempotencyKey { .. }
            | Self::NoPublicUrl => StatusCode::BAD_REQUEST,
            Self::IdempotencyKeyMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            Self::IdempotencyKeyInUse => StatusCode::CONFLICT,
            Self::InvalidField(_) | Self::InvalidQuery(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::ForeignOrigin => StatusCode::FORBIDDEN,
            Self::UpgradeRequired => StatusCode::UPGRADE_REQUIRED,
            Self::TooManySockets | Self::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::ResultsHidden(_) => StatusCode::FORBIDDEN,
        }
    }

    /// The machine code of the error body.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::Poll(error) => error.code(),
            Self::MalformedJson(_) => "malformed_json",
            Self::InvalidField(_) => "invalid_field",
            Self::InvalidQuery(_) => "invalid_query",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Unauthorized => "unauthorized",
            Self::RouteNotFound => "route_not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::BadRequest(_) => "bad_request",
            Self::ForeignOrigin => "forbidden_origin",
            Self::UpgradeRequired => "upgrade_required",
            Self::TooManySockets => "too_many_sockets",
            Self::RateLimited(_) => "rate_limited",
            // The same answer as any other temporary unavailability.
            Self::Overloaded => "unavailable",
            Self::RequestTimeout => "request_timeout",
            Self::ResultsHidden(_) => "results_hidden",
            Self::InvalidIdempotencyKey | Self::GuessableIdempotencyKey { .. } => {
                "invalid_idempotency_key"
            }
            Self::IdempotencyKeyMismatch => "idempotency_key_mismatch",
            Self::IdempotencyKeyInUse => "idempotency_key_in_use",
            Self::NoPublicUrl => "bad_request",
        }
    }

    fn message(&self) -> String {
        match self {
            // Backend causes stay in the log.
            Self::Poll(error) if matches!(**error, PollError::Unavailable(_)) => {
                "the service is temporarily unavailable; try again shortly".to_owned()
            }
            Self::Poll(error) => error.to_string(),
            Self::MalformedJson(detail) => format!("the body is not valid JSON: {detail}"),
            Self::InvalidField(detail) => format!("the body does not fit the schema: {detail}"),
            Self::InvalidQuery(detail) | Self::BadRequest(detail) => detail.clone(),
            Self::PayloadTooLarge(limit) => format!("the body is larger than {limit} bytes"),
            Self::UnsupportedMediaType => {
                "send the body as Content-Type: application/json".to_owned()
            }
            Self::Unauthorized => {
                "this needs the poll's manage token as Authorization: Bearer <token>".to_owned()
            }
            Self::RouteNotFound => "no such route".to_owned(),
            Self::ForeignOrigin => {
                "live results are served to this site's own pages only (Origin refused)".to_owned()
            }
            Self::UpgradeRequired => {
                "this route speaks WebSocket: open it with a WebSocket handshake".to_owned()
            }
            Self::TooManySockets => {
                "too many live connections right now; try again shortly".to_owned()
            }
            Self::RateLimited(seconds) => {
                format!("too many requests from this client; try again in {seconds} s")
            }
            Self::Overloaded => {
                "the service is temporarily unavailable; try again shortly".to_owned()
            }
            Self::RequestTimeout => "the request body took too long to arrive".to_owned(),
            Self::ResultsHidden(visibility) => visibility.hidden_message().to_owned(),
            Self::InvalidIdempotencyKey => {
                "Idempotency-Key must be 1 to 255 visible ASCII characters".to_owned()
            }
            Self::GuessableIdempotencyKey { min_len } => format!(
                "without a voter cookie, an Idempotency-Key must be at least {min_len} characters \
                 (a UUID, say): it alone tells your retries from other clients' requests"
            ),
            Self::IdempotencyKeyMismatch => {
                "this Idempotency-Key was used with a different request body".to_owned()
            }
            Self::IdempotencyKeyInUse => {
                "a request with this Idempotency-Key is still being processed; retry later"
                    .to_owned()
            }
            Self::NoPublicUrl => {
                "no Host header to build the share link from (or set --public-url)".to_owned()
            }
            Self::MethodNotAllowed(allowed) => format!(
                "method not allowed here; allowed: {}",
                allowed
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::Poll(error) => match **error {
                PollError::InvalidPoll { field, .. } => Some(field),
                _ => None,
            },
            _ => None,
        }
    }
}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), error = ?self, "request failed");
        }
        let body = Envelope {
            error: Body {
                code: self.code(),
                message: self.message(),
                field: self.field(),
            },
        };
        let mut response =
            warp::reply::with_status(warp::reply::json(&body), status).into_response();
        let headers = response.headers_mut();
        match &self {
            Self::Poll(error) if matches!(**error, PollError::Unavailable(_)) => {
                headers.insert(RETRY_AFTER, HeaderValue::from_static("5"));
            }
            Self::TooManySockets => {
                headers.insert(RETRY_AFTER, HeaderValue::from_static("5"));
            }
            Self::IdempotencyKeyInUse => {
                headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Self::Overloaded => {
                headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Self::RateLimited(seconds) => {
                headers.insert(RETRY_AFTER, HeaderValue::from(*seconds));
            }
            Self::RequestTimeout => {
                // The rest of the body may still be on its way: this
                // connection cannot carry another request.
                headers.insert(CONNECTION, HeaderValue::from_static("close"));
            }
            Self::UpgradeRequired => {
                headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
                headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
            }
            Self::Unauthorized => {
                headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::ResultsHidden(_) => {
                // The answer depends on who asks (voter cookie, manage token).
                headers.insert(CACHE_CONTROL, HeaderValue::from_static(PRIVATE));
                headers.insert(VARY, HeaderValue::from_static(VARY_VIEWER));
            }
            Self::MethodNotAllowed(allowed) => {
                let allow = allowed
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                if let Ok(value) = HeaderValue::from_str(&allow) {
                    headers.insert(ALLOW, value);
                }
            }
            _ => {}
        }
        response
    }
}

/// Turns every rejection into a JSON error body; the one `recover` of the server.
pub(crate) async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    let error = if let Some(error) = rejection.find::<ApiError>() {
        error.clone()
    } else if rejection.is_not_found() {
        ApiError::RouteNotFound
    } else {
        // Routing refusals come as ApiError from the fallback, and bodies are
        // read by our own filter: only header-level refusals reach here.
        tracing::debug!(?rejection, "request refused by warp");
        ApiError::BadRequest("the request could not be understood".to_owned())
    };
    Ok(error.into_response())
}

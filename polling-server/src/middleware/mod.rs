//! The tower layers every request passes through, outermost first, as
//! [`run`](crate::run) composes them with a `ServiceBuilder`:
//!
//! 1. [`ResponseContractLayer`]: the security headers and `X-Served-By` on
//!    every response, refusals of the layers below included;
//! 2. the request id (`X-Request-Id`): tower-http's request-id layers with
//!    our rules (`request_id`), kept when the caller's is sane, returned on
//!    the response;
//! 3. [`ObserveLayer`]: the `request` span carrying that id, one log line
//!    and the HTTP metrics, labelled by [route template](crate::ROUTES);
//! 4. [`RateLimitLayer`]: per-client rates on the routes the table gives a
//!    [rate class](crate::RateClass), the client being the TCP peer or,
//!    behind a [trusted proxy](crate::TrustedProxies), the address it
//!    forwards, and for votes also each voter cookie at that address; in
//!    this process, or in Redis when the app has
//!    [shared rate limits](crate::AppBuilder::shared_rate_limits) (every
//!    replica then draws on one allowance, and falls back to its own while
//!    Redis fails);
//! 5. [`ConcurrencyCapLayer`]: at most so many requests in flight, the rest
//!    of the [sheddable](crate::Route::sheddable) ones shed with 503.
//!
//! Their settings are the [`RequestLimits`](crate::RequestLimits).

mod concurrency;
pub(crate) mod contract;
mod invite_guesses;
mod limiter;
mod observe;
mod rate;
mod rate_limit;
pub(crate) mod request_id;
mod route_template;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;

use warp::reply::Response;
use warp::Reply;

pub(crate) use concurrency::ConcurrencyCapLayer;
pub(crate) use contract::ResponseContractLayer;
pub(crate) use invite_guesses::InviteGuesses;
pub(crate) use observe::ObserveLayer;
pub(crate) use rate::Bucket;
pub(crate) use rate_limit::RateLimitLayer;

use crate::error::ApiError;

/// The future of a limit's service: the routes' response, or a refusal
/// from [`refuse`].
type ResponseFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// Answers at once with `error` as the response the routes would have
/// given, for refusals made before the routes. The security headers,
/// `X-Served-By` and `X-Request-Id` are set on it, as on every response, by
/// the layers outside the limits.
fn refuse(error: ApiError) -> ResponseFuture {
    let response = error.into_response();
    Box::pin(async move { Ok(response) })
}

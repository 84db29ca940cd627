//! Abuse limits around the routes, as tower services the accept loop wraps
//! warp's in (see [`Limits`]):
//!
//! * [`RateLimit`]: per-client rates on creating polls and voting, the
//!   client being the TCP peer or, behind a [trusted proxy](TrustedProxies),
//!   the address it forwards, and for votes also each voter cookie at that
//!   address; in this process, or in Redis when the app has
//!   [shared rate limits](crate::App::with_shared_rate_limits) (every
//!   replica then draws on one allowance, and falls back to its own while
//!   Redis fails);
//! * [`ConcurrencyCap`]: at most so many requests in flight, the rest shed
//!   with 503;
//! * slow backends: on the vote and results paths, tower's load shed,
//!   concurrency limit and timeout (`ARCHITECTURE.md#tower-stack`, between the metrics and
//!   cache layers of the [`Stack`](crate::Stack)): a vote or results read
//!   over the cap, or taking longer than [`Limits::backend_timeout`], is
//!   answered 503 `unavailable`;
//! * slow clients: the accept loop bounds the time to read a request's
//!   headers ([`Limits::header_read_timeout`]), the JSON body extractor the
//!   time to read its body ([`Limits::body_read_timeout`]).
//!
//! Live sockets have their own cap and message limits (`polling-realtime`).
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use polling_server::{App, Limits};
//!
//! let limits = Limits {
//!     votes_per_minute: 1_200,
//!     votes_burst: 3_000,
//!     voter_votes_per_minute: 30,
//!     trusted_proxies: "127.0.0.1".parse().unwrap(),
//!     ..Limits::default()
//! };
//! let app = App::in_process().with_limits(limits);
//! # let _ = app;
//! ```

mod client_addr;
mod concurrency;
mod limiter;
mod rate;
mod rate_limit;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use warp::reply::Response;
use warp::Reply;

pub(crate) use client_addr::PeerAddr;
pub use client_addr::TrustedProxies;
pub(crate) use concurrency::ConcurrencyCapLayer;
pub(crate) use rate_limit::{rate_key, RateLimitLayer};
// The services the layers make, named by the module docs.
#[cfg(doc)]
use {concurrency::ConcurrencyCap, rate_limit::RateLimit};

use crate::error::ApiError;

/// The abuse limits of a server. [`Default`] limits no rate and no
/// concurrency (an embedding application opts in); the binary's defaults
/// are its flags' (`polling-server --help`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `POST /api/polls` per minute per client, with a burst of as many;
    /// 0: unlimited.
    pub polls_per_minute: u32,
    /// `POST /api/polls/{id}/votes` per minute per client address once its
    /// burst is spent; 0: unlimited.
    pub votes_per_minute: u32,
    /// The votes a client address may send at once (a lecture hall behind
    /// one NAT voting together); 0: as many as `votes_per_minute`.
    pub votes_burst: u32,
    /// `POST /api/polls/{id}/votes` per minute per voter cookie at one
    /// address, with a burst of as many; 0: unlimited. Votes without a
    /// cookie (new voters) are held by the address's allowance alone.
    pub voter_votes_per_minute: u32,
    /// The proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// The most requests in flight at once, and the most votes and results
    /// reads in flight through the backends (live sockets' snapshots
    /// included); 0: no cap.
    pub max_concurrent_requests: usize,
    /// How long a client may take to send a request's headers (and, on a
    /// kept-alive connection, to start the next request) before the
    /// connection is closed.
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request's body before it is
    /// answered 408 `request_timeout`.
    pub body_read_timeout: Duration,
    /// How long a vote or a results read may take through the backends
    /// before it is answered 503 `unavailable` (a vote may still commit:
    /// its voter's retry then gets the original receipt).
    pub backend_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            polls_per_minute: 0,
            votes_per_minute: 0,
            votes_burst: 0,
            voter_votes_per_minute: 0,
            trusted_proxies: TrustedProxies::default(),
            max_concurrent_requests: 0,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            backend_timeout: Duration::from_secs(10),
        }
    }
}

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

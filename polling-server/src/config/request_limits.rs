//! [`RequestLimits`]: the rates, caps and timeouts the server holds clients
//! and backends to.
//!
//! They are enforced in several places:
//!
//! * per-client rates on creating polls and voting, and the cap on requests
//!   in flight: the [`middleware`](crate::middleware) around the routes;
//! * slow backends: on the vote and results paths, tower's load shed,
//!   concurrency limit and timeout (`ARCHITECTURE.md#tower-stack`, between
//!   the metrics and cache layers of the
//!   [`PollServiceStack`](crate::PollServiceStack)): a vote or results read
//!   over the cap, or taking longer than [`RequestLimits::backend_timeout`],
//!   is answered 503 `unavailable`;
//! * slow clients: the accept loop bounds the time to read a request's
//!   headers ([`RequestLimits::header_read_timeout`]), the JSON body
//!   extractor the time to read its body
//!   ([`RequestLimits::body_read_timeout`]).
//!
//! Live sockets have their own caps and message limits (`polling-realtime`).
//!
//! # Example
//!
//! ```
//! use polling_server::{App, RequestLimits};
//!
//! let limits = RequestLimits {
//!     votes_per_minute: 1_200,
//!     votes_burst: 3_000,
//!     voter_votes_per_minute: 30,
//!     trusted_proxies: "127.0.0.1".parse().unwrap(),
//!     ..RequestLimits::default()
//! };
//! let app = App::builder().limits(limits).build();
//! # let _ = app;
//! ```

use std::time::Duration;

use crate::http::client_addr::TrustedProxies;

/// The limits a server holds clients and backends to (not to be confused
/// with a poll's size limits, `polling_core::domain`). [`Default`] limits no rate and no
/// concurrency (an embedding application opts in); the binary's defaults
/// are its flags' (`polling-server --help`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLimits {
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

impl Default for RequestLimits {
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

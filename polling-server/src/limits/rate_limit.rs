//! [`RateLimit`]: per-client limits on creating polls and on voting.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tower::Service;
use warp::http::{Method, Request};
use warp::reply::Response;

use super::client_addr::{PeerAddr, TrustedProxies};
use super::rate::RateLimiter;
use super::{refuse, ResponseFuture};
use crate::error::ApiError;
use crate::telemetry::RATE_LIMITED_TOTAL;

/// The rate-limited routes, each with its own allowance per client.
#[derive(Debug)]
struct Limiters {
    /// `POST /api/polls`, if limited.
    polls: Option<RateLimiter>,
    /// `POST /api/polls/{id}/votes`, if limited.
    votes: Option<RateLimiter>,
    /// Whose `X-Forwarded-For` names the client.
    trusted_proxies: TrustedProxies,
}

/// Wraps the routes: a client (its address, see [`TrustedProxies`]) that
/// creates polls or votes faster than allowed is answered 429
/// `rate_limited` with `Retry-After`, without reaching the routes, and the
/// refusal is counted in [`RATE_LIMITED_TOTAL`]. Other routes pass through.
#[derive(Clone, Debug)]
pub(crate) struct RateLimit<S> {
    inner: S,
    limiters: Arc<Limiters>,
}

impl<S> RateLimit<S> {
    /// Limits `inner` to `polls` and `votes` requests per minute per client
    /// (0: unlimited).
    pub(crate) fn new(inner: S, polls: u32, votes: u32, trusted_proxies: TrustedProxies) -> Self {
        let limiter = |per_minute| (per_minute > 0).then(|| RateLimiter::per_minute(per_minute));
        Self {
            inner,
            limiters: Arc::new(Limiters {
                polls: limiter(polls),
                votes: limiter(votes),
                trusted_proxies,
            }),
        }
    }
}

impl Limiters {
    /// The limiter of the route `method` and `path` name, with the route's
    /// name for the metric.
    fn for_route(&self, method: &Method, path: &str) -> Option<(&RateLimiter, &'static str)> {
        if method != Method::POST {
            return None;
        }
        let path = path.strip_suffix('/').unwrap_or(path);
        let segments: Vec<&str> = path.split('/').collect();
        match segments.as_slice() {
            ["", "api", "polls"] => self.polls.as_ref().map(|l| (l, "/api/polls")),
            ["", "api", "polls", id, "votes"] if !id.is_empty() => {
                self.votes.as_ref().map(|l| (l, "/api/polls/{id}/votes"))
            }
            _ => None,
        }
    }
}

impl<S, B> Service<Request<B>> for RateLimit<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if let Some((limiter, route)) = self
            .limiters
            .for_route(request.method(), request.uri().path())
        {
            // Without a peer (a server not run by our accept loop) every
            // request shares one allowance: still bounded, never unlimited.
            let peer = request
                .extensions()
                .get::<PeerAddr>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |peer| peer.0.ip());
            let client = self
                .limiters
                .trusted_proxies
                .client_ip(peer, request.headers());
            if let Err(wait) = limiter.check(rate_key(client), Instant::now()) {
                metrics::counter!(RATE_LIMITED_TOTAL, "route" => route).increment(1);
                return refuse(ApiError::RateLimited(retry_after(wait)));
            }
        }
        Box::pin(self.inner.call(request))
    }
}

/// The allowance a client address draws on: its own for IPv4, its /64
/// network for IPv6 (one subscriber's usual assignment: counting addresses
/// would give every host 2^64 allowances).
fn rate_key(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
    }
}

/// `wait` in whole seconds, rounded up, at least 1.
fn retry_after(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after(Duration::from_millis(1)), 1);
        assert_eq!(retry_after(Duration::from_secs(2)), 2);
        assert_eq!(retry_after(Duration::from_millis(2001)), 3);
        assert_eq!(retry_after(Duration::ZERO), 1);
    }

    #[test]
    fn ipv6_clients_share_their_slash_64_and_ipv4_ones_do_not() {
        let key = |text: &str| rate_key(text.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff::9"));
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2::"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_ne!(key("10.0.0.1"), key("10.0.0.2"));
    }

    #[test]
    fn only_creating_polls_and_voting_are_limited() {
        let limiters = RateLimit::new((), 1, 1, TrustedProxies::default()).limiters;
        let route = |method: Method, path: &str| limiters.for_route(&method, path).map(|(_, r)| r);
        assert_eq!(route(Method::POST, "/api/polls"), Some("/api/polls"));
        assert_eq!(route(Method::POST, "/api/polls/"), Some("/api/polls"));
        assert_eq!(
            route(Method::POST, "/api/polls/abc/votes"),
            Some("/api/polls/{id}/votes")
        );
        assert_eq!(route(Method::GET, "/api/polls"), None);
        assert_eq!(route(Method::POST, "/api/polls/abc/close"), None);
        assert_eq!(route(Method::POST, "/api/polls//votes"), None);
        let votes_only = RateLimit::new((), 0, 1, TrustedProxies::default()).limiters;
        assert!(votes_only.for_route(&Method::POST, "/api/polls").is_none());
    }
}

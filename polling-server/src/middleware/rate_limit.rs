//! [`RateLimit`] (made by [`RateLimitLayer`]): per-client limits on
//! creating polls and on voting.
//!
//! A vote draws on two buckets at once:
//!
//! * its client address's (`votes:{address}`: [`RequestLimits::votes_per_minute`],
//!   burst [`RequestLimits::votes_burst`]), shared by everyone behind one address,
//!   such as a lecture hall on one NAT;
//! * when it carries a voter cookie, that voter's at that address
//!   (`voter:{address}:{voter id}`: [`RequestLimits::voter_votes_per_minute`]), so
//!   one browser hammering cannot spend the hall's allowance.
//!
//! A vote without a cookie is a new voter (a browser's first vote, or a
//! script minting a fresh cookie each time): only the address's bucket
//! holds it, since any per-voter bucket it had would be new too.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use polling_cache_redis::RedisRateLimiter;
use tower::{Layer, Service};
use warp::http::Request;
use warp::reply::Response;

use super::limiter::Limiter;
use super::rate::{Bucket, Rate, RateLimiter};
use super::{refuse, ResponseFuture};
use crate::config::RequestLimits;
use crate::error::ApiError;
use crate::extract::voter_from_cookies;
use crate::http::client_addr::{client_key, PeerAddr, TrustedProxies};
use crate::http::route::{self, RateClass, Route};
use crate::telemetry::RATE_LIMITED_TOTAL;

/// The rates of the limited routes, and where their buckets live.
#[derive(Debug)]
struct Limiters {
    /// `POST /api/polls` per client address, if limited.
    polls: Option<Rate>,
    /// `POST /api/polls/{id}/votes` per client address, if limited.
    votes: Option<Rate>,
    /// `POST /api/polls/{id}/votes` per voter cookie and address, if limited.
    voter_votes: Option<Rate>,
    /// Whose `X-Forwarded-For` names the client.
    trusted_proxies: TrustedProxies,
    /// The buckets: this process's, or Redis'.
    limiter: Limiter,
}

/// Wraps the routes: a client (its address, see [`TrustedProxies`], and for
/// votes its voter cookie, see the [module docs](self)) that creates polls
/// or votes faster than allowed is answered 429 `rate_limited` with
/// `Retry-After`, without reaching the routes, and the refusal is counted
/// in [`RATE_LIMITED_TOTAL`]. Other routes pass through.
#[derive(Clone, Debug)]
pub(crate) struct RateLimit<S> {
    inner: S,
    limiters: Arc<Limiters>,
}

/// Wraps a service in a [`RateLimit`]; every service it wraps (and every
/// clone of those) draws on the same buckets.
#[derive(Clone, Debug)]
pub(crate) struct RateLimitLayer {
    limiters: Arc<Limiters>,
}

impl RateLimitLayer {
    /// The rates of `limits` (0: unlimited), in buckets in Redis through
    /// `shared` when given (every replica on it shares them), else in this
    /// process.
    pub(crate) fn new(limits: &RequestLimits, shared: Option<RedisRateLimiter>) -> Self {
        let rate = |per_minute: u32, burst: u32| {
            (per_minute > 0).then_some(Rate {
                per_minute,
                burst: if burst == 0 { per_minute } else { burst },
            })
        };
        Self {
            limiters: Arc::new(Limiters {
                polls: rate(limits.polls_per_minute, 0),
                votes: rate(limits.votes_per_minute, limits.votes_burst),
                voter_votes: rate(limits.voter_votes_per_minute, 0),
                trusted_proxies: limits.trusted_proxies.clone(),
                limiter: shared
                    .map_or_else(|| Limiter::Local(RateLimiter::default()), Limiter::shared),
            }),
        }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> RateLimit<S> {
        RateLimit {
            inner,
            limiters: Arc::clone(&self.limiters),
        }
    }
}

impl Limiters {
    /// The buckets `request` draws on, with its route; `None` when it is
    /// not limited.
    fn buckets<B>(&self, request: &Request<B>) -> Option<(Vec<Bucket>, &'static Route)> {
        let route = route::resolved(request).route?;
        let class = route.rate?;
        // Without a peer (a server not run by our accept loop) every
        // request shares one allowance: still bounded, never unlimited.
        let peer = request
            .extensions()
            .get::<PeerAddr>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |peer| peer.0.ip());
        let client = client_key(self.trusted_proxies.client_ip(peer, request.headers()));
        let mut buckets = Vec::with_capacity(2);
        match class {
            RateClass::CreatePoll => {
                if let Some(rate) = self.polls {
                    buckets.push(Bucket {
                        name: format!("polls:{client}"),
                        shard: client.to_string(),
                        rate,
                    });
                }
            }
            RateClass::Vote => {
                if let Some(rate) = self.votes {
                    buckets.push(Bucket {
                        name: format!("votes:{client}"),
                        shard: client.to_string(),
                        rate,
                    });
                }
                let voter = voter_from_cookies(request.headers());
                if let (Some(rate), Some(voter)) = (self.voter_votes, voter) {
                    buckets.push(Bucket {
                        name: format!("voter:{client}:{voter}"),
                        shard: client.to_string(),
                        rate,
                    });
                }
            }
        }
        (!buckets.is_empty()).then_some((buckets, route))
    }
}

impl<S, B> Service<Request<B>> for RateLimit<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let Some((buckets, route)) = self.limiters.buckets(&request) else {
            return Box::pin(self.inner.call(request));
        };
        // The service that was made ready goes into the future; a clone
        // takes its place (tower's usual pattern).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limiters = Arc::clone(&self.limiters);
        Box::pin(async move {
            if let Err(wait) = limiters.limiter.check(&buckets).await {
                metrics::counter!(RATE_LIMITED_TOTAL, "route" => route.path).increment(1);
                return refuse(ApiError::RateLimited(retry_after(wait))).await;
            }
            inner.call(request).await
        })
    }
}

/// `wait` in whole seconds, rounded up, at least 1.
pub(super) fn retry_after(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

#[cfg(test)]
mod tests {
    use warp::http::header::COOKIE;

    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after(Duration::from_millis(1)), 1);
        assert_eq!(retry_after(Duration::from_secs(2)), 2);
        assert_eq!(retry_after(Duration::from_millis(2001)), 3);
        assert_eq!(retry_after(Duration::ZERO), 1);
    }

    fn names(limits: &RequestLimits, request: Request<()>) -> Option<Vec<String>> {
        let limiters = RateLimitLayer::new(limits, None).limiters;
        let (buckets, _) = limiters.buckets(&request)?;
        Some(buckets.into_iter().map(|b| b.name).collect())
    }

    fn vote(cookie: Option<&str>) -> Request<()> {
        let mut request = Request::post("/api/polls/abc/votes");
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        let mut request = request.body(()).unwrap();
        request
            .extensions_mut()
            .insert(PeerAddr("10.0.0.7:4000".parse().unwrap()));
        request
    }

    #[test]
    fn a_vote_draws_on_its_address_and_on_its_voter_only_when_it_has_a_cookie() {
        let limits = RequestLimits {
            polls_per_minute: 1,
            votes_per_minute: 1,
            voter_votes_per_minute: 1,
            ..RequestLimits::default()
        };
        assert_eq!(
            names(&limits, vote(Some("polling_voter=v1"))),
            Some(vec!["votes:10.0.0.7".into(), "voter:10.0.0.7:v1".into()])
        );
        assert_eq!(
            names(&limits, vote(None)),
            Some(vec!["votes:10.0.0.7".into()]),
            "a new voter has only its address's allowance"
        );
        assert_eq!(
            names(&limits, vote(Some("polling_voter=not valid"))),
            Some(vec!["votes:10.0.0.7".into()]),
            "a malformed cookie is no cookie"
        );
        let voters_only = RequestLimits {
            voter_votes_per_minute: 1,
            ..RequestLimits::default()
        };
        assert_eq!(names(&voters_only, vote(None)), None);
        assert_eq!(
            names(&RequestLimits::default(), vote(Some("polling_voter=v1"))),
            None
        );
    }

    #[test]
    fn the_vote_burst_defaults_to_the_rate_and_may_exceed_it() {
        let limiters = |votes_burst| {
            let limits = RequestLimits {
                votes_per_minute: 1_200,
                votes_burst,
                ..RequestLimits::default()
            };
            RateLimitLayer::new(&limits, None).limiters.votes
        };
        assert_eq!(limiters(0).map(|r| r.burst), Some(1_200));
        assert_eq!(limiters(3_000).map(|r| r.burst), Some(3_000));
    }
}

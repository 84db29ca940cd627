//! [`InviteGuesses`]: how many wrong invite codes a client may try.
//!
//! A code has 128 random bits, so guessing one is hopeless; this limit
//! keeps it so and makes a guesser visible. Every vote carrying a code that
//! is malformed, unknown or revoked (403 `invite_invalid`) costs its client
//! address one of [`FAILURES_PER_MINUTE`] (burst [`FAILURES_BURST`]); once
//! they are spent, every vote with a code from that address is refused 429
//! `rate_limited` before the code is looked at, until one refills. Votes
//! with valid codes cost nothing, so a hall behind one NAT votes freely
//! while a guesser among it is stopped. The buckets are this process's
//! (each replica counts its own failures), on top of the vote limits every
//! vote draws on (see [`RateLimit`](super::RateLimit)).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use warp::http::HeaderMap;

use super::rate::{Bucket, Rate, RateLimiter};
use super::rate_limit::retry_after;
use crate::http::client_addr::{client_key, PeerAddr, TrustedProxies};
use crate::http::route;
use crate::telemetry::RATE_LIMITED_TOTAL;

/// Failed invite codes a client address may send a minute, once its burst
/// is spent.
pub(crate) const FAILURES_PER_MINUTE: u32 = 10;

/// Failed invite codes a client address may send at once.
pub(crate) const FAILURES_BURST: u32 = 10;

/// The failed-code buckets of one server, by client address. Cheap to
/// clone: clones share the buckets.
#[derive(Clone, Debug)]
pub(crate) struct InviteGuesses {
    /// The buckets, by client address.
    limiter: Arc<RateLimiter>,
    /// Whose `X-Forwarded-For` names the client.
    trusted_proxies: TrustedProxies,
}

impl InviteGuesses {
    /// Buckets for clients named as `trusted_proxies` says.
    pub(crate) fn new(trusted_proxies: TrustedProxies) -> Self {
        Self {
            limiter: Arc::default(),
            trusted_proxies,
        }
    }

    /// The bucket of the client of a request from `peer` with `headers`.
    pub(crate) fn bucket(&self, peer: Option<PeerAddr>, headers: &HeaderMap) -> Bucket {
        let peer = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.0.ip());
        let client = client_key(self.trusted_proxies.client_ip(peer, headers));
        Bucket {
            name: format!("invites:{client}"),
            shard: client.to_string(),
            rate: Rate {
                per_minute: FAILURES_PER_MINUTE,
                burst: FAILURES_BURST,
            },
        }
    }

    /// The seconds until `bucket` may try a code again, if it has spent
    /// them; such a refusal is counted in [`RATE_LIMITED_TOTAL`] as one of
    /// the vote route's.
    pub(crate) fn spent(&self, bucket: &Bucket) -> Option<u64> {
        let wait: Duration = self
            .limiter
            .peek(std::slice::from_ref(bucket), Instant::now())
            .err()?;
        metrics::counter!(RATE_LIMITED_TOTAL, "route" => route::VOTE.path).increment(1);
        Some(retry_after(wait))
    }

    /// Counts one failed code against `bucket`.
    pub(crate) fn failed(&self, bucket: &Bucket) {
        // A bucket already spent stays spent: nothing more to count.
        let _ = self
            .limiter
            .check(std::slice::from_ref(bucket), Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use warp::http::HeaderMap;

    use super::*;

    #[test]
    fn failures_spend_the_clients_bucket_and_only_failures_do() {
        let guesses = InviteGuesses::new(TrustedProxies::default());
        let peer = |ip: &str| Some(PeerAddr(format!("{ip}:4000").parse().unwrap()));
        let guesser = guesses.bucket(peer("10.0.0.7"), &HeaderMap::new());
        let neighbour = guesses.bucket(peer("10.0.0.8"), &HeaderMap::new());
        for _ in 0..FAILURES_BURST {
            assert_eq!(guesses.spent(&guesser), None, "peeking costs nothing");
            guesses.failed(&guesser);
        }
        assert!(guesses.spent(&guesser).is_some());
        assert_eq!(guesses.spent(&neighbour), None);
    }
}

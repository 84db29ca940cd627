//! [`Limiter`]: where the rate limits' buckets live, in this process or in
//! Redis for every replica, with this process's as the fallback.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use polling_cache_redis::{RateBucket, RateDecision, RedisRateLimiter};

use super::rate::{Bucket, RateLimiter};
use crate::telemetry::RATE_LIMIT_FALLBACK_TOTAL;

/// After Redis failed a check, how long the next checks go straight to the
/// local buckets rather than each wait for Redis to fail again.
const FALLBACK_FOR: Duration = Duration::from_secs(1);

/// The buckets of the [`RateLimit`](super::RateLimit) service.
#[derive(Debug)]
pub(crate) enum Limiter {
    /// In this process: each replica has its own allowance.
    Local(RateLimiter),
    /// In Redis: every replica on the same Redis and prefix shares them.
    Shared(SharedLimiter),
}

/// Buckets in Redis, with local ones for when Redis fails.
#[derive(Debug)]
pub(crate) struct SharedLimiter {
    /// The buckets every replica shares.
    redis: RedisRateLimiter,
    /// The buckets used while Redis fails: a vote is never refused because
    /// Redis is down, only held to this replica's own allowance.
    fallback: RateLimiter,
    /// Until when checks skip Redis, after it failed one.
    skip_redis_until: Mutex<Option<Instant>>,
}

impl Limiter {
    /// Buckets in Redis through `redis`, falling back to this process's.
    pub(crate) fn shared(redis: RedisRateLimiter) -> Self {
        Self::Shared(SharedLimiter {
            redis,
            fallback: RateLimiter::default(),
            skip_redis_until: Mutex::new(None),
        })
    }

    /// Takes one request from every bucket of `buckets`, or from none when
    /// one has none left; then says how long until each has one. When Redis
    /// fails (or failed less than [`FALLBACK_FOR`] ago) the local buckets
    /// decide, counted in [`RATE_LIMIT_FALLBACK_TOTAL`].
    pub(crate) async fn check(&self, buckets: &[Bucket]) -> Result<(), Duration> {
        let shared = match self {
            Self::Local(local) => return local.check(buckets, Instant::now()),
            Self::Shared(shared) => shared,
        };
        if !shared.redis_skipped(Instant::now()) {
            let in_redis: Vec<RateBucket> = buckets
                .iter()
                .map(|b| {
                    RateBucket::new(b.name.clone(), b.rate.per_minute, b.rate.burst)
                        .with_shard(b.shard.clone())
                })
                .collect();
            match shared.redis.check(&in_redis).await {
                Ok(RateDecision::Allowed) => return Ok(()),
                Ok(RateDecision::Refused { retry_after }) => return Err(retry_after),
                Err(error) => {
                    tracing::warn!(%error, "Redis rate limits failed; using this replica's own for {FALLBACK_FOR:?}");
                    *shared.skip_lock() = Some(Instant::now() + FALLBACK_FOR);
                }
            }
        }
        metrics::counter!(RATE_LIMIT_FALLBACK_TOTAL).increment(1);
        shared.fallback.check(buckets, Instant::now())
    }
}

impl SharedLimiter {
    fn skip_lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.skip_redis_until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Whether checks at `now` skip Redis, which failed a moment ago.
    fn redis_skipped(&self, now: Instant) -> bool {
        self.skip_lock().is_some_and(|until| now < until)
    }
}

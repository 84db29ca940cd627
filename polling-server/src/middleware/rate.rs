//! [`RateLimiter`]: token buckets in this process, in bounded memory, and
//! the [`Rate`] and [`Bucket`] a request draws on.
//!
//! Ours rather than a crate such as `governor`: the same buckets must also
//! live in Redis (`polling-cache-redis`'s `RedisRateLimiter`, a Lua GCRA
//! script) with the very same arithmetic, so that a replica falling back to
//! its own buckets while Redis fails limits exactly as the shared ones do;
//! and a keyed limiter here must forget idle keys under a hard memory bound
//! without letting newcomers make it sweep on every request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most buckets a limiter remembers before it forgets the idle ones; a
/// bucket is idle once it has refilled.
const MAX_TRACKED: usize = 65_536;

/// The least time between two sweeps of a full limiter: a sweep looks at
/// every remembered bucket, and newcomers arriving while every slot is taken
/// must not each pay for one (which would make the limiter a lever for
/// exhausting the CPU).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// A token bucket's size and refill: `burst` requests at once, then
/// `per_minute` a minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rate {
    /// Requests a minute, once the burst is spent (at least 1).
    pub(crate) per_minute: u32,
    /// Requests at once from a full bucket (at least 1).
    pub(crate) burst: u32,
}

impl Rate {
    /// The time one request costs: `60 s / per_minute`.
    fn interval(self) -> Duration {
        Duration::from_secs(60) / self.per_minute.max(1)
    }

    /// How far ahead of now a bucket's arrival time may run: the burst.
    fn tolerance(self) -> Duration {
        self.interval() * (self.burst.max(1) - 1)
    }
}

/// One allowance a request draws on: a named bucket (`votes:203.0.113.7`)
/// and its rate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bucket {
    /// Who shares the allowance: route kind, client address, voter.
    pub(crate) name: String,
    /// The client address the bucket belongs to, shared by the buckets of
    /// one request: on a Redis Cluster it puts them in one slot, where one
    /// script charges them together.
    pub(crate) shard: String,
    /// The bucket's size and refill.
    pub(crate) rate: Rate,
}

/// A token bucket per name, kept as GCRA does: one instant per bucket (the
/// "theoretical arrival time" of its next request), so a bucket costs 16
/// bytes of state plus its name. A request drawing on several buckets is
/// allowed only if each has a request left, and then charged to each.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    /// Each bucket's theoretical arrival time, and when the map was last swept.
    buckets: Mutex<Buckets>,
}

/// The state behind a [`RateLimiter`]'s lock.
#[derive(Debug, Default)]
struct Buckets {
    /// Each bucket's theoretical arrival time.
    arrivals: HashMap<String, Instant>,
    /// When idle buckets were last forgotten, if ever.
    swept: Option<Instant>,
}

impl RateLimiter {
    /// Takes one request from every bucket of `buckets` at `now`, or from
    /// none when one has none left; then says how long until each has one.
    pub(crate) fn check(&self, buckets: &[Bucket], now: Instant) -> Result<(), Duration> {
        self.take(buckets, now, true)
    }

    /// Whether [`check`](Self::check) would allow `buckets` at `now`,
    /// without taking anything from them.
    pub(crate) fn peek(&self, buckets: &[Bucket], now: Instant) -> Result<(), Duration> {
        self.take(buckets, now, false)
    }

    /// [`check`](Self::check) when `charge`, else [`peek`](Self::peek).
    fn take(&self, buckets: &[Bucket], now: Instant, charge: bool) -> Result<(), Duration> {
        let mut guard = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let Buckets { arrivals, swept } = &mut *guard;
        let newcomers = buckets
            .iter()
            .filter(|b| !arrivals.contains_key(&b.name))
            .count();
        if newcomers > 0 && arrivals.len() + newcomers > MAX_TRACKED {
            if swept.is_none_or(|at| now.saturating_duration_since(at) >= SWEEP_EVERY) {
                // Forget every bucket that is full again: remembering it
                // changes nothing.
                arrivals.retain(|_, arrival| *arrival > now);
                *swept = Some(now);
            }
            if arrivals.len() + newcomers > MAX_TRACKED {
                // Every remembered bucket is mid-burst: an attack spread over
                // more clients than we keep. Refusing the newcomer keeps
                // memory bounded; it may retry once a slot frees up.
                let interval = buckets.iter().map(|b| b.rate.interval()).max();
                return Err(SWEEP_EVERY.max(interval.unwrap_or_default()));
            }
        }
        let mut wait = Duration::ZERO;
        for bucket in buckets {
            let arrival = arrivals.get(&bucket.name).copied().unwrap_or(now).max(now);
            let allowed_from = arrival.checked_sub(bucket.rate.tolerance()).unwrap_or(now);
            wait = wait.max(allowed_from.saturating_duration_since(now));
        }
        if wait > Duration::ZERO {
            return Err(wait);
        }
        if !charge {
            return Ok(());
        }
        for bucket in buckets {
            let arrival = arrivals.get(&bucket.name).copied().unwrap_or(now).max(now);
            arrivals.insert(bucket.name.clone(), arrival + bucket.rate.interval());
        }
        Ok(())
    }

    /// How many buckets are remembered.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.buckets.lock().unwrap().arrivals.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(name: impl Into<String>, per_minute: u32, burst: u32) -> Vec<Bucket> {
        vec![Bucket {
            name: name.into(),
            shard: "test".to_owned(),
            rate: Rate { per_minute, burst },
        }]
    }

    #[test]
    fn a_client_gets_its_burst_then_one_request_per_interval() {
        let limiter = RateLimiter::default();
        let one = bucket("1", 3, 3);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(&one, start), Ok(()));
        }
        let wait = limiter.check(&one, start).unwrap_err();
        assert_eq!(wait, Duration::from_secs(20));
        assert!(limiter
            .check(&one, start + Duration::from_secs(19))
            .is_err());
        assert_eq!(limiter.check(&one, start + Duration::from_secs(20)), Ok(()));
        assert!(limiter
            .check(&one, start + Duration::from_secs(20))
            .is_err());
        // Others have their own allowance.
        assert_eq!(limiter.check(&bucket("2", 3, 3), start), Ok(()));
    }

    #[test]
    fn a_burst_larger_than_the_rate_is_spent_at_once_then_refills_at_the_rate() {
        let limiter = RateLimiter::default();
        let hall = bucket("hall", 1_200, 3_000);
        let start = Instant::now();
        for n in 0..3_000 {
            assert_eq!(limiter.check(&hall, start), Ok(()), "vote {n}");
        }
        assert_eq!(limiter.check(&hall, start), Err(Duration::from_millis(50)));
        let later = start + Duration::from_secs(1);
        for _ in 0..20 {
            assert_eq!(limiter.check(&hall, later), Ok(()));
        }
        assert!(limiter.check(&hall, later).is_err());
    }

    #[test]
    fn a_request_is_charged_to_every_bucket_or_to_none() {
        let limiter = RateLimiter::default();
        let address = bucket("address", 1, 10);
        let both = [address.clone(), bucket("voter", 1, 2)].concat();
        let start = Instant::now();
        assert_eq!(limiter.check(&both, start), Ok(()));
        assert_eq!(limiter.check(&both, start), Ok(()));
        for _ in 0..5 {
            assert_eq!(
                limiter.check(&both, start),
                Err(Duration::from_secs(60)),
                "the voter's bucket is empty"
            );
        }
        for n in 0..8 {
            assert_eq!(limiter.check(&address, start), Ok(()), "request {n}");
        }
        assert!(limiter.check(&address, start).is_err());
    }

    #[test]
    fn a_quiet_client_gets_its_whole_burst_back() {
        let limiter = RateLimiter::default();
        let one = bucket("1", 2, 2);
        let start = Instant::now();
        assert!(limiter.check(&one, start).is_ok());
        assert!(limiter.check(&one, start).is_ok());
        assert!(limiter.check(&one, start).is_err());
        let later = start + Duration::from_secs(600);
        assert!(limiter.check(&one, later).is_ok());
        assert!(limiter.check(&one, later).is_ok());
        assert!(limiter.check(&one, later).is_err());
    }

    #[test]
    fn memory_stays_bounded_and_idle_clients_are_forgotten_first() {
        let limiter = RateLimiter::default();
        let start = Instant::now();
        for n in 0..MAX_TRACKED {
            limiter
                .check(&bucket(n.to_string(), 60, 60), start)
                .unwrap();
        }
        assert_eq!(limiter.tracked(), MAX_TRACKED);
        let newcomer = bucket("newcomer", 60, 60);
        // Still mid-burst a moment later: a newcomer is refused, not stored.
        let soon = start + Duration::from_millis(500);
        assert!(limiter.check(&newcomer, soon).is_err());
        assert_eq!(limiter.tracked(), MAX_TRACKED);
        // Their buckets refill after 1 s, but the map is swept at most once
        // a second: until then newcomers are refused without a scan.
        let refilled = start + Duration::from_millis(1200);
        assert!(limiter.check(&newcomer, refilled).is_err());
        assert_eq!(limiter.tracked(), MAX_TRACKED);
        // Then the idle clients are forgotten.
        let later = start + Duration::from_millis(1600);
        assert!(limiter.check(&newcomer, later).is_ok());
        assert_eq!(limiter.tracked(), 1);
    }
}

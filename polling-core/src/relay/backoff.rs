//! [`Backoff`]: exponential delays with jitter between reconnect attempts.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

/// The delays between reconnect attempts.
///
/// The delay starts at a minimum and doubles after every failed attempt up to
/// a cap; a successful connection resets it. Each delay is "equal jitter":
/// half of it fixed, the other half random, so that replicas that lost the
/// remote service at the same moment do not all come back at the same moment.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use polling_core::relay::Backoff;
///
/// let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
/// let first = backoff.next_delay();
/// assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
/// let second = backoff.next_delay();
/// assert!(second >= Duration::from_millis(100) && second <= Duration::from_millis(200));
/// backoff.reset(); // connected: the next failure starts over from 100 ms
/// ```
#[derive(Debug)]
pub struct Backoff {
    /// The delay after the first failure, and after a reset.
    min: Duration,
    /// The longest delay.
    max: Duration,
    /// The delay (before jitter) the next call to [`Backoff::next_delay`] gives.
    next: Duration,
    /// The state of the xorshift generator behind the jitter; never 0.
    random: u64,
}

impl Backoff {
    /// Delays from `min`, doubling, up to `max` (raised to `min` if lower).
    pub fn new(min: Duration, max: Duration) -> Self {
        // A randomly keyed hasher is the standard library's only source of
        // randomness; its output seeds the generator (`| 1`: never 0).
        let seed = RandomState::new().hash_one(0_u64) | 1;
        Self {
            min,
            max: max.max(min),
            next: min,
            random: seed,
        }
    }

    /// The delay before the next attempt, jittered; the one after is twice as
    /// long, up to the cap.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next_base();
        let random = self.next_random();
        jittered(base, random)
    }

    /// Starts over from the minimum delay (after a successful connection).
    pub fn reset(&mut self) {
        self.next = self.min;
    }

    /// The next delay before jitter.
    fn next_base(&mut self) -> Duration {
        let base = self.next;
        self.next = base.saturating_mul(2).min(self.max);
        base
    }

    /// xorshift64*: plenty for jitter.
    fn next_random(&mut self) -> u64 {
        let mut x = self.random;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.random = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// `base` with "equal jitter": half of it, plus a part of the other half
/// chosen by `random`. Always within `base / 2 ..= base`.
fn jittered(base: Duration, random: u64) -> Duration {
    let half = base / 2;
    let spread = u64::try_from((base - half).as_micros()).unwrap_or(u64::MAX);
    let extra = if spread == 0 {
        0
    } else {
        random % (spread + 1)
    };
    half + Duration::from_micros(extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn delays_double_from_the_minimum_up_to_the_cap() {
        let mut backoff = Backoff::new(50 * MS, 1000 * MS);
        let bases: Vec<_> = (0..8).map(|_| backoff.next_base()).collect();
        assert_eq!(
            bases,
            [50, 100, 200, 400, 800, 1000, 1000, 1000].map(|ms| ms * MS)
        );
    }

    #[test]
    fn a_reset_starts_over_from_the_minimum() {
        let mut backoff = Backoff::new(50 * MS, 1000 * MS);
        for _ in 0..4 {
            backoff.next_base();
        }
        backoff.reset();
        assert_eq!(backoff.next_base(), 50 * MS);
        assert_eq!(backoff.next_base(), 100 * MS);
    }

    #[test]
    fn a_cap_below_the_minimum_is_the_minimum() {
        let mut backoff = Backoff::new(200 * MS, 10 * MS);
        assert_eq!(backoff.next_base(), 200 * MS);
        assert_eq!(backoff.next_base(), 200 * MS);
    }

    #[test]
    fn jittered_delays_stay_between_half_and_all_of_the_delay() {
        let mut backoff = Backoff::new(50 * MS, 3000 * MS);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let base = backoff.next;
            let delay = backoff.next_delay();
            assert!(
                delay >= base / 2 && delay <= base,
                "{delay:?} outside {:?}..={base:?}",
                base / 2
            );
            seen.insert(delay);
        }
        assert!(seen.len() > 10, "the jitter varies: {seen:?}");
    }

    #[test]
    fn jitter_covers_both_ends_of_its_range() {
        let base = 100 * MS;
        assert_eq!(jittered(base, 0), 50 * MS);
        assert_eq!(jittered(base, 50_000), 100 * MS);
        assert_eq!(jittered(Duration::ZERO, 12345), Duration::ZERO);
    }
}

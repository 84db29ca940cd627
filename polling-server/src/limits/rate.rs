//! [`RateLimiter`]: so many requests per minute per client address, with a
//! burst of as many, in bounded memory.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most client addresses a limiter remembers before it forgets the idle
/// ones; an address is idle once its bucket has refilled.
const MAX_TRACKED: usize = 65_536;

/// The least time between two sweeps of a full limiter: a sweep looks at
/// every remembered client, and newcomers arriving while every slot is taken
/// must not each pay for one (which would make the limiter a lever for
/// exhausting the CPU).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// A token bucket per client address, kept as GCRA does: one instant per
/// address (the "theoretical arrival time" of its next request), so a
/// client costs 16 bytes of state plus its key.
///
/// A client may send `per_minute` requests at once, then one every
/// `60 s / per_minute`.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    /// The time one request "costs": `60 s / per_minute`.
    interval: Duration,
    /// How far ahead of now a client's arrival time may run: the burst.
    tolerance: Duration,
    /// Each client's theoretical arrival time, and when the map was last swept.
    clients: Mutex<Clients>,
}

/// The state behind a [`RateLimiter`]'s lock.
#[derive(Debug, Default)]
struct Clients {
    /// Each client's theoretical arrival time.
    arrivals: HashMap<IpAddr, Instant>,
    /// When idle clients were last forgotten, if ever.
    swept: Option<Instant>,
}

impl RateLimiter {
    /// A limiter of `per_minute` requests per client (at least 1).
    pub(crate) fn per_minute(per_minute: u32) -> Self {
        let per_minute = per_minute.max(1);
        let interval = Duration::from_secs(60) / per_minute;
        Self {
            interval,
            tolerance: interval * (per_minute - 1),
            clients: Mutex::new(Clients::default()),
        }
    }

    /// Takes one request from `client`'s allowance at `now`; when there is
    /// none left, says how long until there is.
    pub(crate) fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut guard = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let Clients { arrivals, swept } = &mut *guard;
        if arrivals.len() >= MAX_TRACKED && !arrivals.contains_key(&client) {
            if swept.is_none_or(|at| now.saturating_duration_since(at) >= SWEEP_EVERY) {
                // Forget every client whose bucket is full again:
                // remembering them changes nothing.
                arrivals.retain(|_, arrival| *arrival > now);
                *swept = Some(now);
            }
            if arrivals.len() >= MAX_TRACKED {
                // Every remembered client is mid-burst: an attack spread over
                // more addresses than we keep. Refusing the newcomer keeps
                // memory bounded; it may retry once a slot frees up.
                return Err(SWEEP_EVERY.max(self.interval));
            }
        }
        let clients = arrivals;
        let arrival = clients.get(&client).copied().unwrap_or(now).max(now);
        let allowed_from = arrival.checked_sub(self.tolerance).unwrap_or(now);
        if now < allowed_from {
            return Err(allowed_from - now);
        }
        clients.insert(client, arrival + self.interval);
        Ok(())
    }

    /// How many client addresses are remembered.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.clients.lock().unwrap().arrivals.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(n.into())
    }

    #[test]
    fn a_client_gets_its_burst_then_one_request_per_interval() {
        let limiter = RateLimiter::per_minute(3);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(ip(1), start), Ok(()));
        }
        let wait = limiter.check(ip(1), start).unwrap_err();
        assert_eq!(wait, Duration::from_secs(20));
        assert!(limiter
            .check(ip(1), start + Duration::from_secs(19))
            .is_err());
        assert_eq!(
            limiter.check(ip(1), start + Duration::from_secs(20)),
            Ok(())
        );
        assert!(limiter
            .check(ip(1), start + Duration::from_secs(20))
            .is_err());
        // Others have their own allowance.
        assert_eq!(limiter.check(ip(2), start), Ok(()));
    }

    #[test]
    fn a_quiet_client_gets_its_whole_burst_back() {
        let limiter = RateLimiter::per_minute(2);
        let start = Instant::now();
        assert!(limiter.check(ip(1), start).is_ok());
        assert!(limiter.check(ip(1), start).is_ok());
        assert!(limiter.check(ip(1), start).is_err());
        let later = start + Duration::from_secs(600);
        assert!(limiter.check(ip(1), later).is_ok());
        assert!(limiter.check(ip(1), later).is_ok());
        assert!(limiter.check(ip(1), later).is_err());
    }

    #[test]
    fn memory_stays_bounded_and_idle_clients_are_forgotten_first() {
        let limiter = RateLimiter::per_minute(60);
        let start = Instant::now();
        for n in 0..MAX_TRACKED as u32 {
            limiter.check(ip(n), start).unwrap();
        }
        assert_eq!(limiter.tracked(), MAX_TRACKED);
        // Still mid-burst a moment later: a newcomer is refused, not stored.
        let soon = start + Duration::from_millis(500);
        assert!(limiter.check(ip(u32::MAX), soon).is_err());
        assert_eq!(limiter.tracked(), MAX_TRACKED);
        // Their buckets refill after 1 s, but the map is swept at most once
        // a second: until then newcomers are refused without a scan.
        let refilled = start + Duration::from_millis(1200);
        assert!(limiter.check(ip(u32::MAX), refilled).is_err());
        assert_eq!(limiter.tracked(), MAX_TRACKED);
        // Then the idle clients are forgotten.
        let later = start + Duration::from_millis(1600);
        assert!(limiter.check(ip(u32::MAX), later).is_ok());
        assert_eq!(limiter.tracked(), 1);
    }
}

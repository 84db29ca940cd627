//! Statistics of a load run: latency percentiles, error counts, and the
//! versions the WebSocket watchers held and when they first held them.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Latency samples in nanoseconds, sorted once so percentiles are exact.
#[derive(Clone, Debug, Default)]
pub(crate) struct Latencies(Vec<u64>);

impl Latencies {
    /// Sorts `nanos` for [`percentile`](Self::percentile).
    pub(crate) fn new(mut nanos: Vec<u64>) -> Self {
        nanos.sort_unstable();
        Self(nanos)
    }

    /// How many samples there are.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The `p`th percentile (0 to 100) by nearest rank: the smallest sample
    /// that at least `p`% of the samples do not exceed; `None` without samples.
    pub(crate) fn percentile(&self, p: f64) -> Option<Duration> {
        if self.0.is_empty() {
            return None;
        }
        let rank = (p / 100.0 * self.0.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.0.len()) - 1;
        Some(Duration::from_nanos(self.0[index]))
    }
}

/// Nanoseconds in `d`, saturating (a load run never lasts 584 years).
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Failed requests by kind (`HTTP 503`, `timeout`, `connect: ...`).
#[derive(Clone, Debug, Default)]
pub(crate) struct Errors(BTreeMap<String, u64>);

impl Errors {
    /// Counts one error of `kind`.
    pub(crate) fn add(&mut self, kind: impl Into<String>) {
        *self.0.entry(kind.into()).or_default() += 1;
    }

    /// Adds the counts of `other` to these.
    pub(crate) fn merge(&mut self, other: Self) {
        for (kind, n) in other.0 {
            *self.0.entry(kind).or_default() += n;
        }
    }

    /// All errors of every kind.
    pub(crate) fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

impl fmt::Display for Errors {
    /// `none`, or `HTTP 503 x3, timeout x1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        for (i, (kind, n)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{kind} x{n}")?;
        }
        Ok(())
    }
}

/// The results versions the watchers held, each with the instant the first
/// watcher got it: only rising versions are kept, so the list is sorted by
/// version and by time.
#[derive(Debug, Default)]
pub(crate) struct Feed(Mutex<Vec<(u64, Instant)>>);

impl Feed {
    /// Records that a watcher holds `version` since `at`.
    pub(crate) fn hold(&self, version: u64, at: Instant) {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if seen.last().is_none_or(|&(max, _)| version > max) {
            seen.push((version, at));
        }
    }

    /// The highest version any watcher holds.
    pub(crate) fn max(&self) -> Option<u64> {
        let seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seen.last().map(|&(version, _)| version)
    }

    /// The vote-to-browser delay of each acknowledged vote (`version`, the
    /// instant its response arrived): the time until a watcher held that
    /// version or a later one, zero when one already did. Returns the delays
    /// in nanoseconds and how many votes no watcher ever saw.
    pub(crate) fn delays(&self, acks: &[(u64, Instant)]) -> (Vec<u64>, usize) {
        let seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut delays = Vec::with_capacity(acks.len());
        let mut unseen = 0;
        for &(version, acked) in acks {
            let first = seen.partition_point(|&(held, _)| held < version);
            match seen.get(first) {
                Some(&(_, at)) => delays.push(nanos(at.saturating_duration_since(acked))),
                None => unseen += 1,
            }
        }
        (delays, unseen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let lat = Latencies::new((1..=100).rev().collect());
        assert_eq!(lat.percentile(50.0), Some(Duration::from_nanos(50)));
        assert_eq!(lat.percentile(95.0), Some(Duration::from_nanos(95)));
        assert_eq!(lat.percentile(99.0), Some(Duration::from_nanos(99)));
        assert_eq!(lat.percentile(100.0), Some(Duration::from_nanos(100)));
        assert_eq!(lat.percentile(0.0), Some(Duration::from_nanos(1)));

        let one = Latencies::new(vec![7]);
        assert_eq!(one.percentile(99.0), Some(Duration::from_nanos(7)));
        assert_eq!(Latencies::default().percentile(50.0), None);
    }

    #[test]
    fn vote_to_browser_delays() {
        let t = Instant::now();
        let ms = Duration::from_millis;
        let feed = Feed::default();
        feed.hold(0, t);
        feed.hold(1, t + ms(1));
        feed.hold(3, t + ms(5));
        feed.hold(2, t + ms(6)); // a slower watcher: versions only rise
        assert_eq!(feed.max(), Some(3));

        let acks = [
            (1, t),         // held 1 ms later
            (2, t + ms(2)), // skipped to 3, held 3 ms later
            (3, t + ms(6)), // already held: 0
            (4, t),         // never held
        ];
        let (delays, unseen) = feed.delays(&acks);
        assert_eq!(delays, [nanos(ms(1)), nanos(ms(3)), 0]);
        assert_eq!(unseen, 1);
    }

    #[test]
    fn errors_count_by_kind() {
        let mut errors = Errors::default();
        assert_eq!(errors.to_string(), "none");
        errors.add("timeout");
        let mut more = Errors::default();
        more.add("HTTP 503");
        more.add("HTTP 503");
        errors.merge(more);
        assert_eq!(errors.total(), 3);
        assert_eq!(errors.to_string(), "HTTP 503 x2, timeout x1");
    }
}

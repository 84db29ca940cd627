//! [`Tally`]: operations per second per configuration, printed side by side.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The (operations, elapsed) samples of one configuration, oldest first.
type Samples = Vec<(u64, Duration)>;

/// Records the samples of each measured configuration and prints rates and
/// ratios at the end of a run.
///
/// A benchmark times its routine with criterion's `iter_custom` and hands
/// each sample (operations, elapsed) to [`record`](Tally::record). Criterion
/// warms up first and then takes its samples, so the last `keep` samples of a
/// configuration are its measurement.
#[derive(Clone, Debug)]
pub struct Tally {
    /// Samples per (row, column).
    samples: Arc<Mutex<BTreeMap<(String, String), Samples>>>,
    /// How many of the latest samples count.
    keep: usize,
}

impl Tally {
    /// A tally that keeps the last `keep` samples of each configuration:
    /// criterion's sample size.
    pub fn new(keep: usize) -> Self {
        Self {
            samples: Arc::default(),
            keep,
        }
    }

    /// Records that `ops` operations of configuration (`row`, `column`) took `elapsed`.
    pub fn record(&self, row: &str, column: &str, ops: u64, elapsed: Duration) {
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples
            .entry((row.to_owned(), column.to_owned()))
            .or_default()
            .push((ops, elapsed));
    }

    /// Operations per second of (`row`, `column`) over its kept samples.
    pub fn rate(&self, row: &str, column: &str) -> Option<f64> {
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let all = samples.get(&(row.to_owned(), column.to_owned()))?;
        let kept = &all[all.len().saturating_sub(self.keep)..];
        let ops: u64 = kept.iter().map(|(ops, _)| ops).sum();
        let secs: f64 = kept.iter().map(|(_, d)| d.as_secs_f64()).sum();
        (secs > 0.0).then(|| ops as f64 / secs)
    }

    /// Prints one line per row: each column's rate in `unit`, then
    /// `columns[1] / columns[0]` as the ratio, with `target` if given.
    pub fn print(
        &self,
        title: &str,
        unit: &str,
        rows: &[&str],
        columns: [&str; 2],
        target: Option<f64>,
    ) {
        println!("\n{title}");
        println!(
            "{:>12} {:>16} {:>16} {:>8}",
            "",
            format!("{} {unit}", columns[0]),
            format!("{} {unit}", columns[1]),
            "ratio"
        );
        for row in rows {
            let base = self.rate(row, columns[0]);
            let other = self.rate(row, columns[1]);
            let ratio = match (base, other) {
                (Some(b), Some(o)) if b > 0.0 => format!("{:.2}x", o / b),
                _ => "-".into(),
            };
            let show = |r: Option<f64>| r.map_or_else(|| "-".into(), |r| format!("{r:.0}"));
            println!(
                "{row:>12} {:>16} {:>16} {ratio:>8}",
                show(base),
                show(other)
            );
        }
        if let Some(target) = target {
            println!("target: {} / {} >= {target}x", columns[1], columns[0]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_samples_count() {
        let tally = Tally::new(2);
        tally.record("r", "c", 1_000, Duration::from_secs(100)); // warm-up
        tally.record("r", "c", 10, Duration::from_secs(1));
        tally.record("r", "c", 30, Duration::from_secs(1));
        assert_eq!(tally.rate("r", "c"), Some(20.0));
        assert_eq!(tally.rate("r", "other"), None);
    }
}

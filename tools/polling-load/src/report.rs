//! The table `polling-load` prints: each figure of our server beside the
//! baseline's from the same run, and the ratio.

use super::run::Run;
use super::stats::{Errors, Feed, Latencies};

/// The figures of one run.
struct Figures {
    /// Recorded votes per second.
    votes_per_sec: f64,
    /// Vote latencies.
    votes: Latencies,
    /// Successful reads per second.
    reads_per_sec: f64,
    /// Read latencies.
    reads: Latencies,
}

impl Figures {
    /// Sums up `run`.
    fn of(run: &Run) -> Self {
        let secs = run.elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
        Self {
            votes_per_sec: run.votes.len() as f64 / secs,
            votes: Latencies::new(run.votes.clone()),
            reads_per_sec: run.reads.len() as f64 / secs,
            reads: Latencies::new(run.reads.clone()),
        }
    }
}

/// One line of the table: the figure's name, ours, the baseline's, and how
/// many decimals to show.
struct Row {
    figure: String,
    ours: Option<f64>,
    base: Option<f64>,
    decimals: usize,
}

impl Row {
    /// A rate, shown whole.
    fn rate(figure: &str, ours: f64, base: Option<f64>) -> Self {
        Self {
            figure: figure.into(),
            ours: Some(ours),
            base,
            decimals: 0,
        }
    }

    /// The percentile `p` of `ours` and of `base`, in milliseconds.
    fn percentile(what: &str, p: f64, ours: &Latencies, base: Option<&Latencies>) -> Self {
        let label = if p >= 100.0 {
            "max".to_owned()
        } else {
            format!("p{p}")
        };
        Self {
            figure: format!("{what} {label} (ms)"),
            ours: ms(ours, p),
            base: base.and_then(|b| ms(b, p)),
            decimals: 2,
        }
    }

    /// The row as printed: ours, the baseline and their ratio.
    fn render(&self) -> String {
        let decimals = self.decimals;
        let show = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.decimals$}"));
        let ratio = match (self.ours, self.base) {
            (Some(o), Some(b)) if b > 0.0 => format!("{:.2}x", o / b),
            _ => "-".into(),
        };
        format!(
            "{:<26} {:>12} {:>12} {ratio:>8}",
            self.figure,
            show(self.ours),
            show(self.base)
        )
    }
}

/// A latency percentile in milliseconds.
fn ms(latencies: &Latencies, p: f64) -> Option<f64> {
    latencies.percentile(p).map(|d| d.as_secs_f64() * 1000.0)
}

/// Prints the table of figures and the counts behind them.
pub(crate) fn report(
    ours: &Run,
    baseline: Option<&Run>,
    feed: &Feed,
    watchers: usize,
    watch_errors: &Errors,
) {
    let our = Figures::of(ours);
    let base = baseline.map(Figures::of);
    let base = base.as_ref();
    let (delays, unseen) = feed.delays(&ours.acks);
    let delays = Latencies::new(delays);
    let from_send = Latencies::new(feed.delays(&ours.sends).0);

    let mut rows = vec![Row::rate(
        "votes/s",
        our.votes_per_sec,
        base.map(|b| b.votes_per_sec),
    )];
    for p in [50.0, 95.0, 99.0] {
        rows.push(Row::percentile(
            "vote latency",
            p,
            &our.votes,
            base.map(|b| &b.votes),
        ));
    }
    rows.push(Row::rate(
        "results reads/s",
        our.reads_per_sec,
        base.map(|b| b.reads_per_sec),
    ));
    for p in [50.0, 99.0] {
        rows.push(Row::percentile(
            "read latency",
            p,
            &our.reads,
            base.map(|b| &b.reads),
        ));
    }
    for p in [50.0, 99.0, 100.0] {
        rows.push(Row::percentile("vote-to-browser", p, &delays, None));
    }
    // From the vote's request rather than its response: includes the vote's
    // own latency, so it shows where the time goes behind a slow proxy.
    for p in [50.0, 99.0] {
        rows.push(Row::percentile("sent-to-browser", p, &from_send, None));
    }

    println!(
        "\n{:<26} {:>12} {:>12} {:>8}",
        "figure", "ours", "baseline", "ratio"
    );
    for row in &rows {
        println!("{}", row.render());
    }

    println!();
    let elapsed = ours.elapsed.as_secs_f64();
    print_counts(
        "votes:",
        (ours.votes.len(), &ours.vote_errors),
        elapsed,
        baseline.map(|b| (b.votes.len(), &b.vote_errors)),
    );
    print_counts(
        "reads:",
        (ours.reads.len(), &ours.read_errors),
        elapsed,
        baseline.map(|b| (b.reads.len(), &b.read_errors)),
    );
    if watchers > 0 {
        println!(
            "live:    {} acknowledged votes, {} held by a watcher, {} never; watcher errors: {}",
            ours.acks.len(),
            delays.len(),
            unseen,
            watch_errors
        );
    }
    println!(
        "targets: votes/s ours/baseline >= 0.5x (embedded default); \
         vote-to-browser p99 < 50 ms (nginx + 3 replicas + Redis)"
    );
    if ours.vote_errors.total() + ours.read_errors.total() > 0 {
        println!("note:    errors are counted apart; the rates count successes only");
    }
}

/// Prints how many requests of one kind succeeded and failed, ours and the
/// baseline's.
fn print_counts(
    label: &str,
    (count, errors): (usize, &Errors),
    elapsed_secs: f64,
    baseline: Option<(usize, &Errors)>,
) {
    println!("{label:<8} ours {count} in {elapsed_secs:.2} s, errors: {errors}");
    if let Some((count, errors)) = baseline {
        println!("         baseline {count}, errors: {errors}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_show_both_sides_and_their_ratio() {
        let row = Row::rate("votes/s", 500.0, Some(1000.0));
        assert!(row.render().ends_with("0.50x"), "{}", row.render());
        let latencies = Latencies::new(vec![1_000_000, 2_000_000, 3_000_000]);
        let row = Row::percentile("vote latency", 100.0, &latencies, None);
        assert_eq!(row.figure, "vote latency max (ms)");
        assert_eq!(row.ours, Some(3.0));
        assert!(row.render().ends_with('-'));
        assert_eq!(
            Row::percentile("x", 99.0, &latencies, None).figure,
            "x p99 (ms)"
        );
    }
}

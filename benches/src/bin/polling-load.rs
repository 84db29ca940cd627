//! `polling-load`: drives real HTTP and WebSocket clients at a running
//! polling server (or the nginx in front of the native stack) and prints
//! votes/s, vote latency, results reads/s and vote-to-browser latency, each
//! beside the same load against a minimal hyper server answering a fixed JSON
//! body in the same run, and the ratio.
//!
//! ```text
//! cargo run --release -p polling-benches --bin polling-load -- \
//!     --target http://127.0.0.1:8080 --duration 10s
//! ```

#[path = "../load/mod.rs"]
mod load;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use hyper::{Method, StatusCode};
use tokio::sync::{mpsc, watch};

use load::client::{Conn, Target};
use load::run::{drive, Load, Run};
use load::stats::{Errors, Feed, Latencies};

/// Drives voters, results readers and live-results watchers at a polling
/// server, and prints each figure beside a minimal hyper server's ceiling.
#[derive(Debug, Parser)]
#[command(name = "polling-load", version)]
struct Args {
    /// The server (or nginx) to load: `http://host[:port]`.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    target: String,

    /// How long to drive each load (`10s`, `500ms`, `1m`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,

    /// Voter tasks, each casting one ballot as a new voter at a time over its
    /// own keep-alive connection.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,

    /// Tasks reading the results, each over its own keep-alive connection.
    #[arg(long, default_value_t = 8)]
    readers: usize,

    /// WebSocket clients watching the poll's live results.
    #[arg(long, default_value_t = 1)]
    watchers: usize,

    /// Measure the same load against a minimal in-process hyper server first
    /// (the default).
    #[arg(long, overrides_with = "no_baseline")]
    baseline: bool,

    /// Skip the baseline.
    #[arg(long, overrides_with = "baseline")]
    no_baseline: bool,
}

/// Parses `10s`, `250ms`, `1m`, `1.5s`, or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 10s"))?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" => number * 60.0,
        _ => return Err(format!("`{unit}`: use ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{text}`: {e}"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("polling-load: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("polling-load: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Creates a poll, measures the baseline (unless skipped), then our server,
/// and prints the table.
async fn run(args: Args) -> Result<ExitCode, String> {
    let target = Target::parse(&args.target)?;
    let load = Load {
        duration: args.duration,
        voters: args.concurrency,
        readers: args.readers,
    };
    let poll_id = create_poll(&target).await?;
    println!(
        "polling-load: {} poll {poll_id}, {:?} each, {} voters, {} readers, {} watchers",
        args.target, load.duration, load.voters, load.readers, args.watchers
    );

    // `--baseline` and `--no-baseline` override each other: the last wins.
    let baseline = if args.no_baseline && !args.baseline {
        None
    } else {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let address = load::baseline::start(workers).map_err(|e| format!("baseline: {e}"))?;
        println!("baseline: a fixed-JSON hyper server at {address} ({workers} threads)");
        let baseline = Target::parse(&format!("http://{address}"))?;
        Some(drive(&baseline, &poll_id, load).await)
    };

    let feed = Arc::new(Feed::default());
    let (stop, stopped) = watch::channel(false);
    let (ready, mut readied) = mpsc::channel(args.watchers.max(1));
    let live_url = target.ws_url(&format!("/api/polls/{poll_id}/live"));
    let watchers: Vec<_> = (0..args.watchers)
        .map(|_| {
            tokio::spawn(load::ws::watch(
                live_url.clone(),
                target.origin(),
                feed.clone(),
                ready.clone(),
                stopped.clone(),
            ))
        })
        .collect();
    drop(ready);
    for _ in 0..args.watchers {
        match tokio::time::timeout(Duration::from_secs(5), readied.recv()).await {
            Ok(Some(())) => {}
            _ => {
                eprintln!("polling-load: not every watcher got its snapshot within 5 s");
                break;
            }
        }
    }

    let ours = drive(&target, &poll_id, load).await;

    // Let the watchers catch up with the last acknowledged vote.
    if let Some(last) = ours.acks.iter().map(|&(version, _)| version).max() {
        let until = Instant::now() + Duration::from_secs(2);
        while args.watchers > 0
            && feed.max().is_none_or(|held| held < last)
            && Instant::now() < until
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let _ = stop.send(true);
    let mut watch_errors = Errors::default();
    for watcher in watchers {
        match watcher.await {
            Ok(errors) => watch_errors.merge(errors),
            Err(_) => watch_errors.add("watcher task failed"),
        }
    }

    report(
        &ours,
        baseline.as_ref(),
        &feed,
        args.watchers,
        &watch_errors,
    );
    Ok(if ours.votes.is_empty() && ours.reads.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Creates the poll to vote in, and returns its id.
async fn create_poll(target: &Target) -> Result<String, String> {
    let draft =
        Bytes::from_static(br#"{"question":"polling-load: which option?","options":["A","B"]}"#);
    let answer = Conn::new(target.clone())
        .send(Method::POST, "/api/polls", Some(draft), None)
        .await
        .map_err(|e| format!("creating a poll at {}: {e}", target.origin()))?;
    if answer.status != StatusCode::CREATED {
        return Err(format!(
            "creating a poll: HTTP {}: {}",
            answer.status.as_u16(),
            String::from_utf8_lossy(&answer.body)
        ));
    }
    let poll: serde_json::Value =
        serde_json::from_slice(&answer.body).map_err(|e| format!("the created poll: {e}"))?;
    poll.get("id")
        .and_then(|id| id.as_str())
        .map(str::to_owned)
        .ok_or_else(|| "the created poll has no id".into())
}

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

/// A latency percentile in milliseconds.
fn ms(latencies: &Latencies, p: f64) -> Option<f64> {
    latencies.percentile(p).map(|d| d.as_secs_f64() * 1000.0)
}

/// Prints the table of figures and the counts behind them.
fn report(ours: &Run, baseline: Option<&Run>, feed: &Feed, watchers: usize, watch_errors: &Errors) {
    let our = Figures::of(ours);
    let base = baseline.map(Figures::of);
    let base = base.as_ref();
    let (delays, unseen) = feed.delays(&ours.acks);
    let delays = Latencies::new(delays);

    type Row<'a> = (&'a str, Option<f64>, Option<f64>, usize);
    let rows: [Row<'_>; 10] = [
        (
            "votes/s",
            Some(our.votes_per_sec),
            base.map(|b| b.votes_per_sec),
            0,
        ),
        (
            "vote latency p50 (ms)",
            ms(&our.votes, 50.0),
            base.and_then(|b| ms(&b.votes, 50.0)),
            2,
        ),
        (
            "vote latency p95 (ms)",
            ms(&our.votes, 95.0),
            base.and_then(|b| ms(&b.votes, 95.0)),
            2,
        ),
        (
            "vote latency p99 (ms)",
            ms(&our.votes, 99.0),
            base.and_then(|b| ms(&b.votes, 99.0)),
            2,
        ),
        (
            "results reads/s",
            Some(our.reads_per_sec),
            base.map(|b| b.reads_per_sec),
            0,
        ),
        (
            "read latency p50 (ms)",
            ms(&our.reads, 50.0),
            base.and_then(|b| ms(&b.reads, 50.0)),
            2,
        ),
        (
            "read latency p99 (ms)",
            ms(&our.reads, 99.0),
            base.and_then(|b| ms(&b.reads, 99.0)),
            2,
        ),
        ("vote-to-browser p50 (ms)", ms(&delays, 50.0), None, 2),
        ("vote-to-browser p99 (ms)", ms(&delays, 99.0), None, 2),
        ("vote-to-browser max (ms)", ms(&delays, 100.0), None, 2),
    ];
    println!(
        "\n{:<26} {:>12} {:>12} {:>8}",
        "figure", "ours", "baseline", "ratio"
    );
    for (figure, ours, base, decimals) in rows {
        let show = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.decimals$}"));
        let ratio = match (ours, base) {
            (Some(o), Some(b)) if b > 0.0 => format!("{:.2}x", o / b),
            _ => "-".into(),
        };
        println!(
            "{figure:<26} {:>12} {:>12} {ratio:>8}",
            show(ours),
            show(base)
        );
    }

    println!();
    println!(
        "votes:   ours {} in {:.2} s, errors: {}",
        ours.votes.len(),
        ours.elapsed.as_secs_f64(),
        ours.vote_errors
    );
    if let Some(b) = baseline {
        println!(
            "         baseline {} in {:.2} s, errors: {}",
            b.votes.len(),
            b.elapsed.as_secs_f64(),
            b.vote_errors
        );
    }
    println!(
        "reads:   ours {}, errors: {}",
        ours.reads.len(),
        ours.read_errors
    );
    if let Some(b) = baseline {
        println!(
            "         baseline {}, errors: {}",
            b.reads.len(),
            b.read_errors
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5h").is_err());
    }
}

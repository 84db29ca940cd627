//! `polling-load`: drives real HTTP and WebSocket clients at a running
//! polling server (or the nginx in front of the native stack) and prints
//! votes/s, vote latency, results reads/s and vote-to-browser latency, each
//! beside the same load against a minimal hyper server answering a fixed JSON
//! body in the same run, and the ratio.
//!
//! ```text
//! cargo run --release -p polling-load -- \
//!     --target http://127.0.0.1:8080 --duration 10s
//! ```
//!
//! Its parts: an HTTP client, the WebSocket watchers, the baseline server,
//! one load run, the statistics and their report, seeding a fresh server,
//! and the live-audience scenario with its voters, screens and verdict.

mod audience;
mod baseline;
mod cancel;
mod client;
mod draw;
mod duration;
mod kill;
mod poll;
mod report;
mod retry;
mod run;
mod screen;
mod seed;
mod settle;
mod stats;
mod verdict;
mod voter;
mod ws;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, Subcommand};
use hyper::{Method, StatusCode};
use tokio::sync::{mpsc, watch};

use client::{Conn, Target};
use duration::parse_duration;
use run::{drive, Load};
use stats::{Errors, Feed};

/// Drives voters, results readers and live-results watchers at a polling
/// server, and prints each figure beside a minimal hyper server's ceiling;
/// or, with `seed`, fills a fresh server with a few polls and votes; or, with
/// `audience`, runs the live-audience scenario and its verdict.
#[derive(Debug, Parser)]
#[command(name = "polling-load", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    bench: Args,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a few polls and cast a few thousand votes across them (each as
    /// a new voter, retried safely with an `Idempotency-Key`), then check
    /// that the results match the votes acknowledged.
    Seed(SeedArgs),

    /// The live-audience scenario: a fresh 3-option poll, a crowd of new
    /// voters voting once each (browsers with a cookie and retries, or
    /// cookieless API clients; some leaving mid-request), live sockets
    /// watching, optionally a replica killed mid-run; then checks that no
    /// vote was lost or doubled and that every socket, replica and the
    /// target show the ballots stored. Exits non-zero on any mismatch.
    Audience(AudienceArgs),
}

/// The load run's settings.
#[derive(Debug, clap::Args)]
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

/// The settings of `polling-load seed`.
#[derive(Debug, clap::Args)]
struct SeedArgs {
    /// The server (or nginx) to seed: `http://host[:port]`.
    #[arg(
        long,
        env = "POLLING_SEED_TARGET",
        default_value = "http://127.0.0.1:8080"
    )]
    target: String,

    /// How many polls to create.
    #[arg(long, env = "POLLING_SEED_POLLS", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=seed::MAX_POLLS as i64))]
    polls: u16,

    /// How many votes to cast across them.
    #[arg(long, env = "POLLING_SEED_VOTES", default_value_t = 3000)]
    votes: usize,

    /// Votes in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,

    /// How long to wait for the server's API to answer before giving up.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    wait: Duration,
}

/// The settings of `polling-load audience`.
#[derive(Debug, clap::Args)]
struct AudienceArgs {
    /// The server (or nginx) the audience votes at: `http://host[:port]`.
    #[arg(long)]
    target: String,

    /// Fresh voters, each voting once for a random option.
    #[arg(long, default_value_t = 2000)]
    voters: usize,

    /// The percentage of voters that behave like a browser: load the poll
    /// for the voter cookie, then vote with it, retrying 5xx, 429 and lost
    /// connections up to 20 times. The others send one cookieless POST.
    #[arg(long, value_name = "PCT", default_value_t = 0,
          value_parser = clap::value_parser!(u8).range(0..=100))]
    browser_like: u8,

    /// Voters in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,

    /// Live WebSockets watching the results.
    #[arg(long, value_name = "W", default_value_t = 8)]
    sockets: usize,

    /// Every K-th voter sends its vote, then drops the connection 0-20 ms
    /// later without reading the answer; 0: none.
    #[arg(long, value_name = "K", default_value_t = 0)]
    cancel_every: usize,

    /// A replica's process id, sent SIGKILL once --kill-after percent of the
    /// voters are done.
    #[arg(long, value_name = "PID")]
    kill_pid: Option<u32>,

    /// When to kill --kill-pid: after this percentage of the voters.
    #[arg(long, value_name = "PCT", default_value_t = 30,
          value_parser = clap::value_parser!(u8).range(0..=100))]
    kill_after: u8,

    /// A replica's own address (repeatable), whose results must show the
    /// ballots stored after the run; one refusing connections is skipped
    /// (it was killed).
    #[arg(long = "replica", value_name = "URL")]
    replicas: Vec<String>,

    /// How long screens and replicas may take to show the stored ballots
    /// after the last vote (`10s`, `500ms`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    settle: Duration,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    let outcome = match cli.command {
        Some(Command::Seed(args)) => runtime.block_on(seed(args)),
        Some(Command::Audience(args)) => runtime.block_on(audience(args)),
        None => runtime.block_on(run(cli.bench)),
    };
    match outcome {
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
        let address = baseline::start(workers).map_err(|e| format!("baseline: {e}"))?;
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
            tokio::spawn(ws::watch(
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

    report::report(
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

/// Seeds the target with polls and votes.
async fn seed(args: SeedArgs) -> Result<ExitCode, String> {
    let target = Target::parse(&args.target)?;
    let plan = seed::Seed {
        polls: usize::from(args.polls),
        votes: args.votes,
        concurrency: args.concurrency,
        wait: args.wait,
    };
    println!(
        "polling-load seed: {} polls, {} votes at {}",
        plan.polls, plan.votes, args.target
    );
    seed::seed(&target, plan).await?;
    Ok(ExitCode::SUCCESS)
}

/// Runs the live-audience scenario; fails unless its verdict is ok.
async fn audience(args: AudienceArgs) -> Result<ExitCode, String> {
    let target = Target::parse(&args.target)?;
    let replicas = args
        .replicas
        .iter()
        .map(|r| Target::parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    let plan = audience::Audience {
        voters: args.voters,
        browser_like: args.browser_like,
        concurrency: args.concurrency,
        sockets: args.sockets,
        cancel_every: args.cancel_every,
        kill: args.kill_pid.map(|pid| (pid, args.kill_after)),
        replicas,
        settle: args.settle,
    };
    Ok(if audience::audience(&target, &plan).await {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

//! The round trips behind one vote on the production path: the reference
//! server on PostgreSQL with a Redis of its own (results cache, Pub/Sub,
//! shared rate limits), as each replica of the compose stack runs it.
//! Counts, not times: the PostgreSQL statements (by kind, from sqlx's
//! statement events) and transactions per vote and per batch, the rows they
//! return, and the Redis commands per vote (`INFO commandstats`), for votes
//! cast one at a time and by 64 voters at once on one poll; then the same
//! on a Redis Cluster (summed over its nodes, with how many ran a publish:
//! sharded Pub/Sub sends a vote's message to its poll's shard only).
//!
//! Redis counts the commands its scripts run among the others: of those
//! listed, only `evalsha` and `publish` are round trips of the server.
//! sqlx does not report the `BEGIN` that opens each transaction: add one
//! statement per transaction.
//!
//! ```text
//! cargo bench -p polling-benches --bench round_trips
//! ```
//!
//! These are the per-vote costs `docs/scaling.md` multiplies out.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use clap::Parser;
use polling_benches::http::{connect, create_poll, post};
use polling_benches::BenchDb;
use polling_testkit::{RedisCluster, RedisServer};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Votes per measured run.
const VOTES: usize = 2_048;

/// PostgreSQL statements seen, by their first keyword, with rows returned.
#[derive(Clone, Default)]
struct Statements(Arc<Mutex<BTreeMap<String, (u64, u64)>>>);

impl Statements {
    fn take(&self) -> BTreeMap<String, (u64, u64)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The fields of one sqlx statement event that are counted.
#[derive(Default)]
struct Summary {
    keyword: String,
    rows: u64,
}

impl Visit for Summary {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "summary" {
            self.keyword = value
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_uppercase();
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "rows_returned" {
            self.rows = value;
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl<S: tracing::Subscriber> Layer<S> for Statements {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut summary = Summary::default();
        event.record(&mut summary);
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let entry = seen.entry(summary.keyword).or_default();
        entry.0 += 1;
        entry.1 += summary.rows;
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` only builds this.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let statements = Statements::default();
    tracing_subscriber::registry()
        .with(
            statements.clone().with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target("sqlx::query", tracing::Level::TRACE),
            ),
        )
        .init();
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    rt.block_on(measure(statements));
}

async fn measure(statements: Statements) {
    let db = BenchDb::create("round_trips").await;
    let database_url = db.url();
    {
        let redis = RedisServer::start();
        let url = redis.url();
        run(
            &statements,
            &database_url,
            &["--redis-url", &url],
            &[redis.port()],
        )
        .await;
    }
    {
        let cluster = RedisCluster::start();
        let seeds = cluster.urls().join(",");
        println!("\non a Redis Cluster of 3 masters with a replica each (sharded Pub/Sub):");
        run(
            &statements,
            &database_url,
            &["--redis-cluster-nodes", &seeds],
            cluster.ports(),
        )
        .await;
    }
    db.drop_database().await;
}

/// The counts for votes one at a time and 64 at once, through a server on
/// `database_url` and the Redis `redis_args` name, whose nodes listen on
/// `ports`.
async fn run(statements: &Statements, database_url: &str, redis_args: &[&str], ports: &[u16]) {
    let mut args = vec![
        "polling-server",
        "--database-url",
        database_url,
        "--redis-prefix",
        "round-trips:",
        // Every simulated voter is 127.0.0.1: the limits are measured, not hit.
        "--rate-limit-votes",
        "1000000",
        "--rate-limit-votes-burst",
        "1000000",
        "--rate-limit-voter-votes",
        "1000000",
    ];
    args.extend_from_slice(redis_args);
    let config = polling_server::Config::try_parse_from(args).expect("the server's settings");
    let backends = polling_server::Backends::connect(&config)
        .await
        .expect("the backends connect");
    let kinds = backends.kinds;
    let app = backends.into_builder().limits(config.limits()).build();
    let listener = polling_server::bind("127.0.0.1:0".parse().expect("an address")).expect("bind");
    let addr = listener.local_addr().expect("an address");
    let server = tokio::spawn(polling_server::run(listener, app, std::future::pending()));
    let mut nodes = Vec::new();
    for port in ports {
        let node = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .expect("a Redis URL")
            .get_multiplexed_async_connection()
            .await
            .expect("Redis");
        nodes.push((*port, node));
    }
    println!(
        "round trips per vote: store {}, cache {}, broadcaster {}; {VOTES} fresh voters per run",
        kinds.store, kinds.cache, kinds.broadcaster
    );

    for voters in [1, 64] {
        let poll = create_poll(addr, br#"{"question":"Round trips?","options":["A","B"]}"#).await;
        // One vote first, so that start-up work (prepared statements, the
        // poll's first subscription) is not counted.
        vote(addr, &poll, VOTES / voters / 8 + 1, voters).await;
        statements.take();
        for (_, node) in &mut nodes {
            redis::cmd("CONFIG")
                .arg("RESETSTAT")
                .query_async::<()>(node)
                .await
                .expect("CONFIG RESETSTAT");
        }
        vote(addr, &poll, VOTES / voters, voters).await;
        let votes = (VOTES / voters * voters) as f64;
        let seen = statements.take();
        let mut calls: BTreeMap<String, f64> = BTreeMap::new();
        let mut nodes_publishing = 0;
        for (_, node) in &mut nodes {
            let info: String = redis::cmd("INFO")
                .arg("commandstats")
                .query_async(node)
                .await
                .expect("INFO commandstats");
            let mut published = false;
            for (name, count) in command_calls(&info) {
                published |= name.ends_with("publish") && count > 0.0;
                *calls.entry(name).or_default() += count;
            }
            nodes_publishing += usize::from(published);
        }
        let commits = seen.get("COMMIT").map_or(0, |c| c.0) as f64;
        let all: u64 = seen.values().map(|c| c.0).sum();
        println!("\n{voters} concurrent voter(s), {votes} votes:");
        println!(
            "  PostgreSQL: {:.2} statements and {:.3} transactions per vote; {:.1} votes and {:.1} statements per transaction",
            all as f64 / votes,
            commits / votes,
            votes / commits.max(1.0),
            all as f64 / commits.max(1.0),
        );
        for (keyword, (count, rows)) in &seen {
            println!(
                "    {keyword:<8} {:>8.3} per vote, {:>8.2} rows returned per statement",
                *count as f64 / votes,
                *rows as f64 / (*count).max(1) as f64
            );
        }
        println!(
            "  Redis (INFO commandstats, summed over {} node(s)):",
            nodes.len()
        );
        for (name, count) in &calls {
            println!("    {name:<10} {:>8.3} per vote", count / votes);
        }
        println!(
            "    all        {:>8.3} per vote",
            calls.values().sum::<f64>() / votes
        );
        println!(
            "    nodes that ran a publish: {nodes_publishing} of {}",
            nodes.len()
        );
    }
    server.abort();
}

/// The calls of each command in `INFO commandstats`, without this bench's
/// own (`config`, `info`) and the clients' pings.
fn command_calls(info: &str) -> Vec<(String, f64)> {
    info.lines()
        .filter_map(|line| line.strip_prefix("cmdstat_"))
        .filter_map(|line| {
            let (name, stats) = line.split_once(':')?;
            let calls = stats
                .split(',')
                .find_map(|kv| kv.strip_prefix("calls="))?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .filter(|(name, _)| {
            !(name.starts_with("config") || name == "info" || name == "ping" || name == "cluster")
        })
        .collect()
}

/// `voters` fresh, cookieless voters casting `each` votes in `poll`, one
/// kept-alive connection each.
async fn vote(addr: SocketAddr, poll: &str, each: usize, voters: usize) {
    let path = format!("/api/polls/{poll}/votes");
    let workers: Vec<_> = (0..voters)
        .map(|n| {
            let path = path.clone();
            tokio::spawn(async move {
                let mut sender = connect(addr).await;
                let body = Bytes::from(format!(r#"{{"choices":[{}]}}"#, n % 2));
                for _ in 0..each {
                    let status = post(&mut sender, addr, &path, body.clone()).await.0;
                    assert_eq!(status, 201, "a fresh voter's vote is created");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("a voter task panicked");
    }
}

//! HTTP votes through the reference server, in-process store against
//! PostgreSQL, and PostgreSQL on a new poll against the same poll grown to
//! 1,000,000 ballots (never analysed), all in one run.
//!
//! Each server is this bench's own executable re-run as a child process
//! (the server's [`Backends`](polling_server::Backends) from its command
//! line, as `polling-server` builds them), so the load generator and the
//! server do not share a runtime. The load is 64 concurrent fresh voters:
//! each request is a cookieless `POST /votes`, a new voter, over a kept-alive
//! connection per worker, as API clients arrive on a new poll.
//!
//! ```text
//! cargo bench -p polling-benches --bench http_votes
//! ```
//!
//! Prints votes/s for each and the two ratios, against the targets
//! PostgreSQL ≥ 0.5× in-process and last window ≥ 0.9× first.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use polling_benches::http::{connect, create_poll, post};
use polling_benches::{BenchDb, Tally};
use sqlx::PgPool;

/// The poll every window votes in.
const DRAFT: &[u8] = br#"{"question":"http_votes: which?","options":["A","B"]}"#;

/// Set in the child: the server's command line arguments, tab-separated.
const ROLE: &str = "POLLING_BENCH_HTTP_SERVER";

/// Concurrent voters.
const VOTERS: usize = 64;

/// How long each measured window lasts (after a one-second warm-up).
const WINDOW: Duration = Duration::from_secs(5);

/// Ballots in the grown poll.
const GROWN: u64 = 1_000_000;

fn main() {
    if let Ok(args) = std::env::var(ROLE) {
        serve(args.split('\t').map(str::to_owned).collect());
        return;
    }
    // `cargo bench` passes `--bench`; nothing to configure.
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    rt.block_on(measure());
}

async fn measure() {
    let tally = Tally::new(1);
    println!("http_votes: {VOTERS} concurrent fresh voters, {WINDOW:?} windows");

    let memory = Server::start(&["--database-url", polling_server::MEMORY_DATABASE_URL]);
    let poll = create_poll(memory.addr, DRAFT).await;
    let votes = window(memory.addr, &poll).await;
    tally.record("new poll", "in-process", votes.0, votes.1);
    drop(memory);

    let db = BenchDb::create("http_votes").await;
    let pool = db.pool(2).await;
    // On the ballots table, or on each partition when it is partitioned
    // (a partitioned table takes no storage parameters).
    sqlx::query(
        "DO $$ DECLARE t regclass; BEGIN \
           FOR t IN SELECT oid::regclass FROM pg_class \
                     WHERE oid = 'ballots'::regclass AND relkind = 'r' \
                    UNION ALL SELECT inhrelid::regclass FROM pg_inherits \
                     WHERE inhparent = 'ballots'::regclass LOOP \
             EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = false)', t); \
           END LOOP; END $$",
    )
    .execute(&pool)
    .await
    .expect("autovacuum off: the poll's statistics stay absent");
    sqlx::query("CHECKPOINT")
        .execute(&pool)
        .await
        .expect("checkpoint");
    let postgres = Server::start(&["--database-url", &db.url()]);
    let poll = create_poll(postgres.addr, DRAFT).await;
    let votes = window(postgres.addr, &poll).await;
    tally.record("new poll", "postgres", votes.0, votes.1);
    let first = votes.0 as f64 / votes.1.as_secs_f64();

    grow(&pool, &poll).await;
    let votes = window(postgres.addr, &poll).await;
    tally.record("1M ballots", "postgres", votes.0, votes.1);
    let last = votes.0 as f64 / votes.1.as_secs_f64();
    drop(postgres);
    pool.close().await;
    db.drop_database().await;

    tally.print(
        "HTTP votes/s, in-process store vs PostgreSQL (target >= 0.5x)",
        "votes/s",
        &["new poll"],
        ["in-process", "postgres"],
        Some(0.5),
    );
    println!(
        "\nflatness: PostgreSQL on the poll grown to {GROWN} ballots (no ANALYZE) {last:.0} votes/s \
         vs {first:.0} on the new poll: {:.2}x (target >= 0.9x)",
        last / first.max(f64::MIN_POSITIVE)
    );
}

/// Fills `poll` to [`GROWN`] ballots straight in SQL, with its counts kept
/// consistent, as a poll that has been voted on for hours would be.
async fn grow(pool: &PgPool, poll: &str) {
    let started = Instant::now();
    let mut tx = pool.begin().await.expect("begin");
    let have: i64 = sqlx::query_scalar("SELECT total FROM polls WHERE id = $1::uuid")
        .bind(poll)
        .fetch_one(&mut *tx)
        .await
        .expect("the poll's total");
    let add = GROWN.saturating_sub(u64::try_from(have).unwrap_or(0));
    let add = i64::try_from(add).expect("a small count");
    sqlx::query(
        "INSERT INTO ballots (poll_id, voter_id, choices, cast_at, version) \
         SELECT $1::uuid, 'bulk-' || g, ARRAY[(g % 2)::integer], now(), p.version + g \
           FROM generate_series(1, $2::bigint) AS g, polls AS p WHERE p.id = $1::uuid",
    )
    .bind(poll)
    .bind(add)
    .execute(&mut *tx)
    .await
    .expect("bulk ballots");
    sqlx::query(
        "UPDATE polls SET version = version + $2, total = total + $2, \
                votes = ARRAY[votes[1] + $2 / 2, votes[2] + ($2 - $2 / 2)] \
          WHERE id = $1::uuid",
    )
    .bind(poll)
    .bind(add)
    .execute(&mut *tx)
    .await
    .expect("the poll's counts");
    tx.commit().await.expect("commit");
    // The bulk's dirty pages are written now, not by a checkpoint during the
    // measured window (which would time the disk, not the poll's size).
    // Neither VACUUM nor ANALYZE: the table keeps no statistics.
    sqlx::query("CHECKPOINT")
        .execute(pool)
        .await
        .expect("checkpoint");
    println!(
        "grew the poll by {add} ballots in {:.1?} (no ANALYZE, autovacuum off)",
        started.elapsed()
    );
}

/// One warm-up second, then [`WINDOW`] of votes: (acknowledged votes, time).
async fn window(addr: SocketAddr, poll: &str) -> (u64, Duration) {
    drive(addr, poll, Duration::from_secs(1)).await;
    let measured = drive(addr, poll, WINDOW).await;
    println!("  {addr}: {} votes in {:.2?}", measured.0, measured.1);
    measured
}

/// [`VOTERS`] workers voting as fresh voters for `length`.
async fn drive(addr: SocketAddr, poll: &str, length: Duration) -> (u64, Duration) {
    let acknowledged = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let path = format!("/api/polls/{poll}/votes");
    let started = Instant::now();
    let workers: Vec<_> = (0..VOTERS)
        .map(|n| {
            let (acknowledged, stop, path) = (acknowledged.clone(), stop.clone(), path.clone());
            tokio::spawn(async move {
                let mut sender = connect(addr).await;
                let body = Bytes::from(format!(r#"{{"choices":[{}]}}"#, n % 2));
                while !stop.load(Ordering::Relaxed) {
                    let status = post(&mut sender, addr, &path, body.clone()).await.0;
                    assert_eq!(status, 201, "a fresh voter's vote is created");
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(length).await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.expect("a voter task panicked");
    }
    (acknowledged.load(Ordering::Relaxed), started.elapsed())
}

/// The child: the reference server with `args` (plus limits off: every
/// simulated voter is 127.0.0.1), on a free port it prints.
fn serve(args: Vec<String>) {
    let mut argv = vec![
        "polling-server".to_owned(),
        "--rate-limit-votes".into(),
        "0".into(),
        "--rate-limit-votes-burst".into(),
        "0".into(),
        "--rate-limit-polls".into(),
        "0".into(),
    ];
    argv.extend(args.into_iter().filter(|a| !a.is_empty()));
    let config = polling_server::Config::try_parse_from(argv).expect("the server's settings");
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    rt.block_on(async {
        let listener =
            polling_server::bind("127.0.0.1:0".parse().expect("an address")).expect("bind");
        let backends = polling_server::Backends::connect(&config)
            .await
            .expect("the backends connect");
        let app = backends.into_builder().limits(config.limits()).build();
        println!("{}", listener.local_addr().expect("an address"));
        polling_server::run(listener, app, std::future::pending()).await;
    });
}

/// A server child process, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("this bench's path"))
            .env(ROLE, args.join("\t"))
            // The server reads `DATABASE_URL` when given no `--database-url`:
            // without this, a run given none would store its votes in the
            // bench's maintenance database (and migrate it).
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server child");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("its stdout"))
            .read_line(&mut line)
            .expect("its address");
        let addr = line.trim().parse().expect("an address line");
        Self { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

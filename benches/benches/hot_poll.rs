//! The hot poll: votes per second on one poll at 1, 16, 64 and 256 concurrent
//! voters, one transaction per ballot (`naive`) against group commit
//! (`coalesced`), on a real PostgreSQL and on a SQLite file (the server's
//! default store: write-ahead log, every commit synced to disk).
//!
//! ```text
//! cargo bench -p polling-benches --bench hot_poll
//! ```
//!
//! Each of `c` voter tasks casts ballots of fresh voters back to back until
//! the sample's quota is cast; the tables at the end give votes/s and the
//! ratio coalesced/naive per concurrency for each store (target: >= 5x at
//! 64 on PostgreSQL), then group commit through PgBouncer in transaction
//! mode (`polling_testkit::PgBouncer`, as many server connections as the
//! direct pool) beside direct, then SQLite's group commit beside
//! PostgreSQL's.

use std::str::FromStr;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use polling_benches::{closed_loop, BenchDb, Tally};
use polling_core::testing::{ballot, sample_poll};
use polling_core::{Poll, PollId, PollStore, VoterId};
use polling_store_postgres::{CastMode, PgPollStore};
use polling_store_sqlite::{SqliteConfig, SqlitePollStore};
use polling_testkit::PgBouncer;
use sqlx::postgres::PgConnectOptions;
use tokio::runtime::Runtime;

const CONCURRENCY: [usize; 4] = [1, 16, 64, 256];
const POOL_SIZE: u32 = 16;
const SAMPLES: usize = 10;

/// Casts `votes` ballots of fresh voters on `poll` from `voters` concurrent tasks.
async fn cast<S: PollStore + Clone>(store: &S, poll: &Poll, voters: usize, votes: u64) -> Duration {
    let (store, poll) = (store.clone(), poll.clone());
    closed_loop(voters, votes, move |n| {
        let (store, poll) = (store.clone(), poll.clone());
        async move {
            let voter = VoterId::try_from(format!("v{n}")).expect("a valid voter id");
            let choice = (n % 4) as u32;
            store
                .cast(&ballot(&poll, &voter, &[choice]))
                .await
                .expect("every bench ballot counts");
        }
    })
    .await
}

fn hot_poll(c: &mut Criterion) {
    let rt = Runtime::new().expect("a tokio runtime");
    let db = rt.block_on(BenchDb::create("hot_poll"));
    let file = tempfile::tempdir().expect("a directory for the SQLite file");
    let tally = Tally::new(SAMPLES);

    let mut group = c.benchmark_group("hot_poll");
    group
        .sample_size(SAMPLES)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(1));
    for (name, mode) in [
        ("naive", CastMode::PerBallot),
        ("coalesced", CastMode::default()),
    ] {
        let store = PgPollStore::with_cast_mode(rt.block_on(db.pool(POOL_SIZE)), mode);
        run(&rt, &mut group, &tally, &store, name);
        rt.block_on(store.pool().close());
    }
    // Group commit again, every query through PgBouncer in transaction mode
    // with as many server connections as the direct pool had.
    let direct = PgConnectOptions::from_str(&db.url()).expect("the bench database's URL");
    let bouncer = PgBouncer::with_server_connections(&direct, POOL_SIZE);
    let store = PgPollStore::new(rt.block_on(bouncer.pool(POOL_SIZE)));
    run(&rt, &mut group, &tally, &store, "pgbouncer");
    rt.block_on(store.pool().close());
    drop(store); // and the PgBouncer with it, before the database goes
    let sqlite = SqliteConfig {
        max_connections: POOL_SIZE,
        ..SqliteConfig::new(format!(
            "sqlite://{}",
            file.path().join("hot_poll.db").display()
        ))
    };
    let pool = rt.block_on(async {
        let pool = sqlite.connect().await.expect("open the SQLite file");
        polling_store_sqlite::migrate(&pool)
            .await
            .expect("migrate the SQLite file");
        pool
    });
    for (name, mode) in [
        ("sqlite_naive", polling_store_sqlite::CastMode::PerBallot),
        (
            "sqlite_coalesced",
            polling_store_sqlite::CastMode::default(),
        ),
    ] {
        let store = SqlitePollStore::with_cast_mode(pool.clone(), mode);
        run(&rt, &mut group, &tally, &store, name);
    }
    rt.block_on(pool.close());
    group.finish();

    let rows: Vec<String> = CONCURRENCY.iter().map(|c| c.to_string()).collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    tally.print(
        &format!(
            "hot poll, PostgreSQL: votes/s by concurrent voters (pool of {POOL_SIZE} connections)"
        ),
        "votes/s",
        &rows,
        ["naive", "coalesced"],
        Some(5.0),
    );
    tally.print(
        "hot poll, group commit: through PgBouncer (transaction mode) against direct",
        "votes/s",
        &rows,
        ["coalesced", "pgbouncer"],
        None,
    );
    tally.print(
        "hot poll, SQLite file (synchronous = FULL): votes/s by concurrent voters",
        "votes/s",
        &rows,
        ["sqlite_naive", "sqlite_coalesced"],
        None,
    );
    tally.print(
        "hot poll, group commit: PostgreSQL against the SQLite file",
        "votes/s",
        &rows,
        ["coalesced", "sqlite_coalesced"],
        None,
    );
    rt.block_on(db.drop_database());
}

/// Benchmarks `store` as column `name` at every concurrency, each on a poll
/// of its own, hot from its first ballot.
fn run<S: PollStore + Clone>(
    rt: &Runtime,
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    tally: &Tally,
    store: &S,
    name: &str,
) {
    for voters in CONCURRENCY {
        let poll = sample_poll(4, false, None);
        rt.block_on(store.create(&poll))
            .expect("create the hot poll");
        let row = voters.to_string();
        group.bench_with_input(BenchmarkId::new(name, voters), &voters, |b, &voters| {
            b.to_async(rt).iter_custom(|votes| {
                let (poll, row) = (&poll, &row);
                async move {
                    let elapsed = cast(store, poll, voters, votes).await;
                    tally.record(row, name, votes, elapsed);
                    elapsed
                }
            });
        });
        report_version(rt, store, poll.id);
    }
}

/// Checks the poll counted every ballot the benchmark cast on it.
fn report_version<S: PollStore>(rt: &Runtime, store: &S, poll: PollId) {
    let results = rt.block_on(store.results(poll)).expect("read the results");
    assert_eq!(results.version, results.total, "one version per ballot");
}

criterion_group!(benches, hot_poll);
criterion_main!(benches);

//! The hot poll: votes per second on one poll at 1, 16, 64 and 256 concurrent
//! voters, one transaction per ballot (`naive`) against group commit
//! (`coalesced`), on a real PostgreSQL.
//!
//! ```text
//! cargo bench -p polling-benches --bench hot_poll
//! ```
//!
//! Each of `c` voter tasks casts ballots of fresh voters back to back until
//! the sample's quota is cast; the table at the end gives votes/s and the
//! ratio coalesced/naive per concurrency (target: >= 5x at 64).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use polling_benches::{closed_loop, BenchDb, Tally};
use polling_core::testing::{ballot, sample_poll};
use polling_core::{Poll, PollId, PollStore, VoterId};
use polling_store_postgres::{CastMode, PgPollStore};
use tokio::runtime::Runtime;

const CONCURRENCY: [usize; 4] = [1, 16, 64, 256];
const POOL_SIZE: u32 = 16;
const SAMPLES: usize = 10;

/// Casts `votes` ballots of fresh voters on `poll` from `voters` concurrent tasks.
async fn cast(store: &PgPollStore, poll: &Poll, voters: usize, votes: u64) -> Duration {
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
        for voters in CONCURRENCY {
            // One poll per configuration, hot from its first ballot.
            let poll = sample_poll(4, false, None);
            rt.block_on(store.create(&poll))
                .expect("create the hot poll");
            let row = voters.to_string();
            group.bench_with_input(BenchmarkId::new(name, voters), &voters, |b, &voters| {
                b.to_async(&rt).iter_custom(|votes| {
                    let (store, poll, tally, row) = (&store, &poll, &tally, &row);
                    async move {
                        let elapsed = cast(store, poll, voters, votes).await;
                        tally.record(row, name, votes, elapsed);
                        elapsed
                    }
                });
            });
            report_version(&rt, &store, poll.id);
        }
        rt.block_on(store.pool().close());
    }
    group.finish();

    let rows: Vec<String> = CONCURRENCY.iter().map(|c| c.to_string()).collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    tally.print(
        &format!("hot poll: votes/s by concurrent voters (pool of {POOL_SIZE} connections)"),
        "votes/s",
        &rows,
        ["naive", "coalesced"],
        Some(5.0),
    );
    rt.block_on(db.drop_database());
}

/// Checks the poll counted every ballot the benchmark cast on it.
fn report_version(rt: &Runtime, store: &PgPollStore, poll: PollId) {
    let results = rt.block_on(store.results(poll)).expect("read the results");
    assert_eq!(results.version, results.total, "one version per ballot");
}

criterion_group!(benches, hot_poll);
criterion_main!(benches);

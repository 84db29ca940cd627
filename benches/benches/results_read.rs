//! Reading a poll's results while votes are cast on it: from PostgreSQL with
//! no cache (`postgres`), through the Redis cache (`redis`), and through an
//! [`NearCache`] kept fresh by the Redis broadcast (`near`), with the
//! PostgreSQL queries each read costs; then the publish-to-receive latency of
//! one event through Redis Pub/Sub.
//!
//! ```text
//! cargo bench -p polling-benches --bench results_read
//! ```
//!
//! Needs PostgreSQL (`DATABASE_URL`) and Redis (`REDIS_URL`, default
//! `redis://127.0.0.1:6379/`). Target: redis/postgres >= 3x reads/s.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures_util::StreamExt;
use polling_benches::{closed_loop, BenchDb, Tally};
use polling_cache_redis::{RedisBroadcaster, RedisConfig, RedisResultsCache};
use polling_core::layer::{BroadcastLayer, CacheLayer};
use polling_core::service::{PollService, ResultsRequest};
use polling_core::testing::{ballot, results_at, sample_poll};
use polling_core::testing::{CountingCache, CountingStore, StoreMethod};
use polling_core::{Broadcaster, NearCache, PollId, PollStore, ResultsEvent, VoterId};
use polling_store_postgres::PgPollStore;
use tokio::runtime::Runtime;
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt};

const READERS: usize = 16;
const SAMPLES: usize = 10;
/// Pause between the background votes: a steady stream, not a flood.
const VOTE_EVERY: Duration = Duration::from_millis(2);

type Reads = BoxCloneSyncService<ResultsRequest, polling_core::Results, polling_core::PollError>;

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

/// Reads `poll`'s results `reads` times from `READERS` concurrent tasks.
async fn read(service: &Reads, poll: PollId, reads: u64) -> Duration {
    let service = service.clone();
    closed_loop(READERS, reads, move |_| {
        let service = service.clone();
        async move {
            service
                .oneshot(ResultsRequest::new(poll))
                .await
                .expect("every bench read succeeds");
        }
    })
    .await
}

fn results_read(c: &mut Criterion) {
    let rt = Runtime::new().expect("a tokio runtime");
    let db = rt.block_on(BenchDb::create("results_read"));
    let config = RedisConfig::new().with_key_prefix(format!("bench:{}:", PollId::generate()));
    let (store, cache, broadcaster) = rt.block_on(async {
        let store = Arc::new(CountingStore::new(PgPollStore::new(db.pool(16).await)));
        let cache = RedisResultsCache::connect(&redis_url(), &config)
            .await
            .expect("Redis at REDIS_URL");
        let broadcaster = RedisBroadcaster::connect(&redis_url(), &config)
            .await
            .expect("Redis at REDIS_URL");
        (store, cache, broadcaster)
    });
    let poll = sample_poll(4, false, None);
    rt.block_on(store.create(&poll)).expect("create the poll");

    // Votes keep arriving through a writer's stack, as from another replica.
    let voting = Arc::new(AtomicBool::new(true));
    let writer = ServiceBuilder::new()
        .layer(CacheLayer::new(cache.clone()))
        .layer(BroadcastLayer::new(broadcaster.clone()))
        .service(PollService::from_arc(Arc::clone(&store)));
    let votes = rt.spawn({
        let (voting, poll) = (voting.clone(), poll.clone());
        async move {
            let mut n = 0u32;
            while voting.load(Ordering::Relaxed) {
                let voter = VoterId::try_from(format!("w{n}")).expect("a voter id");
                writer
                    .clone()
                    .oneshot(ballot(&poll, &voter, &[n % 4]))
                    .await
                    .expect("background votes succeed");
                n += 1;
                tokio::time::sleep(VOTE_EVERY).await;
            }
            n
        }
    });

    // The near cache, as the server runs it over Redis (this replica's own
    // broadcaster subscription), with its reads of the shared cache counted.
    let shared_reads = CountingCache::new(cache.clone());
    let near = rt.block_on(async {
        NearCache::new(
            shared_reads.clone(),
            broadcaster.clone(),
            10_000,
            Duration::from_secs(1),
        )
    });

    let configurations: [(&str, Reads); 3] = [
        (
            "postgres",
            BoxCloneSyncService::new(PollService::from_arc(Arc::clone(&store))),
        ),
        (
            "redis",
            BoxCloneSyncService::new(
                ServiceBuilder::new()
                    .layer(CacheLayer::new(cache.clone()))
                    .service(PollService::from_arc(Arc::clone(&store))),
            ),
        ),
        (
            "near",
            BoxCloneSyncService::new(
                ServiceBuilder::new()
                    .layer(CacheLayer::new(near.clone()))
                    .service(PollService::from_arc(Arc::clone(&store))),
            ),
        ),
    ];

    let tally = Tally::new(SAMPLES);
    let mut queries = Vec::new();
    let mut group = c.benchmark_group("results_read");
    group
        .sample_size(SAMPLES)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(1));
    for (name, service) in &configurations {
        let (reads_before, queries_before) = (AtomicU64::new(0), results_reads(&store));
        let shared_before = shared_reads.hits() + shared_reads.misses();
        group.bench_with_input(BenchmarkId::new(*name, READERS), name, |b, name| {
            b.to_async(&rt).iter_custom(|reads| {
                let (service, tally, counted) = (service, &tally, &reads_before);
                async move {
                    let elapsed = read(service, poll.id, reads).await;
                    counted.fetch_add(reads, Ordering::Relaxed);
                    tally.record("reads", name, reads, elapsed);
                    elapsed
                }
            });
        });
        let reads = reads_before.load(Ordering::Relaxed);
        let spent = results_reads(&store) - queries_before;
        let redis_reads = shared_reads.hits() + shared_reads.misses() - shared_before;
        queries.push((*name, spent, redis_reads, reads));
    }
    group.finish();

    voting.store(false, Ordering::Relaxed);
    let cast = rt.block_on(votes).expect("the voting task");

    tally.print(
        &format!("results reads/s, {READERS} readers, while {cast} votes were cast on the poll"),
        "reads/s",
        &["reads"],
        ["postgres", "redis"],
        Some(3.0),
    );
    tally.print("", "reads/s", &["reads"], ["postgres", "near"], None);
    println!("\nround trips per read (Redis reads counted for the near cache only)");
    for (name, spent, redis_reads, reads) in queries {
        let per_read = |n: u64| n as f64 / reads.max(1) as f64;
        println!(
            "{name:>12} PostgreSQL {:>10.6} ({spent} queries), Redis {:>10.6} ({redis_reads} reads) for {reads} reads",
            per_read(spent),
            per_read(redis_reads as u64),
        );
    }

    rt.block_on(publish_latency(&config));
    rt.block_on(db.drop_database());
}

/// Publish-to-receive latency of one event at a time through Redis, between
/// two broadcasters (two replicas).
async fn publish_latency(config: &RedisConfig) {
    const EVENTS: u64 = 1000;
    let publisher = RedisBroadcaster::connect(&redis_url(), config)
        .await
        .expect("Redis");
    let subscriber = RedisBroadcaster::connect(&redis_url(), config)
        .await
        .expect("Redis");
    let poll = PollId::generate();
    let mut events = subscriber.subscribe(poll).await.expect("subscribe");
    let mut latencies = Vec::with_capacity(EVENTS as usize);
    for version in 1..=EVENTS {
        let event = ResultsEvent::Updated {
            results: results_at(poll, version),
        };
        let sent = Instant::now();
        publisher.publish(&event).await.expect("publish");
        loop {
            match tokio::time::timeout(Duration::from_secs(5), events.next()).await {
                Ok(Some(ResultsEvent::Updated { results })) if results.version == version => break,
                Ok(Some(_)) => continue,
                _ => panic!("event {version} not received within 5 s"),
            }
        }
        latencies.push(sent.elapsed());
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "\npublish-to-receive through Redis Pub/Sub, {EVENTS} events one at a time: \
         p50 {:?}, p99 {:?}, max {:?}",
        at(0.50),
        at(0.99),
        latencies[latencies.len() - 1]
    );
}

criterion_group!(benches, results_read);
criterion_main!(benches);

/// The results reads that reached the store so far: one query each.
fn results_reads(store: &CountingStore<PgPollStore>) -> u64 {
    store.calls(StoreMethod::Results) as u64
}

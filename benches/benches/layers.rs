//! The cost of the tower stack: a vote through the server's layers
//! (metrics, cache, broadcast) over the memory store, against the bare
//! `MemoryStore::cast` call, single-threaded so only the work is measured.
//!
//! ```text
//! cargo bench -p polling-benches --bench layers
//! ```
//!
//! The Prometheus recorder is installed, as in the server, so the metrics
//! layer records for real. Target: the stack costs at most 1.3x the bare call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use polling_benches::Tally;
use polling_core::layer::{BroadcastLayer, CacheLayer, MetricsLayer};
use polling_core::memory::{LocalBroadcaster, MemoryCache, MemoryStore};
use polling_core::service::PollService;
use polling_core::testing::{ballot, sample_poll};
use polling_core::{Ballot, Poll, PollStore, VoterId};
use tokio::runtime::Runtime;
use tower::{ServiceBuilder, ServiceExt};

const SAMPLES: usize = 20;

/// A ballot of a voter never seen before.
fn fresh_ballot(poll: &Poll) -> Ballot {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let voter = VoterId::try_from(format!("v{n}")).expect("a valid voter id");
    ballot(poll, &voter, &[(n % 3) as u32])
}

fn layers(c: &mut Criterion) {
    let _ = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let tally = Tally::new(SAMPLES);
    let mut group = c.benchmark_group("vote_path");
    group
        .sample_size(SAMPLES)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));

    let store = MemoryStore::new();
    let poll = sample_poll(3, false, None);
    rt.block_on(store.create(&poll)).expect("create the poll");
    group.bench_function("bare_store", |b| {
        b.to_async(&rt).iter_custom(|votes| {
            let (store, poll, tally) = (&store, &poll, &tally);
            async move {
                let started = Instant::now();
                for _ in 0..votes {
                    store.cast(&fresh_ballot(poll)).await.expect("a new vote");
                }
                let elapsed = started.elapsed();
                tally.record("vote", "bare store", votes, elapsed);
                elapsed
            }
        });
    });

    let stack = stack_over(&rt);
    group.bench_function("tower_stack", |b| {
        b.to_async(&rt).iter_custom(|votes| {
            let (stack, tally) = (&stack, &tally);
            async move {
                let started = Instant::now();
                for _ in 0..votes {
                    stack
                        .0
                        .clone()
                        .oneshot(fresh_ballot(&stack.1))
                        .await
                        .expect("a new vote");
                }
                let elapsed = started.elapsed();
                tally.record("vote", "tower stack", votes, elapsed);
                elapsed
            }
        });
    });
    group.finish();

    tally.print(
        "vote path: votes/s, bare MemoryStore::cast vs metrics+cache+broadcast layers over it",
        "votes/s",
        &["vote"],
        ["bare store", "tower stack"],
        None,
    );
    if let (Some(bare), Some(stack)) = (
        tally.rate("vote", "bare store"),
        tally.rate("vote", "tower stack"),
    ) {
        println!(
            "stack cost: {:.2}x the bare call (target <= 1.3x)",
            bare / stack
        );
    }
}

/// The server's stack over a fresh memory store, with its poll.
fn stack_over(
    rt: &Runtime,
) -> (
    impl tower::Service<
            Ballot,
            Response = polling_core::CastOutcome,
            Error = polling_core::PollError,
            Future = impl Send,
        > + Clone,
    Poll,
) {
    let store = MemoryStore::new();
    let poll = sample_poll(3, false, None);
    rt.block_on(store.create(&poll)).expect("create the poll");
    let stack = ServiceBuilder::new()
        .layer(MetricsLayer::new())
        .layer(CacheLayer::new(MemoryCache::new()))
        .layer(BroadcastLayer::new(LocalBroadcaster::new()))
        .service(PollService::new(store));
    (stack, poll)
}

criterion_group!(benches, layers);
criterion_main!(benches);

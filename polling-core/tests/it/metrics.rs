//! What the layers record through the `metrics` facade, read back from a
//! [`TestRecorder`] installed for each test alone.

use crate::common::store_with_poll;

use polling_core::layer::{BroadcastLayer, CacheLayer, MetricsLayer};
use polling_core::memory::{LocalBroadcaster, MemoryCache, MemoryStore};
use polling_core::metrics::{
    operation, outcome, source, BROADCAST_PUBLISH_ERRORS_TOTAL, CACHE_ERRORS_TOTAL,
    RESULTS_READS_TOTAL, RESULTS_READ_DURATION_SECONDS, RESULTS_READ_ERRORS_TOTAL, VOTES_TOTAL,
    VOTE_DURATION_SECONDS,
};
use polling_core::service::{PollService, ResultsRequest};
use polling_core::testing::{ballot, sample_poll, FailingBroadcaster, FailingCache, TestRecorder};
use polling_core::{BoxError, Broadcaster, PollError, PollStore, ResultsCache, VoterId};
use tower::{Service, ServiceBuilder, ServiceExt};

/// The server's stack: metrics, cache, broadcast, store.
fn stack<C: ResultsCache, B: Broadcaster>(
    store: &MemoryStore,
    cache: C,
    broadcaster: B,
) -> impl Service<polling_core::Ballot, Response = polling_core::CastOutcome, Error = PollError>
       + Service<ResultsRequest, Response = polling_core::Results, Error = PollError>
       + Clone {
    ServiceBuilder::new()
        .layer(MetricsLayer::new())
        .layer(CacheLayer::new(cache))
        .layer(BroadcastLayer::new(broadcaster))
        .service(PollService::new(store.clone()))
}

fn votes(recorder: &TestRecorder, outcome: &str) -> u64 {
    recorder.counter(VOTES_TOTAL, &[(outcome::LABEL, outcome)])
}

fn reads(recorder: &TestRecorder, source: &str) -> u64 {
    recorder.counter(RESULTS_READS_TOTAL, &[(source::LABEL, source)])
}

fn cache_errors(recorder: &TestRecorder, operation: &str) -> u64 {
    recorder.counter(CACHE_ERRORS_TOTAL, &[(operation::LABEL, operation)])
}

#[test]
fn votes_are_counted_by_outcome_and_timed() {
    let recorder = TestRecorder::new();
    recorder.block_on(async {
        let (store, poll) = store_with_poll().await;
        let service = stack(&store, MemoryCache::new(), LocalBroadcaster::new());
        let cast = |ballot| service.clone().oneshot(ballot);

        let voter = VoterId::generate();
        cast(ballot(&poll, &voter, &[0])).await.unwrap();
        cast(ballot(&poll, &VoterId::generate(), &[1]))
            .await
            .unwrap();
        cast(ballot(&poll, &VoterId::generate(), &[2]))
            .await
            .unwrap();
        let replay = cast(ballot(&poll, &voter, &[0])).await.unwrap();
        assert!(!replay.is_new());
        cast(ballot(&poll, &voter, &[1])).await.unwrap_err();
        let mut changeable = sample_poll(2, false, None);
        changeable.allow_vote_change = true;
        store.create(&changeable).await.unwrap();
        cast(ballot(&changeable, &voter, &[0])).await.unwrap();
        let changed = cast(ballot(&changeable, &voter, &[1])).await.unwrap();
        assert!(changed.is_changed());
        cast(ballot(&poll, &VoterId::generate(), &[7]))
            .await
            .unwrap_err();
        let unknown = sample_poll(2, false, None);
        cast(ballot(&unknown, &VoterId::generate(), &[0]))
            .await
            .unwrap_err();
        store.close(poll.id, polling_core::now()).await.unwrap();
        cast(ballot(&poll, &VoterId::generate(), &[0]))
            .await
            .unwrap_err();
    });

    let counted: Vec<_> = outcome::ALL
        .iter()
        .map(|o| (*o, votes(&recorder, o)))
        .collect();
    assert_eq!(
        counted,
        [
            (outcome::ACCEPTED, 4),
            (outcome::DUPLICATE, 1),
            (outcome::CHANGED, 1),
            (outcome::ALREADY_VOTED, 1),
            (outcome::INVALID, 1),
            (outcome::CLOSED, 1),
            (outcome::NOT_FOUND, 1),
            (outcome::UNAVAILABLE, 0),
        ]
    );
    let durations = recorder.histogram(VOTE_DURATION_SECONDS, &[]);
    assert_eq!(durations.len(), 10, "every ballot is timed");
    assert!(
        durations.iter().all(|&s| (0.0..5.0).contains(&s)),
        "{durations:?}"
    );
}

#[test]
fn results_reads_are_counted_by_cache_hit_and_miss() {
    let recorder = TestRecorder::new();
    recorder.block_on(async {
        let (store, poll) = store_with_poll().await;
        let service = stack(&store, MemoryCache::new(), LocalBroadcaster::new());
        for _ in 0..3 {
            service
                .clone()
                .oneshot(ResultsRequest::new(poll.id))
                .await
                .unwrap();
        }
        let unknown = sample_poll(2, false, None);
        let err = service
            .oneshot(ResultsRequest::new(unknown.id))
            .await
            .unwrap_err();
        assert!(matches!(err, PollError::NotFound));
    });

    assert_eq!(
        reads(&recorder, source::CACHE_MISS),
        2,
        "the first read and the unknown poll"
    );
    assert_eq!(reads(&recorder, source::CACHE_HIT), 2);
    assert_eq!(reads(&recorder, source::CACHE_ERROR), 0);
    assert_eq!(recorder.counter_total(CACHE_ERRORS_TOTAL), 0);
    assert_eq!(
        recorder.histogram(RESULTS_READ_DURATION_SECONDS, &[]).len(),
        4,
        "every read is timed"
    );
    assert_eq!(
        recorder.counter(RESULTS_READ_ERRORS_TOTAL, &[("code", "not_found")]),
        1
    );
    assert_eq!(recorder.counter_total(RESULTS_READ_ERRORS_TOTAL), 1);
}

#[test]
fn a_failing_cache_is_counted_by_operation_and_reads_still_succeed() {
    let recorder = TestRecorder::new();
    recorder.block_on(async {
        let (store, poll) = store_with_poll().await;
        let service = stack(&store, FailingCache, LocalBroadcaster::new());
        let outcome = service
            .clone()
            .oneshot(ballot(&poll, &VoterId::generate(), &[0]))
            .await
            .expect("a cache failure fails no vote");
        assert!(outcome.is_new());
        let read = service
            .oneshot(ResultsRequest::new(poll.id))
            .await
            .expect("a cache failure fails no read");
        assert_eq!(read, outcome.results);
    });

    assert_eq!(reads(&recorder, source::CACHE_ERROR), 1);
    assert_eq!(reads(&recorder, source::CACHE_HIT), 0);
    assert_eq!(reads(&recorder, source::CACHE_MISS), 0);
    assert_eq!(cache_errors(&recorder, operation::GET), 1);
    assert_eq!(
        cache_errors(&recorder, operation::PUT),
        2,
        "after the vote and after the read"
    );
    assert_eq!(votes(&recorder, outcome::ACCEPTED), 1);
    assert_eq!(recorder.counter_total(RESULTS_READ_ERRORS_TOTAL), 0);
}

#[test]
fn a_failing_broadcaster_is_counted_and_the_vote_accepted() {
    let recorder = TestRecorder::new();
    recorder.block_on(async {
        let (store, poll) = store_with_poll().await;
        let service = stack(&store, MemoryCache::new(), FailingBroadcaster);
        let voter = VoterId::generate();
        for _ in 0..2 {
            service
                .clone()
                .oneshot(ballot(&poll, &voter, &[0]))
                .await
                .expect("a broadcast failure fails no vote");
        }
    });

    assert_eq!(
        recorder.counter(BROADCAST_PUBLISH_ERRORS_TOTAL, &[]),
        1,
        "the replay publishes nothing, so fails nothing"
    );
    assert_eq!(votes(&recorder, outcome::ACCEPTED), 1);
    assert_eq!(votes(&recorder, outcome::DUPLICATE), 1);
}

#[test]
fn boxed_errors_from_limit_layers_are_looked_into() {
    let recorder = TestRecorder::new();
    recorder.block_on(async {
        let (store, poll) = store_with_poll().await;
        // As below tower's own layers, whose error is a BoxError.
        let service = ServiceBuilder::new()
            .layer(MetricsLayer::new())
            .map_err(BoxError::from)
            .service(PollService::new(store.clone()));
        let voter = VoterId::generate();
        service
            .clone()
            .oneshot(ballot(&poll, &voter, &[0]))
            .await
            .unwrap();
        service
            .clone()
            .oneshot(ballot(&poll, &voter, &[2]))
            .await
            .unwrap_err();

        // An error of a layer itself: a timeout, a shed load.
        let refusing = ServiceBuilder::new()
            .layer(MetricsLayer::new())
            .service(tower::service_fn(|_: polling_core::Ballot| async {
                Err::<polling_core::CastOutcome, BoxError>("request timed out".into())
            }));
        refusing
            .oneshot(ballot(&poll, &voter, &[0]))
            .await
            .unwrap_err();
    });

    assert_eq!(votes(&recorder, outcome::ACCEPTED), 1);
    assert_eq!(votes(&recorder, outcome::ALREADY_VOTED), 1);
    assert_eq!(votes(&recorder, outcome::UNAVAILABLE), 1);
}

#[test]
fn without_a_recorder_the_layers_record_nothing_and_work() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (store, poll) = store_with_poll().await;
        let service = stack(&store, MemoryCache::new(), LocalBroadcaster::new());
        let outcome = service
            .oneshot(ballot(&poll, &VoterId::generate(), &[0]))
            .await
            .unwrap();
        assert!(outcome.is_new());
    });
}

#[test]
fn the_in_process_idempotency_store_counts_its_keys_and_evictions() {
    use polling_core::idempotency::{Begun, Claim, Fingerprint, IdempotencyStore, StoredResponse};
    use polling_core::memory::MemoryIdempotencyStore;
    use polling_core::metrics::{IDEMPOTENCY_EVICTIONS_TOTAL, IDEMPOTENCY_KEYS};

    let recorder = TestRecorder::new();
    recorder.block_on(async {
        let store = MemoryIdempotencyStore::with_max_keys(10);
        let now = polling_core::now();
        let response = StoredResponse {
            status: 404,
            headers: vec![],
            body: b"{}".to_vec(),
        };
        for i in 0..25 {
            let claim = Claim {
                key: format!("POST /api/polls/{i}/votes - k"),
                fingerprint: Fingerprint::of(b"{}"),
                at: now,
                lease: time::Duration::minutes(1),
            };
            let Begun::Fresh(lease) = store.begin(&claim).await.unwrap() else {
                panic!("a new key");
            };
            store
                .complete(&lease, &response, now + time::Duration::days(1))
                .await
                .unwrap();
        }
        assert_eq!(store.len(), 10);
    });
    assert_eq!(recorder.gauge(IDEMPOTENCY_KEYS, &[]), Some(10.0));
    assert_eq!(recorder.counter_total(IDEMPOTENCY_EVICTIONS_TOTAL), 15);
}

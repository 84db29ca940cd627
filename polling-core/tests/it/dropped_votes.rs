//! Post-commit effects belong to the commit, not to the caller: a vote whose
//! caller drops it (hangs up, or a timeout around the layers fires) while
//! the store records it still reaches the cache and the broadcaster, once;
//! its ballot is marked abandoned, so a store that had not started on it
//! would drop it.

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use polling_core::layer::{Broadcast, BroadcastLayer, Cache, CacheLayer};
use polling_core::memory::{LocalBroadcaster, MemoryCache, MemoryStore};
use polling_core::service::PollService;
use polling_core::testing::{ballot, sample_poll, CountingCache, GatedStore};
use polling_core::{
    Broadcaster, EventStream, Poll, PollStore, ResultsCache, ResultsEvent, VoterId,
};
use tower::timeout::TimeoutLayer;
use tower::{Service, ServiceBuilder, ServiceExt};

/// The layers as the server stacks them, over a gated memory store.
type Stack = Cache<
    Broadcast<PollService<GatedStore<MemoryStore>>, LocalBroadcaster>,
    CountingCache<MemoryCache>,
>;

/// What a test watches: the stack, its store's gate, its cache, and the
/// events of its poll.
struct Fixture {
    service: Stack,
    store: GatedStore<MemoryStore>,
    cache: CountingCache<MemoryCache>,
    events: EventStream,
    poll: Poll,
}

/// The stack over a gated memory store holding one open poll, the gate
/// closed.
async fn fixture() -> Fixture {
    let store = GatedStore::new(MemoryStore::new());
    let poll = sample_poll(3, false, None);
    store.create(&poll).await.unwrap();
    let broadcaster = LocalBroadcaster::new();
    let events = broadcaster.subscribe(poll.id).await.unwrap();
    let cache = CountingCache::new(MemoryCache::new());
    let service = ServiceBuilder::new()
        .layer(CacheLayer::new(cache.clone()))
        .layer(BroadcastLayer::new(broadcaster))
        .service(PollService::new(store.clone()));
    Fixture {
        service,
        store,
        cache,
        events,
        poll,
    }
}

async fn next_version(events: &mut EventStream) -> u64 {
    let event = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("an event within 5 s")
        .expect("the event stream goes on");
    match event {
        ResultsEvent::Updated { results } => results.version,
        other => panic!("expected an update, got {other:?}"),
    }
}

/// The version `cache` holds for the fixture's poll, once it reaches
/// `version` (within a generous 5 s).
async fn cached_version_reaches(fixture: &Fixture, version: u64) -> u64 {
    let mut cached = None;
    for _ in 0..500 {
        cached = fixture
            .cache
            .get_ref()
            .get(fixture.poll.id)
            .await
            .unwrap()
            .map(|results| results.version);
        if cached >= Some(version) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cached.unwrap_or_else(|| panic!("nothing cached; expected version {version}"))
}

/// Polls `call` until the store holds it at the gate, then drops it.
async fn drop_once_in_the_store<F: Future>(call: F, store: &GatedStore<MemoryStore>) {
    let arrived = store.arrived();
    tokio::select! {
        _ = call => panic!("the vote completed while the gate was closed"),
        () = store.wait_for_casts(arrived + 1) => {}
    }
}

#[tokio::test]
async fn a_vote_dropped_while_the_store_records_it_is_still_cached_and_published_once() {
    let mut fixture = fixture().await;
    let sent = ballot(&fixture.poll, &VoterId::generate(), &[1]);
    let kept = sent.clone();

    drop_once_in_the_store(fixture.service.clone().oneshot(sent), &fixture.store).await;
    assert!(
        kept.is_abandoned(),
        "the dropped vote's ballot is abandoned"
    );
    assert_eq!(
        fixture.cache.puts(),
        0,
        "nothing is cached before the commit"
    );

    fixture.store.open();
    assert_eq!(
        next_version(&mut fixture.events).await,
        1,
        "the commit is published"
    );
    assert_eq!(
        cached_version_reaches(&fixture, 1).await,
        1,
        "the commit is cached"
    );
    assert_eq!(
        fixture
            .store
            .results(fixture.poll.id)
            .await
            .unwrap()
            .version,
        1
    );

    // The next vote's effects are the next ones: nothing was done twice.
    let outcome = fixture
        .service
        .clone()
        .oneshot(ballot(&fixture.poll, &VoterId::generate(), &[0]))
        .await
        .unwrap();
    assert_eq!(outcome.results.version, 2);
    assert_eq!(next_version(&mut fixture.events).await, 2);
    assert_eq!(fixture.cache.puts(), 2, "one put per commit");
}

#[tokio::test]
async fn a_backend_timeout_firing_mid_cast_still_caches_and_publishes_the_commit() {
    let mut fixture = fixture().await;
    let sent = ballot(&fixture.poll, &VoterId::generate(), &[2]);
    let kept = sent.clone();
    let service = ServiceBuilder::new()
        .layer(TimeoutLayer::new(Duration::from_millis(20)))
        .service(fixture.service.clone());

    // The gate stays closed until the timeout has answered: it fires mid-cast.
    let answer = service.oneshot(sent).await;
    assert!(answer.is_err(), "the timeout answered: {answer:?}");
    assert_eq!(fixture.store.arrived(), 1, "the cast was in the store");
    assert!(
        kept.is_abandoned(),
        "the timed-out vote's ballot is abandoned"
    );

    fixture.store.open();
    assert_eq!(next_version(&mut fixture.events).await, 1);
    assert_eq!(cached_version_reaches(&fixture, 1).await, 1);
    assert_eq!(fixture.cache.puts(), 1);
}

#[tokio::test]
async fn a_vote_future_dropped_after_it_completed_does_nothing_more() {
    let mut fixture = fixture().await;
    fixture.store.open();
    let sent = ballot(&fixture.poll, &VoterId::generate(), &[0]);
    let kept = sent.clone();

    // `oneshot` drops the response future once it has completed.
    let outcome = fixture.service.clone().oneshot(sent).await.unwrap();
    assert_eq!(outcome.results.version, 1);
    assert!(!kept.is_abandoned(), "a completed vote is not abandoned");

    let marker = fixture
        .service
        .clone()
        .oneshot(ballot(&fixture.poll, &VoterId::generate(), &[1]))
        .await
        .unwrap();
    assert_eq!(marker.results.version, 2);
    assert_eq!(next_version(&mut fixture.events).await, 1);
    assert_eq!(
        next_version(&mut fixture.events).await,
        2,
        "no second publish of the first vote"
    );
    assert_eq!(fixture.cache.puts(), 2, "no second put of the first vote");
    assert_eq!(fixture.store.arrived(), 2, "no second cast");
}

#[test]
fn a_vote_dropped_outside_a_runtime_is_only_abandoned() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut fixture = runtime.block_on(fixture());
    let sent = ballot(&fixture.poll, &VoterId::generate(), &[0]);
    let kept = sent.clone();

    // Made and dropped outside the runtime, never polled.
    drop(fixture.service.call(sent));
    assert!(kept.is_abandoned());

    runtime.block_on(async {
        fixture.store.open();
        tokio::task::yield_now().await;
        let results = fixture.store.results(fixture.poll.id).await.unwrap();
        assert_eq!(results.version, 0, "nothing was left to record it");
        assert_eq!(fixture.store.arrived(), 0);
        assert_eq!(fixture.cache.puts(), 0);
    });
}

#[test]
fn a_runtime_shut_down_while_a_dropped_vote_finishes_drops_it_quietly() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fixture = runtime.block_on(fixture());
    let sent = ballot(&fixture.poll, &VoterId::generate(), &[0]);
    let kept = sent.clone();
    runtime.block_on(drop_once_in_the_store(
        fixture.service.clone().oneshot(sent),
        &fixture.store,
    ));

    // The detached rest waits at the closed gate; shutting down drops it
    // (and the futures nested in it) without a panic or a second spawn.
    drop(runtime);
    assert!(kept.is_abandoned());
    assert_eq!(fixture.store.arrived(), 1, "cast once, never again");
    assert_eq!(fixture.cache.puts(), 0);
}

//! The layers stacked as the server stacks them — cache, then broadcast, then
//! the store — over the in-process backends and the test doubles.

use crate::common::store_with_poll;

use std::time::Duration;

use futures_util::StreamExt;
use polling_core::layer::{Broadcast, BroadcastLayer, Cache, CacheLayer};
use polling_core::memory::{LocalBroadcaster, MemoryCache, MemoryStore};
use polling_core::service::{PollService, ResultsRequest};
use polling_core::testing::{
    ballot, results_at, sample_poll, CountingCache, FailingBroadcaster, FailingCache,
};
use polling_core::{
    Broadcaster, EventStream, PollError, PollId, PollStore, Results, ResultsCache, ResultsEvent,
    VoterId,
};
use tower::{ServiceBuilder, ServiceExt};

type Stack<C, B> = Cache<Broadcast<PollService<MemoryStore>, B>, C>;

fn stack<C: ResultsCache, B: Broadcaster>(
    store: &MemoryStore,
    cache: C,
    broadcaster: B,
) -> Stack<C, B> {
    ServiceBuilder::new()
        .layer(CacheLayer::new(cache))
        .layer(BroadcastLayer::new(broadcaster))
        .service(PollService::new(store.clone()))
}

/// The stack over `store` with a counting in-memory cache and a local
/// broadcaster; also returns that cache, to read its counters, and a
/// subscription to the events of `poll`.
async fn watched_stack(
    store: &MemoryStore,
    poll: PollId,
) -> (
    Stack<CountingCache<MemoryCache>, LocalBroadcaster>,
    CountingCache<MemoryCache>,
    EventStream,
) {
    let broadcaster = LocalBroadcaster::new();
    let events = broadcaster.subscribe(poll).await.unwrap();
    let cache = CountingCache::new(MemoryCache::new());
    (stack(store, cache.clone(), broadcaster), cache, events)
}

async fn next_event(events: &mut EventStream) -> ResultsEvent {
    tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("no event within 5 s")
        .expect("the event stream ended")
}

#[tokio::test]
async fn a_second_results_read_is_a_cache_hit() {
    let (store, poll) = store_with_poll().await;
    let cache = CountingCache::new(MemoryCache::new());
    let service = stack(&store, cache.clone(), LocalBroadcaster::new());

    let first = service
        .clone()
        .oneshot(ResultsRequest::new(poll.id))
        .await
        .unwrap();
    assert_eq!(
        (cache.hits(), cache.misses(), cache.puts()),
        (0, 1, 1),
        "a miss, then the store's results cached"
    );
    let second = service.oneshot(ResultsRequest::new(poll.id)).await.unwrap();
    assert_eq!(
        (cache.hits(), cache.misses(), cache.puts()),
        (1, 1, 1),
        "the second read hits the cache"
    );
    assert_eq!(first, second);
    assert_eq!(second, store.results(poll.id).await.unwrap());
}

#[tokio::test]
async fn a_cached_entry_is_served_without_asking_the_store() {
    let (store, poll) = store_with_poll().await;
    let cache = MemoryCache::new();
    let sentinel = results_at(poll.id, 99);
    cache.put(&sentinel).await.unwrap();
    let service = stack(&store, cache, LocalBroadcaster::new());

    let read = service.oneshot(ResultsRequest::new(poll.id)).await.unwrap();
    assert_eq!(
        read, sentinel,
        "the cached entry, not the store's version 0"
    );
}

#[tokio::test]
async fn a_vote_puts_the_new_results_in_the_cache() {
    let (store, poll) = store_with_poll().await;
    let cache = CountingCache::new(MemoryCache::new());
    let service = stack(&store, cache.clone(), LocalBroadcaster::new());

    let before = service
        .clone()
        .oneshot(ResultsRequest::new(poll.id))
        .await
        .unwrap();
    assert_eq!(before.version, 0);

    let outcome = service
        .clone()
        .oneshot(ballot(&poll, &VoterId::generate(), &[1]))
        .await
        .unwrap();
    assert_eq!(outcome.results.version, 1);
    assert_eq!(
        cache.get_ref().get(poll.id).await.unwrap(),
        Some(outcome.results.clone()),
        "the vote's results are cached"
    );

    let after = service.oneshot(ResultsRequest::new(poll.id)).await.unwrap();
    assert_eq!(after, outcome.results, "the next read sees the vote");
    assert_eq!(cache.hits(), 1, "and comes from the cache");
}

#[tokio::test]
async fn a_vote_publishes_an_updated_event() {
    let (store, poll) = store_with_poll().await;
    let broadcaster = LocalBroadcaster::new();
    let mut events = broadcaster.subscribe(poll.id).await.unwrap();
    let service = stack(&store, MemoryCache::new(), broadcaster);

    let outcome = service
        .oneshot(ballot(&poll, &VoterId::generate(), &[2]))
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut events).await,
        ResultsEvent::Updated {
            results: outcome.results
        }
    );
}

#[tokio::test]
async fn a_replayed_ballot_is_neither_republished_nor_recached() {
    let (store, poll) = store_with_poll().await;
    let (service, cache, mut events) = watched_stack(&store, poll.id).await;
    let voter = VoterId::generate();

    let first = service
        .clone()
        .oneshot(ballot(&poll, &voter, &[0]))
        .await
        .unwrap();
    let replay = service
        .clone()
        .oneshot(ballot(&poll, &voter, &[0]))
        .await
        .unwrap();
    assert!(!replay.is_new());
    assert_eq!(replay.receipt, first.receipt);
    assert_eq!(cache.puts(), 1, "a replay puts nothing");

    // A later vote is the marker: the event after version 1 must be version 2.
    let second = service
        .oneshot(ballot(&poll, &VoterId::generate(), &[1]))
        .await
        .unwrap();
    let received = [next_event(&mut events).await, next_event(&mut events).await];
    assert_eq!(
        received,
        [
            ResultsEvent::Updated {
                results: first.results
            },
            ResultsEvent::Updated {
                results: second.results
            },
        ],
        "the replay published nothing"
    );
}

#[tokio::test]
async fn a_changed_ballot_is_cached_and_published() {
    let store = MemoryStore::new();
    let mut poll = sample_poll(2, false, None);
    poll.allow_vote_change = true;
    store.create(&poll).await.unwrap();
    let (service, cache, mut events) = watched_stack(&store, poll.id).await;
    let voter = VoterId::generate();

    let first = service
        .clone()
        .oneshot(ballot(&poll, &voter, &[0]))
        .await
        .unwrap();
    let changed = service
        .clone()
        .oneshot(ballot(&poll, &voter, &[1]))
        .await
        .unwrap();
    assert!(changed.is_changed());
    assert_eq!(cache.puts(), 2, "a change is cached like a new ballot");
    let received = [next_event(&mut events).await, next_event(&mut events).await];
    assert_eq!(
        received,
        [
            ResultsEvent::Updated {
                results: first.results
            },
            ResultsEvent::Updated {
                results: changed.results.clone()
            },
        ],
        "a change is published like a new ballot"
    );
    let read = service.oneshot(ResultsRequest::new(poll.id)).await.unwrap();
    assert_eq!(read, changed.results, "reads see the change");
}

#[tokio::test]
async fn a_failing_cache_fails_no_vote_and_reads_fall_back_to_the_store() {
    let (store, poll) = store_with_poll().await;
    let broadcaster = LocalBroadcaster::new();
    let mut events = broadcaster.subscribe(poll.id).await.unwrap();
    let service = stack(&store, FailingCache, broadcaster);

    let outcome = service
        .clone()
        .oneshot(ballot(&poll, &VoterId::generate(), &[0]))
        .await
        .expect("a cache failure must not fail the vote");
    assert!(outcome.is_new());
    assert_eq!(
        next_event(&mut events).await,
        ResultsEvent::Updated {
            results: outcome.results.clone()
        },
        "the vote is still published"
    );

    let read = service
        .oneshot(ResultsRequest::new(poll.id))
        .await
        .expect("a cache failure must not fail a read");
    assert_eq!(read, outcome.results);
    assert_eq!(read, store.results(poll.id).await.unwrap());
}

#[tokio::test]
async fn a_failing_broadcaster_fails_no_vote() {
    let (store, poll) = store_with_poll().await;
    let cache = CountingCache::new(MemoryCache::new());
    let service = stack(&store, cache.clone(), FailingBroadcaster);

    let outcome = service
        .clone()
        .oneshot(ballot(&poll, &VoterId::generate(), &[0]))
        .await
        .expect("a broadcast failure must not fail the vote");
    assert!(outcome.is_new());
    assert_eq!(cache.puts(), 1, "the vote is still cached");

    let read = service.oneshot(ResultsRequest::new(poll.id)).await.unwrap();
    assert_eq!(read, outcome.results);
    assert_eq!(read, store.results(poll.id).await.unwrap());
}

#[tokio::test]
async fn failing_cache_and_broadcaster_together_leave_the_store_path_working() {
    let (store, poll) = store_with_poll().await;
    let service = stack(&store, FailingCache, FailingBroadcaster);

    for i in 1..=3 {
        let outcome = service
            .clone()
            .oneshot(ballot(&poll, &VoterId::generate(), &[0]))
            .await
            .expect("the vote commits whatever the cache and broadcaster do");
        assert_eq!(outcome.results.version, i);
        let read = service
            .clone()
            .oneshot(ResultsRequest::new(poll.id))
            .await
            .unwrap();
        assert_eq!(
            read,
            store.results(poll.id).await.unwrap(),
            "reads come from the store"
        );
        assert_eq!(read.version, i);
    }
}

#[tokio::test]
async fn store_errors_pass_through_the_layers_unchanged() {
    let (store, poll) = store_with_poll().await;
    let (service, cache, mut events) = watched_stack(&store, poll.id).await;
    let voter = VoterId::generate();
    let first = service
        .clone()
        .oneshot(ballot(&poll, &voter, &[0]))
        .await
        .unwrap();

    let unknown = sample_poll(2, false, None);
    let err = service
        .clone()
        .oneshot(ballot(&unknown, &VoterId::generate(), &[0]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PollError::NotFound),
        "a ballot in an unknown poll: {err:?}"
    );
    let err = service
        .clone()
        .oneshot(ResultsRequest::new(unknown.id))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PollError::NotFound),
        "results of an unknown poll: {err:?}"
    );
    let err = service
        .clone()
        .oneshot(ballot(&poll, &voter, &[1]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PollError::AlreadyVoted),
        "a changed ballot: {err:?}"
    );
    let err = service
        .clone()
        .oneshot(ballot(&poll, &VoterId::generate(), &[5]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PollError::InvalidChoice(_)),
        "an unknown option: {err:?}"
    );
    assert_eq!(
        cache.puts(),
        1,
        "refused ballots and failed reads put nothing"
    );

    // The marker: the next event after the first vote's is the next vote's.
    let second = service
        .clone()
        .oneshot(ballot(&poll, &VoterId::generate(), &[2]))
        .await
        .unwrap();
    assert_eq!(next_event(&mut events).await.poll_id(), poll.id);
    assert_eq!(
        next_event(&mut events).await,
        ResultsEvent::Updated {
            results: second.results
        },
        "refused ballots published nothing"
    );
    assert_eq!(first.results.version, 1);

    store.close(poll.id, polling_core::now()).await.unwrap();
    let err = service
        .oneshot(ballot(&poll, &VoterId::generate(), &[0]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PollError::PollClosed),
        "a ballot after close: {err:?}"
    );
}

#[tokio::test]
async fn health_checks_default_to_ok_and_arcs_forward_them() {
    use std::sync::Arc;

    assert!(MemoryCache::new().check().await.is_ok());
    assert!(LocalBroadcaster::new().check().await.is_ok());
    let cache: Arc<dyn ResultsCache> = Arc::new(FailingCache);
    let broadcaster: Arc<dyn Broadcaster> = Arc::new(FailingBroadcaster);
    assert!(matches!(
        cache.check().await,
        Err(PollError::Unavailable(_))
    ));
    assert!(matches!(
        broadcaster.check().await,
        Err(PollError::Unavailable(_))
    ));
    let counting = CountingCache::new(FailingCache);
    assert!(counting.check().await.is_err(), "the wrapper forwards it");
}

/// A [`MemoryCache`] that can be cut off, as Redis behind a partition: every
/// call fails while cut, and the entries are still there when it is back.
#[derive(Clone, Default)]
struct SeveredCache {
    inner: MemoryCache,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl SeveredCache {
    fn set_cut(&self, cut: bool) {
        self.cut.store(cut, std::sync::atomic::Ordering::SeqCst);
    }

    fn reachable(&self) -> polling_core::Result<()> {
        if self.cut.load(std::sync::atomic::Ordering::SeqCst) {
            Err(polling_core::PollError::unavailable(
                "SeveredCache: cut off",
            ))
        } else {
            Ok(())
        }
    }
}

#[async_trait::async_trait]
impl ResultsCache for SeveredCache {
    async fn get(&self, poll: PollId) -> polling_core::Result<Option<Results>> {
        self.reachable()?;
        self.inner.get(poll).await
    }

    async fn put(&self, results: &Results) -> polling_core::Result<()> {
        self.reachable()?;
        self.inner.put(results).await
    }

    async fn invalidate(&self, poll: PollId) -> polling_core::Result<()> {
        self.reachable()?;
        self.inner.invalidate(poll).await
    }
}

#[tokio::test]
async fn a_cache_cut_off_during_votes_serves_no_stale_results_once_it_is_back() {
    let (store, poll) = store_with_poll().await;
    let cache = SeveredCache::default();
    let service = stack(&store, cache.clone(), LocalBroadcaster::new());
    let read = |service: Stack<SeveredCache, LocalBroadcaster>| async move {
        service.oneshot(ResultsRequest::new(poll.id)).await.unwrap()
    };
    assert_eq!(read(service.clone()).await.version, 0);

    cache.set_cut(true);
    for _ in 0..2 {
        service
            .clone()
            .oneshot(ballot(&poll, &VoterId::generate(), &[0]))
            .await
            .expect("a cut-off cache fails no vote");
    }
    cache.set_cut(false);
    assert_eq!(
        cache.inner.get(poll.id).await.unwrap().map(|r| r.version),
        Some(0),
        "the cache still holds the version from before"
    );

    let fresh = read(service.clone()).await;
    assert_eq!(fresh.version, 2, "read from the store, not the stale cache");
    assert_eq!(
        cache.inner.get(poll.id).await.unwrap(),
        Some(fresh.clone()),
        "and the cache refreshed"
    );
    // Refreshed, the cache serves again (a hit returns the same).
    assert_eq!(read(service).await, fresh);
}

#[tokio::test]
async fn announcing_voters_follows_new_and_changed_ballots_of_chosen_polls_with_their_tag() {
    let store = MemoryStore::new();
    let mut poll = sample_poll(2, false, None);
    poll.allow_vote_change = true;
    store.create(&poll).await.unwrap();
    let quiet = sample_poll(2, false, None);
    store.create(&quiet).await.unwrap();
    let broadcaster = LocalBroadcaster::new();
    let mut events = broadcaster.subscribe(poll.id).await.unwrap();
    let mut quiet_events = broadcaster.subscribe(quiet.id).await.unwrap();
    let announced = poll.id;
    let service = ServiceBuilder::new()
        .layer(
            BroadcastLayer::new(broadcaster)
                .announcing_voters(std::sync::Arc::new(move |id| id == announced)),
        )
        .service(PollService::new(store.clone()));
    let voter = VoterId::generate();
    let tag = polling_core::VoterTag::of(&voter);

    let first = service
        .clone()
        .oneshot(ballot(&poll, &voter, &[0]))
        .await
        .unwrap();
    let voted = ResultsEvent::Voted {
        poll_id: poll.id,
        voter: tag.clone(),
    };
    assert_eq!(
        [next_event(&mut events).await, next_event(&mut events).await],
        [
            ResultsEvent::Updated {
                results: first.results
            },
            voted.clone()
        ],
        "the voter, after the counts that include the vote"
    );
    // A replay announces nothing; a change announces again.
    service
        .clone()
        .oneshot(ballot(&poll, &voter, &[0]))
        .await
        .unwrap();
    let changed = service
        .clone()
        .oneshot(ballot(&poll, &voter, &[1]))
        .await
        .unwrap();
    assert!(changed.is_changed());
    assert_eq!(
        [next_event(&mut events).await, next_event(&mut events).await],
        [
            ResultsEvent::Updated {
                results: changed.results
            },
            voted
        ]
    );

    // A poll not chosen gets its results only.
    let other = service
        .clone()
        .oneshot(ballot(&quiet, &voter, &[0]))
        .await
        .unwrap();
    let marker = service
        .oneshot(ballot(&quiet, &VoterId::generate(), &[1]))
        .await
        .unwrap();
    assert_eq!(
        [
            next_event(&mut quiet_events).await,
            next_event(&mut quiet_events).await
        ],
        [
            ResultsEvent::Updated {
                results: other.results
            },
            ResultsEvent::Updated {
                results: marker.results
            }
        ]
    );
}

//! [`NearCache`]: the cache conformance suite, and what makes it near: hits
//! that reach no shared cache, events that keep it fresh, resyncs and age
//! that send it back to the shared cache, and its bound.

use std::time::Duration;

use polling_core::memory::{LocalBroadcaster, MemoryCache};
use polling_core::testing::{eventually, results_at, CountingCache};
use polling_core::{Broadcaster, NearCache, PollId, ResultsCache, ResultsEvent};

const MAX_AGE: Duration = Duration::from_secs(60);

mod conformance {
    polling_core::cache_conformance_tests!(
        #[tokio::test(flavor = "multi_thread")] => polling_core::NearCache::new(
            polling_core::memory::MemoryCache::new(),
            polling_core::memory::LocalBroadcaster::new(),
            1_000,
            super::MAX_AGE,
        )
    );
}

fn near_over(
    shared: &CountingCache<MemoryCache>,
    broadcaster: &LocalBroadcaster,
    capacity: usize,
    max_age: Duration,
) -> NearCache {
    NearCache::new(shared.clone(), broadcaster.clone(), capacity, max_age)
}

/// Waits until `near` serves `poll` at `version`.
async fn serves(near: &NearCache, poll: PollId, version: u64) {
    eventually(
        Duration::from_secs(5),
        "the near cache serves the version",
        || async {
            let held = near.get(poll).await.ok().flatten().map(|r| r.version);
            (held == Some(version)).then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hit_reaches_no_shared_cache_and_events_keep_it_fresh() {
    let (shared, broadcaster) = (
        CountingCache::new(MemoryCache::new()),
        LocalBroadcaster::new(),
    );
    let near = near_over(&shared, &broadcaster, 100, MAX_AGE);
    let poll = PollId::generate();
    // Another replica cached version 1 in the shared cache.
    shared.get_ref().put(&results_at(poll, 1)).await.unwrap();
    assert_eq!(near.get(poll).await.unwrap().map(|r| r.version), Some(1));
    assert_eq!(shared.hits(), 1, "the first read goes to the shared cache");
    for _ in 0..100 {
        assert_eq!(near.get(poll).await.unwrap().map(|r| r.version), Some(1));
    }
    assert_eq!(shared.hits() + shared.misses(), 1, "hits never reach it");

    // Votes on another replica arrive as events, out of order too.
    let before = shared.hits() + shared.misses();
    for version in [3, 2, 5, 4] {
        let event = ResultsEvent::Updated {
            results: results_at(poll, version),
        };
        broadcaster.publish(&event).await.unwrap();
    }
    serves(&near, poll, 5).await;
    for _ in 0..10 {
        assert_eq!(
            near.get(poll).await.unwrap().map(|r| r.version),
            Some(5),
            "never older"
        );
    }
    assert_eq!(
        shared.hits() + shared.misses(),
        before,
        "events, not shared reads"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resync_sends_the_next_reads_to_the_store_then_the_shared_cache() {
    let (shared, broadcaster) = (
        CountingCache::new(MemoryCache::new()),
        LocalBroadcaster::new(),
    );
    let near = near_over(&shared, &broadcaster, 100, MAX_AGE);
    let poll = PollId::generate();
    near.put(&results_at(poll, 2)).await.unwrap();
    assert_eq!(near.get(poll).await.unwrap().map(|r| r.version), Some(2));
    assert_eq!(near.get(poll).await.unwrap().map(|r| r.version), Some(2));
    assert_eq!(shared.hits(), 1, "the first read only");
    // Events were lost while, say, Redis was away; the shared cache has 7.
    shared.get_ref().put(&results_at(poll, 7)).await.unwrap();
    broadcaster
        .publish(&ResultsEvent::Resync { poll_id: poll })
        .await
        .unwrap();
    // The first read after it is a miss that asks nobody (the caller reads
    // the store); the ones after it go to the shared cache.
    eventually(
        Duration::from_secs(5),
        "a miss after the resync",
        || async { near.get(poll).await.unwrap().is_none().then_some(()) },
    )
    .await;
    let asked = shared.hits() + shared.misses();
    serves(&near, poll, 7).await;
    assert!(
        shared.hits() + shared.misses() > asked,
        "the reads after it went to the shared cache"
    );
}

/// After a Redis failover the promoted replica may hold an older version
/// than the store (its master's last writes were not replicated): the
/// resync that follows makes the read-through path read the store and heal
/// the shared cache, instead of serving the old version until the next vote.
#[tokio::test(flavor = "multi_thread")]
async fn after_a_resync_a_shared_cache_behind_the_store_is_healed_by_a_read() {
    use polling_core::layer::CacheLayer;
    use polling_core::memory::MemoryStore;
    use polling_core::service::{PollService, ResultsRequest};
    use polling_core::testing::{ballot, sample_poll};
    use polling_core::{PollStore, VoterId};
    use tower::{Layer, ServiceExt};

    let (shared, broadcaster) = (MemoryCache::new(), LocalBroadcaster::new());
    let store = MemoryStore::new();
    let poll = sample_poll(2, false, None);
    store.create(&poll).await.unwrap();
    let near = NearCache::new(shared.clone(), broadcaster.clone(), 100, MAX_AGE);
    let service = CacheLayer::new(near).layer(PollService::new(store.clone()));
    let read = || async {
        let results = service.clone().oneshot(ResultsRequest::new(poll.id)).await;
        results.unwrap().version
    };
    assert_eq!(read().await, 0, "read through: the shared cache holds 0");
    // Votes the shared cache never saw: as the promoted replica of a
    // failover, it holds version 0 while the store holds 3.
    for _ in 0..3 {
        store
            .cast(&ballot(&poll, &VoterId::generate(), &[0]))
            .await
            .unwrap();
    }
    assert_eq!(read().await, 0, "stale before the resync");
    broadcaster
        .publish(&ResultsEvent::Resync { poll_id: poll.id })
        .await
        .unwrap();
    eventually(
        Duration::from_secs(5),
        "the store's version is served",
        || async { (read().await == 3).then_some(()) },
    )
    .await;
    assert_eq!(
        shared.get(poll.id).await.unwrap().map(|r| r.version),
        Some(3),
        "the shared cache was healed"
    );
}

/// A vote committed just before its poll was deleted may write its results
/// after the delete, and its event may arrive after the delete's `Resync`:
/// neither brings the deleted poll back in any replica's near cache.
#[tokio::test(flavor = "multi_thread")]
async fn a_late_write_or_event_after_a_delete_never_brings_the_poll_back() {
    let (shared, broadcaster) = (MemoryCache::new(), LocalBroadcaster::new());
    // Two replicas' near caches over one shared cache and one broadcaster.
    let a = NearCache::new(shared.clone(), broadcaster.clone(), 100, MAX_AGE);
    let b = NearCache::new(shared.clone(), broadcaster.clone(), 100, MAX_AGE);
    let poll = PollId::generate();
    shared.put(&results_at(poll, 1)).await.unwrap();
    assert!(a.get(poll).await.unwrap().is_some());
    assert!(b.get(poll).await.unwrap().is_some());

    // B deletes the poll: the shared cache forgets it, a Resync goes out.
    b.invalidate(poll).await.unwrap();
    broadcaster
        .publish(&ResultsEvent::Resync { poll_id: poll })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Then the vote's late event and late write reach A.
    let late = results_at(poll, 2);
    broadcaster
        .publish(&ResultsEvent::Updated {
            results: late.clone(),
        })
        .await
        .unwrap();
    a.put(&late).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    for near in [&a, &b] {
        assert_eq!(
            near.get(poll).await.unwrap(),
            None,
            "the deleted poll stays gone"
        );
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_entry_nothing_confirmed_for_max_age_is_read_again() {
    let (shared, broadcaster) = (
        CountingCache::new(MemoryCache::new()),
        LocalBroadcaster::new(),
    );
    let near = near_over(&shared, &broadcaster, 100, Duration::from_secs(1));
    let poll = PollId::generate();
    shared.get_ref().put(&results_at(poll, 1)).await.unwrap();
    near.get(poll).await.unwrap();
    // An update published before this process followed the poll: only the
    // shared cache has it.
    shared.get_ref().put(&results_at(poll, 2)).await.unwrap();
    assert_eq!(near.get(poll).await.unwrap().map(|r| r.version), Some(1));
    tokio::time::advance(Duration::from_millis(1_001)).await;
    assert_eq!(
        near.get(poll).await.unwrap().map(|r| r.version),
        Some(2),
        "after max_age the shared cache is read again"
    );
    assert_eq!(shared.hits(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn it_follows_at_most_its_capacity_and_a_deleted_poll_stays_forgotten() {
    let (shared, broadcaster) = (
        CountingCache::new(MemoryCache::new()),
        LocalBroadcaster::new(),
    );
    let near = near_over(&shared, &broadcaster, 16, MAX_AGE);
    let polls: Vec<PollId> = (0..100).map(|_| PollId::generate()).collect();
    for (i, poll) in polls.iter().enumerate() {
        near.put(&results_at(*poll, i as u64 + 1)).await.unwrap();
        near.get(*poll).await.unwrap();
        assert!(near.len() <= 16, "{} polls followed", near.len());
    }
    // The latest are still served from memory, the earliest from the shared cache.
    let before = shared.hits();
    assert_eq!(
        near.get(polls[99]).await.unwrap().map(|r| r.version),
        Some(100)
    );
    assert_eq!(shared.hits(), before, "a recent poll is near");
    assert_eq!(
        near.get(polls[0]).await.unwrap().map(|r| r.version),
        Some(1)
    );
    assert_eq!(
        shared.hits(),
        before + 1,
        "an evicted poll is read from the shared cache"
    );

    near.invalidate(polls[99]).await.unwrap();
    assert_eq!(near.get(polls[99]).await.unwrap(), None);
    near.put(&results_at(polls[99], 500)).await.unwrap();
    let event = ResultsEvent::Updated {
        results: results_at(polls[99], 501),
    };
    broadcaster.publish(&event).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        near.get(polls[99]).await.unwrap(),
        None,
        "deleted stays deleted"
    );
}

/// Deletes are remembered within the capacity too, newest kept: after many
/// deletes, the latest still refuses its late write.
#[tokio::test(flavor = "multi_thread")]
async fn many_deletes_keep_the_latest_ones_sticking() {
    let (shared, broadcaster) = (MemoryCache::new(), LocalBroadcaster::new());
    let near = NearCache::new(shared.clone(), broadcaster, 4, MAX_AGE);
    let polls: Vec<PollId> = (0..50).map(|_| PollId::generate()).collect();
    for poll in &polls {
        shared.put(&results_at(*poll, 1)).await.unwrap();
        near.get(*poll).await.unwrap();
        near.invalidate(*poll).await.unwrap();
    }
    let last = polls[49];
    near.put(&results_at(last, 2)).await.unwrap();
    assert_eq!(
        near.get(last).await.unwrap(),
        None,
        "the latest delete sticks"
    );
    assert!(near.len() <= 4);
}

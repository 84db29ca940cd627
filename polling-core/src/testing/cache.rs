//! The conformance cases of [`ResultsCache`].
//!
//! Each case takes a fresh, empty cache and panics when the cache breaks the
//! contract written on [`ResultsCache`]. Run them all with
//! [`cache_conformance_tests!`](crate::cache_conformance_tests); see the
//! [module docs](super).

use std::sync::Arc;

use super::{results_at, shuffle};
use crate::cache::ResultsCache;
use crate::domain::{PollId, Results};

/// Generates one test per case of [`testing::cache`](crate::testing::cache).
///
/// Used like [`store_conformance_tests!`](crate::store_conformance_tests);
/// `make` must give a fresh, empty cache each time.
///
/// # Example
///
/// ```
/// polling_core::cache_conformance_tests!(
///     #[tokio::test(flavor = "multi_thread")] => polling_core::memory::MemoryCache::new()
/// );
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! cache_conformance_tests {
    (#[$attr:meta] $($arg:ident : $ty:ty),* $(,)? => $make:expr $(,)?) => {
        $crate::__conformance_tests!(cache, #[$attr] ($($arg: $ty),*) => $make;
            get_of_a_missing_poll_is_none,
            put_then_get_returns_the_results,
            put_never_replaces_a_newer_or_equal_version,
            a_deleted_poll_stays_forgotten,
            entries_are_per_poll,
            racing_puts_keep_the_highest_version,
        );
    };
}

async fn get<C: ResultsCache>(cache: &C, poll: PollId) -> Option<Results> {
    cache
        .get(poll)
        .await
        .unwrap_or_else(|e| panic!("cache get of poll {poll} failed: {e:?}"))
}

async fn put<C: ResultsCache>(cache: &C, results: &Results) {
    cache.put(results).await.unwrap_or_else(|e| {
        panic!(
            "cache put of poll {} version {} failed: {e:?}",
            results.poll_id, results.version
        )
    });
}

/// A poll never put is a miss, not an error.
pub async fn get_of_a_missing_poll_is_none<C: ResultsCache>(cache: C) {
    assert_eq!(
        get(&cache, PollId::generate()).await,
        None,
        "a poll never put"
    );
}

/// What was put is what is read back, whole.
pub async fn put_then_get_returns_the_results<C: ResultsCache>(cache: C) {
    let poll = PollId::generate();
    let results = results_at(poll, 3);
    put(&cache, &results).await;
    assert_eq!(
        get(&cache, poll).await,
        Some(results.clone()),
        "get after put"
    );
    assert_eq!(
        get(&cache, poll).await,
        Some(results),
        "a second get reads the same"
    );

    // Version 0 (a poll nobody voted in yet) is cached too.
    let fresh = PollId::generate();
    put(&cache, &results_at(fresh, 0)).await;
    assert_eq!(
        get(&cache, fresh).await,
        Some(results_at(fresh, 0)),
        "version 0 is cached"
    );
}

/// `put` of an older version leaves the newer one; an equal version keeps the
/// entry already there; a newer version replaces it.
pub async fn put_never_replaces_a_newer_or_equal_version<C: ResultsCache>(cache: C) {
    let poll = PollId::generate();
    let five = results_at(poll, 5);
    put(&cache, &five).await;

    put(&cache, &results_at(poll, 3)).await;
    assert_eq!(
        get(&cache, poll).await,
        Some(five.clone()),
        "an older put must not replace version 5"
    );

    let mut other_five = results_at(poll, 5);
    other_five.counts[1].votes = 99;
    put(&cache, &other_five).await;
    assert_eq!(
        get(&cache, poll).await,
        Some(five),
        "an equal version must keep the entry already cached"
    );

    let six = results_at(poll, 6);
    put(&cache, &six).await;
    assert_eq!(
        get(&cache, poll).await,
        Some(six),
        "a newer put replaces the entry"
    );
}

/// `invalidate` forgets a deleted poll for good: no later `put`, of any
/// version, brings it back (a vote batch or a read racing the delete);
/// invalidating a poll never cached is fine, and holds just the same.
pub async fn a_deleted_poll_stays_forgotten<C: ResultsCache>(cache: C) {
    let poll = PollId::generate();
    put(&cache, &results_at(poll, 5)).await;
    cache.invalidate(poll).await.expect("invalidate");
    assert_eq!(get(&cache, poll).await, None, "get after invalidate");

    for version in [1, 5, 6, u64::MAX] {
        put(&cache, &results_at(poll, version)).await;
        assert_eq!(
            get(&cache, poll).await,
            None,
            "a put of version {version} after the delete is ignored"
        );
    }

    let never_cached = PollId::generate();
    cache
        .invalidate(never_cached)
        .await
        .expect("invalidating a poll never cached");
    put(&cache, &results_at(never_cached, 1)).await;
    assert_eq!(
        get(&cache, never_cached).await,
        None,
        "a put that lands after the delete of a poll never cached is ignored"
    );
}

/// Each poll has its own entry: versions, puts and invalidations of one don't
/// touch another.
pub async fn entries_are_per_poll<C: ResultsCache>(cache: C) {
    let (a, b) = (PollId::generate(), PollId::generate());
    put(&cache, &results_at(a, 7)).await;
    put(&cache, &results_at(b, 2)).await;
    assert_eq!(get(&cache, a).await, Some(results_at(a, 7)), "poll A");
    assert_eq!(
        get(&cache, b).await,
        Some(results_at(b, 2)),
        "poll B's version 2 is not compared with A's version 7"
    );

    cache.invalidate(a).await.expect("invalidate A");
    assert_eq!(get(&cache, a).await, None, "A after invalidating A");
    assert_eq!(
        get(&cache, b).await,
        Some(results_at(b, 2)),
        "B after invalidating A"
    );
}

/// Two writers putting versions 1 to 500 of one poll, each in its own shuffled
/// order, at the same time: the cache ends at version 500.
pub async fn racing_puts_keep_the_highest_version<C: ResultsCache>(cache: C) {
    const VERSIONS: u64 = 500;
    let cache = Arc::new(cache);
    let poll = PollId::generate();

    let writers: Vec<_> = [0x5EED_0001_u64, 0x5EED_0002]
        .into_iter()
        .map(|seed| {
            let cache = Arc::clone(&cache);
            let mut versions: Vec<u64> = (1..=VERSIONS).collect();
            shuffle(&mut versions, seed);
            tokio::spawn(async move {
                for version in versions {
                    put(&*cache, &results_at(poll, version)).await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("a writer task panicked");
    }

    assert_eq!(
        get(&*cache, poll).await,
        Some(results_at(poll, VERSIONS)),
        "racing puts must end at the highest version"
    );
}

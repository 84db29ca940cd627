//! `RedisResultsCache` beyond the conformance suite: replicas racing, the key
//! layout, exact version comparison, expiry and corrupt entries. Runs against
//! the Redis at `REDIS_URL` (default `127.0.0.1:6379`), under unique prefixes.

use crate::common;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{plain_connection, redis_url, test_config};
use polling_cache_redis::{RedisConfig, RedisResultsCache};
use polling_core::testing::eventually;
use polling_core::testing::{assert_error, results_at, shuffle};
use polling_core::{PollId, ResultsCache};
use redis::AsyncCommands;

/// Two caches with connections of their own, as two replicas have.
async fn two_replicas(config: &RedisConfig) -> (RedisResultsCache, RedisResultsCache) {
    let first = RedisResultsCache::connect(&redis_url(), config).await;
    let second = RedisResultsCache::connect(&redis_url(), config).await;
    (
        first.expect("connect the first replica"),
        second.expect("connect the second replica"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_racing_puts_end_at_the_highest_version() {
    const VERSIONS: u64 = 500;
    let (first, second) = two_replicas(&test_config()).await;
    let poll = PollId::generate();

    let writers: Vec<_> = [(first.clone(), 0xA11CE_u64), (second.clone(), 0xB0B)]
        .into_iter()
        .map(|(cache, seed)| {
            let mut versions: Vec<u64> = (1..=VERSIONS).collect();
            shuffle(&mut versions, seed);
            tokio::spawn(async move {
                for version in versions {
                    cache.put(&results_at(poll, version)).await.expect("put");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("a writer panicked");
    }

    let expected = Some(results_at(poll, VERSIONS));
    assert_eq!(first.get(poll).await.expect("get"), expected);
    assert_eq!(second.get(poll).await.expect("get"), expected);
}

#[tokio::test]
async fn older_put_from_another_replica_never_replaces_newer_results() {
    let (first, second) = two_replicas(&test_config()).await;
    let poll = PollId::generate();
    first.put(&results_at(poll, 7)).await.expect("put 7");
    second.put(&results_at(poll, 3)).await.expect("put 3");
    assert_eq!(
        second.get(poll).await.expect("get"),
        Some(results_at(poll, 7))
    );
}

#[tokio::test]
async fn versions_above_two_to_the_53_compare_exactly() {
    // Lua numbers are doubles: 2^53 and 2^53 + 1 are the same double.
    let cache = common::fresh_cache().await;
    let poll = PollId::generate();
    let big = 1_u64 << 53;
    cache.put(&results_at(poll, big + 1)).await.expect("put");
    cache.put(&results_at(poll, big)).await.expect("put");
    assert_eq!(
        cache.get(poll).await.expect("get").map(|r| r.version),
        Some(big + 1),
        "2^53 must not replace 2^53 + 1"
    );
    cache.put(&results_at(poll, u64::MAX)).await.expect("put");
    assert_eq!(
        cache.get(poll).await.expect("get").map(|r| r.version),
        Some(u64::MAX)
    );
    cache.put(&results_at(poll, 10)).await.expect("put");
    assert_eq!(
        cache.get(poll).await.expect("get").map(|r| r.version),
        Some(u64::MAX),
        "a shorter number is a lower version"
    );
}

#[tokio::test]
async fn results_are_a_versioned_hash_under_the_prefix() {
    let config = test_config();
    let cache = RedisResultsCache::connect(&redis_url(), &config)
        .await
        .expect("connect");
    let poll = PollId::generate();
    cache.put(&results_at(poll, 5)).await.expect("put");

    let mut redis = plain_connection(&redis_url()).await;
    let key = format!("{}results:{poll}", config.key_prefix());
    let version: Option<String> = redis.hget(&key, "v").await.expect("HGET v");
    let json: Option<String> = redis.hget(&key, "json").await.expect("HGET json");
    assert_eq!(version.as_deref(), Some("5"));
    let stored: polling_core::Results =
        serde_json::from_str(&json.expect("a json field")).expect("the json field is results");
    assert_eq!(stored, results_at(poll, 5));

    let ttl: i64 = redis.pttl(&key).await.expect("PTTL");
    let default_ttl = RedisConfig::DEFAULT_RESULTS_TTL.as_millis() as i64;
    assert!(
        ttl > default_ttl - 60_000 && ttl <= default_ttl,
        "the entry expires after the default TTL, got {ttl} ms"
    );

    cache.invalidate(poll).await.expect("invalidate");
    let json: Option<String> = redis.hget(&key, "json").await.expect("HGET json");
    let deleted: Option<String> = redis.hget(&key, "deleted").await.expect("HGET deleted");
    assert_eq!(json, None, "invalidate drops the results");
    assert_eq!(deleted.as_deref(), Some("1"), "and leaves a tombstone");
    let ttl: i64 = redis.pttl(&key).await.expect("PTTL");
    assert!(
        ttl > default_ttl - 60_000 && ttl <= default_ttl,
        "the tombstone lives as long as an entry, got {ttl} ms"
    );
}

#[tokio::test]
async fn entries_expire_after_the_configured_ttl() {
    let config = test_config().with_results_ttl(Duration::from_millis(300));
    let cache = Arc::new(
        RedisResultsCache::connect(&redis_url(), &config)
            .await
            .expect("connect"),
    );
    let poll = PollId::generate();
    cache.put(&results_at(poll, 1)).await.expect("put");
    assert!(cache.get(poll).await.expect("get").is_some());
    eventually(Duration::from_secs(5), "the entry expires", || {
        let cache = Arc::clone(&cache);
        async move { cache.get(poll).await.expect("get").is_none().then_some(()) }
    })
    .await;

    // Once expired, any version may be cached again.
    cache.put(&results_at(poll, 1)).await.expect("put");
    assert_eq!(
        cache.get(poll).await.expect("get"),
        Some(results_at(poll, 1))
    );
}

#[tokio::test]
async fn a_corrupt_entry_is_unavailable_not_a_panic() {
    let config = test_config();
    let cache = RedisResultsCache::connect(&redis_url(), &config)
        .await
        .expect("connect");
    let mut redis = plain_connection(&redis_url()).await;

    let garbled = PollId::generate();
    let key = format!("{}results:{garbled}", config.key_prefix());
    let _: () = redis
        .hset_multiple(&key, &[("v", "3"), ("json", "{not json")])
        .await
        .expect("HSET");
    assert_error(
        cache.get(garbled).await,
        "unavailable",
        "get of garbled JSON",
    );

    let foreign = PollId::generate();
    let key = format!("{}results:{foreign}", config.key_prefix());
    let other_polls = serde_json::to_string(&results_at(PollId::generate(), 3)).unwrap();
    let _: () = redis
        .hset_multiple(&key, &[("v", "3"), ("json", other_polls.as_str())])
        .await
        .expect("HSET");
    assert_error(
        cache.get(foreign).await,
        "unavailable",
        "get of another poll's results",
    );

    let wrong_type = PollId::generate();
    let key = format!("{}results:{wrong_type}", config.key_prefix());
    let _: () = redis.set(&key, "a string").await.expect("SET");
    assert_error(
        cache.get(wrong_type).await,
        "unavailable",
        "get of a string key",
    );
    assert_error(
        cache.put(&results_at(wrong_type, 1)).await,
        "unavailable",
        "put over a string key",
    );

    for key in [garbled, foreign, wrong_type] {
        cache.invalidate(key).await.expect("invalidate");
    }
}

//! Redis going away and coming back: each test runs a `redis-server` of its
//! own, kills it (SIGKILL) and restarts it on the same port.
//!
//! While Redis is down, every operation must fail with `unavailable` quickly
//! (never hang, never panic); once it is back, everything must work again
//! within a few seconds with nothing restarted, and subscribers must get a
//! `Resync`. A stalled Redis (SIGSTOP) must cost an operation no more than
//! the response timeout.

use crate::common;
use std::future::Future;
use std::time::Duration;

use crate::common::test_config;
use futures_util::StreamExt;
use polling_cache_redis::{RedisBroadcaster, RedisConfig, RedisResultsCache};
use polling_core::testing::events::updated;
use polling_core::testing::{assert_error, eventually, results_at};
use polling_core::{Broadcaster, EventStream, PollId, ResultsCache, ResultsEvent};
use polling_testkit::RedisServer;

/// The longest an operation may take while Redis is down.
const FAIL_WITHIN: Duration = Duration::from_secs(3);

/// How long Redis may take to be usable again after its restart.
const RECOVER_WITHIN: Duration = Duration::from_secs(10);

/// Short reconnect delays, so the tests do not wait for the default cap.
fn fault_config() -> RedisConfig {
    test_config().with_reconnect_delays(Duration::from_millis(20), Duration::from_millis(500))
}

/// `operation`'s result; panics if it takes longer than [`FAIL_WITHIN`].
async fn quickly<T>(what: &str, operation: impl Future<Output = T>) -> T {
    tokio::time::timeout(FAIL_WITHIN, operation)
        .await
        .unwrap_or_else(|_| panic!("{what} hung for {FAIL_WITHIN:?} while Redis was down"))
}

/// The events `events` yields within `wait`.
async fn drain(events: &mut EventStream, wait: Duration) -> Vec<ResultsEvent> {
    let mut received = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(wait, events.next()).await {
        received.push(event);
    }
    received
}

/// Waits until `cache` writes and reads back `version` of `poll` again,
/// failing after [`RECOVER_WITHIN`].
async fn wait_until_the_cache_works(cache: &RedisResultsCache, poll: PollId, version: u64) {
    eventually(RECOVER_WITHIN, "the cache works again", || {
        let cache = cache.clone();
        async move {
            cache.put(&results_at(poll, version)).await.ok()?;
            cache.get(poll).await.ok().flatten()
        }
    })
    .await;
    assert_eq!(
        cache.get(poll).await.expect("get"),
        Some(results_at(poll, version))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connecting_to_an_absent_redis_is_unavailable() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.kill();
    let config = fault_config();
    assert_error(
        quickly("connect", RedisResultsCache::connect(&url, &config)).await,
        "unavailable",
        "connecting the cache",
    );
    assert_error(
        quickly("connect", RedisBroadcaster::connect(&url, &config)).await,
        "unavailable",
        "connecting the broadcaster",
    );
    assert_error(
        RedisResultsCache::connect("http://not-redis", &config).await,
        "unavailable",
        "a URL that is not Redis",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cache_fails_fast_while_redis_is_down_and_recovers_when_it_is_back() {
    let mut server = RedisServer::start();
    let cache = RedisResultsCache::connect(&server.url(), &fault_config())
        .await
        .expect("connect");
    let poll = PollId::generate();
    cache.put(&results_at(poll, 1)).await.expect("put while up");

    server.kill();
    for _ in 0..3 {
        assert_error(
            quickly("get", cache.get(poll)).await,
            "unavailable",
            "get while down",
        );
        assert_error(
            quickly("put", cache.put(&results_at(poll, 2))).await,
            "unavailable",
            "put while down",
        );
        assert_error(
            quickly("invalidate", cache.invalidate(poll)).await,
            "unavailable",
            "invalidate while down",
        );
    }

    server.restart();
    // The restarted Redis is empty (no persistence): the cache starts over,
    // and the Lua script is loaded again on first use.
    wait_until_the_cache_works(&cache, poll, 3).await;
    cache.put(&results_at(poll, 2)).await.expect("put");
    assert_eq!(
        cache.get(poll).await.expect("get"),
        Some(results_at(poll, 3)),
        "versions still only go up"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_broadcaster_resyncs_its_subscribers_after_redis_is_back() {
    let mut server = RedisServer::start();
    let broadcaster = RedisBroadcaster::connect(&server.url(), &fault_config())
        .await
        .expect("connect");
    let (poll, late) = (PollId::generate(), PollId::generate());
    let mut events = broadcaster.subscribe(poll).await.expect("subscribe");
    broadcaster
        .publish(&updated(poll, 1))
        .await
        .expect("publish while up");
    let first = tokio::time::timeout(FAIL_WITHIN, events.next()).await;
    assert_eq!(first, Ok(Some(updated(poll, 1))), "delivered while up");

    server.kill();
    assert_error(
        quickly("publish", broadcaster.publish(&updated(poll, 2))).await,
        "unavailable",
        "publish while down",
    );
    assert!(
        broadcaster.publish_failures() >= 1,
        "the failure is counted"
    );
    // Subscribing works while Redis is down.
    let mut late_events = quickly("subscribe", broadcaster.subscribe(late))
        .await
        .expect("subscribe while down");
    eventually(
        Duration::from_secs(2),
        "the broadcaster notices",
        || async { (!broadcaster.is_listening()).then_some(()) },
    )
    .await;

    server.restart();
    // Publish until an update comes through: the subscriber must see a Resync
    // of its poll first (events may have been lost meanwhile).
    let deadline = tokio::time::Instant::now() + RECOVER_WITHIN;
    let mut seen = Vec::new();
    for version in 10.. {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no update within {RECOVER_WITHIN:?} after the restart; received {seen:?}"
        );
        if broadcaster.publish(&updated(poll, version)).await.is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        seen.extend(drain(&mut events, Duration::from_millis(200)).await);
        if seen
            .iter()
            .any(|e| matches!(e, ResultsEvent::Updated { .. }))
        {
            break;
        }
    }
    let first_update = seen
        .iter()
        .position(|e| matches!(e, ResultsEvent::Updated { .. }))
        .expect("an update");
    assert!(
        seen[..first_update].contains(&ResultsEvent::Resync { poll_id: poll }),
        "a Resync comes before the updates after the restart: {seen:?}"
    );

    // The poll subscribed while Redis was down is subscribed now, resynced too.
    broadcaster
        .publish(&updated(late, 1))
        .await
        .expect("publish after restart");
    let late_seen = drain(&mut late_events, Duration::from_millis(500)).await;
    assert_eq!(
        late_seen,
        [ResultsEvent::Resync { poll_id: late }, updated(late, 1)],
        "the late subscriber's events"
    );

    assert!(broadcaster.is_listening());
    assert_eq!(
        broadcaster.connections_established(),
        2,
        "one connection before the outage, one after"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_redis_costs_an_operation_only_the_response_timeout() {
    let server = RedisServer::start();
    let config = fault_config().with_response_timeout(Duration::from_millis(200));
    let cache = RedisResultsCache::connect(&server.url(), &config)
        .await
        .expect("connect the cache");
    let broadcaster = RedisBroadcaster::connect(&server.url(), &config)
        .await
        .expect("connect the broadcaster");
    let poll = PollId::generate();
    cache.put(&results_at(poll, 1)).await.expect("put while up");

    // Each operation must give up on its own (no timed assertion beyond
    // `quickly`'s generous bound: these machines are shared and noisy).
    server.pause();
    assert_error(
        quickly("put", cache.put(&results_at(poll, 2))).await,
        "unavailable",
        "put while stalled",
    );
    assert_error(
        quickly("get", cache.get(poll)).await,
        "unavailable",
        "get while stalled",
    );
    assert_error(
        quickly("publish", broadcaster.publish(&updated(poll, 2))).await,
        "unavailable",
        "publish while stalled",
    );

    server.resume();
    wait_until_the_cache_works(&cache, poll, 3).await;
    broadcaster
        .publish(&updated(poll, 3))
        .await
        .expect("publish after the stall");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_checks_fail_while_redis_is_down_and_pass_when_it_is_back() {
    let mut server = RedisServer::start();
    let config = fault_config();
    let cache = RedisResultsCache::connect(&server.url(), &config)
        .await
        .expect("connect the cache");
    let broadcaster = RedisBroadcaster::connect(&server.url(), &config)
        .await
        .expect("connect the broadcaster");
    eventually(RECOVER_WITHIN, "the broadcaster is ready", || async {
        broadcaster.check().await.ok()
    })
    .await;
    cache.check().await.expect("the cache is ready");

    server.kill();
    assert_error(
        quickly("cache check", cache.check()).await,
        "unavailable",
        "the cache check while down",
    );
    eventually(
        Duration::from_secs(3),
        "the broadcaster check fails",
        || async {
            quickly("broadcaster check", broadcaster.check())
                .await
                .err()
        },
    )
    .await;
    // Through the trait objects the server holds.
    let shared: std::sync::Arc<dyn Broadcaster> = std::sync::Arc::new(broadcaster.clone());
    assert_error(
        quickly("broadcaster check", shared.check()).await,
        "unavailable",
        "the broadcaster check while down, through an Arc",
    );

    server.restart();
    eventually(RECOVER_WITHIN, "the cache check passes", || async {
        cache.check().await.ok()
    })
    .await;
    eventually(RECOVER_WITHIN, "the broadcaster check passes", || async {
        broadcaster.check().await.ok()
    })
    .await;
    assert!(broadcaster.is_listening());
}

#[test]
fn the_broadcaster_records_its_connection_reconnects_resyncs_and_bad_messages() {
    use polling_core::metrics::{
        BROADCAST_RECEIVE_ERRORS_TOTAL, BROADCAST_RECONNECTS_TOTAL, BROADCAST_RESYNCS_TOTAL,
        REDIS_PUBSUB_CONNECTED,
    };
    use polling_core::testing::TestRecorder;

    let recorder = TestRecorder::new();
    let connected = || recorder.gauge(REDIS_PUBSUB_CONNECTED, &[]);
    recorder.block_on(async {
        let mut server = RedisServer::start();
        let config = fault_config();
        let broadcaster = RedisBroadcaster::connect(&server.url(), &config)
            .await
            .expect("connect");
        let poll = PollId::generate();
        let mut events = broadcaster.subscribe(poll).await.expect("subscribe");
        eventually(RECOVER_WITHIN, "connected", || async {
            (connected() == Some(1.0)).then_some(())
        })
        .await;

        // A message no broadcaster sent, on the poll's channel.
        let mut plain = common::plain_connection(&server.url()).await;
        let channel = format!("{}poll:{poll}", config.key_prefix());
        redis::cmd("PUBLISH")
            .arg(&channel)
            .arg("not an event")
            .query_async::<i64>(&mut plain)
            .await
            .expect("publish garbage");
        eventually(RECOVER_WITHIN, "the bad message is counted", || async {
            (recorder.counter(BROADCAST_RECEIVE_ERRORS_TOTAL, &[]) == 1).then_some(())
        })
        .await;
        assert_eq!(recorder.counter(BROADCAST_RECONNECTS_TOTAL, &[]), 0);
        assert_eq!(recorder.counter(BROADCAST_RESYNCS_TOTAL, &[]), 0);

        server.kill();
        eventually(RECOVER_WITHIN, "disconnected", || async {
            (connected() == Some(0.0)).then_some(())
        })
        .await;
        server.restart();
        eventually(RECOVER_WITHIN, "reconnected", || async {
            (connected() == Some(1.0)).then_some(())
        })
        .await;
        let resync = tokio::time::timeout(RECOVER_WITHIN, events.next()).await;
        assert_eq!(resync, Ok(Some(ResultsEvent::Resync { poll_id: poll })));
    });

    assert_eq!(recorder.counter(BROADCAST_RECONNECTS_TOTAL, &[]), 1);
    assert_eq!(
        recorder.counter(BROADCAST_RESYNCS_TOTAL, &[]),
        1,
        "one poll resynced"
    );
    assert_eq!(recorder.counter(BROADCAST_RECEIVE_ERRORS_TOTAL, &[]), 1);
}

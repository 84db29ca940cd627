//! `RedisBroadcaster` beyond the conformance suite: one Pub/Sub connection per
//! broadcaster, channels unsubscribed when their last subscriber leaves,
//! replicas, malformed messages, lagging subscribers and shutdown.
//!
//! Tests that count connections run a `redis-server` of their own, where no
//! other test's clients show up; the others share the Redis at `REDIS_URL`
//! (default `127.0.0.1:6379`) under unique prefixes.

use std::time::Duration;

use crate::common::{plain_connection, redis_url, test_config};
use futures_util::StreamExt;
use polling_cache_redis::{RedisBroadcaster, RedisConfig};
use polling_core::testing::events::{publish, receive, subscribe, updated};
use polling_core::testing::eventually;
use polling_core::{PollId, ResultsEvent};
use polling_testkit::RedisServer;
use redis::aio::MultiplexedConnection;

const WITHIN: Duration = Duration::from_secs(5);

async fn connect(url: &str, config: &RedisConfig) -> RedisBroadcaster {
    RedisBroadcaster::connect(url, config)
        .await
        .expect("connect the broadcaster")
}

fn channel(config: &RedisConfig, poll: PollId) -> String {
    format!("{}poll:{poll}", config.key_prefix())
}

/// How many connections are subscribed to `channel`.
async fn subscribers_in_redis(redis: &mut MultiplexedConnection, channel: &str) -> i64 {
    let (_, count): (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query_async(redis)
        .await
        .expect("PUBSUB NUMSUB");
    count
}

/// The `CLIENT LIST` lines of the connections in Pub/Sub mode.
async fn pubsub_clients(redis: &mut MultiplexedConnection) -> Vec<String> {
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(redis)
        .await
        .expect("CLIENT LIST");
    list.lines()
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn many_subscribers_across_polls_share_one_pubsub_connection() {
    let server = RedisServer::start();
    let config = test_config();
    let broadcaster = connect(&server.url(), &config).await;
    let polls: Vec<PollId> = (0..3).map(|_| PollId::generate()).collect();

    let mut streams = Vec::new();
    for &poll in &polls {
        for _ in 0..4 {
            streams.push((poll, subscribe(&broadcaster, poll).await));
        }
    }

    let mut redis = plain_connection(&server.url()).await;
    let clients = pubsub_clients(&mut redis).await;
    assert_eq!(clients.len(), 1, "one pub/sub connection: {clients:?}");
    assert!(
        clients[0].split(' ').any(|field| field == "sub=3"),
        "it subscribes the three channels: {}",
        clients[0]
    );
    assert_eq!(broadcaster.connections_established(), 1);
    assert!(broadcaster.is_listening());

    for &poll in &polls {
        publish(&broadcaster, &updated(poll, 1)).await;
    }
    for (poll, events) in &mut streams {
        assert_eq!(receive(events, "each stream").await, updated(*poll, 1));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_subscriber_leaving_unsubscribes_the_channel() {
    let config = test_config();
    let broadcaster = connect(&redis_url(), &config).await;
    let mut redis = plain_connection(&redis_url()).await;
    let (poll, other) = (PollId::generate(), PollId::generate());
    let channel = channel(&config, poll);

    let first = subscribe(&broadcaster, poll).await;
    let mut second = subscribe(&broadcaster, poll).await;
    let mut of_other = subscribe(&broadcaster, other).await;
    assert_eq!(subscribers_in_redis(&mut redis, &channel).await, 1);

    drop(first);
    // Unsubscribing goes through the same queue as this subscribe: once it
    // returns, a wrong UNSUBSCRIBE would have happened.
    let third = subscribe(&broadcaster, other).await;
    assert_eq!(
        subscribers_in_redis(&mut redis, &channel).await,
        1,
        "a subscriber is left"
    );
    publish(&broadcaster, &updated(poll, 1)).await;
    assert_eq!(receive(&mut second, "second").await, updated(poll, 1));

    drop(second);
    eventually(WITHIN, "the channel is unsubscribed", || {
        let mut redis = redis.clone();
        let channel = channel.clone();
        async move { (subscribers_in_redis(&mut redis, &channel).await == 0).then_some(()) }
    })
    .await;

    // The other poll is untouched, and the poll can be subscribed again.
    publish(&broadcaster, &updated(other, 1)).await;
    assert_eq!(receive(&mut of_other, "of other").await, updated(other, 1));
    let mut again = subscribe(&broadcaster, poll).await;
    assert_eq!(subscribers_in_redis(&mut redis, &channel).await, 1);
    publish(&broadcaster, &updated(poll, 2)).await;
    assert_eq!(receive(&mut again, "again").await, updated(poll, 2));
    drop(third);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_subscribers_of_one_poll_all_receive_the_next_event() {
    let broadcaster = connect(&redis_url(), &test_config()).await;
    let poll = PollId::generate();
    let subscribers: Vec<_> = (0..20)
        .map(|_| {
            let broadcaster = broadcaster.clone();
            tokio::spawn(async move { subscribe(&broadcaster, poll).await })
        })
        .collect();
    let mut streams = Vec::new();
    for subscriber in subscribers {
        streams.push(subscriber.await.expect("a subscriber panicked"));
    }
    publish(&broadcaster, &updated(poll, 1)).await;
    for events in &mut streams {
        assert_eq!(receive(events, "each stream").await, updated(poll, 1));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn events_published_on_one_replica_reach_subscribers_on_another() {
    let config = test_config();
    let publisher = connect(&redis_url(), &config).await;
    let listener = connect(&redis_url(), &config).await;
    let poll = PollId::generate();
    let mut events = subscribe(&listener, poll).await;
    publish(&publisher, &updated(poll, 1)).await;
    publish(&publisher, &updated(poll, 2)).await;
    assert_eq!(receive(&mut events, "events").await, updated(poll, 1));
    assert_eq!(receive(&mut events, "events").await, updated(poll, 2));

    // Another prefix is another application: it hears nothing of these.
    let stranger = connect(&redis_url(), &test_config()).await;
    let mut strangers_events = subscribe(&stranger, poll).await;
    publish(&publisher, &updated(poll, 3)).await;
    publish(&stranger, &updated(poll, 99)).await;
    assert_eq!(receive(&mut events, "events").await, updated(poll, 3));
    assert_eq!(
        receive(&mut strangers_events, "strangers events").await,
        updated(poll, 99)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_messages_are_skipped() {
    let config = test_config();
    let broadcaster = connect(&redis_url(), &config).await;
    let mut redis = plain_connection(&redis_url()).await;
    let poll = PollId::generate();
    let mut events = subscribe(&broadcaster, poll).await;

    let foreign_event = serde_json::to_string(&updated(PollId::generate(), 7)).unwrap();
    for payload in ["{not json", r#"{"type":"unknown"}"#, foreign_event.as_str()] {
        let _: i64 = redis::cmd("PUBLISH")
            .arg(channel(&config, poll))
            .arg(payload)
            .query_async(&mut redis)
            .await
            .expect("PUBLISH");
    }
    publish(&broadcaster, &updated(poll, 1)).await;
    assert_eq!(
        receive(&mut events, "events").await,
        updated(poll, 1),
        "the malformed messages and the other poll's event are skipped"
    );
    assert!(broadcaster.is_listening(), "the connection is still up");
    assert_eq!(broadcaster.connections_established(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lagging_subscriber_gets_a_resync_instead_of_an_error() {
    let config = test_config().with_subscriber_capacity(2);
    let broadcaster = connect(&redis_url(), &config).await;
    let poll = PollId::generate();
    let mut slow = subscribe(&broadcaster, poll).await;
    let mut fast = subscribe(&broadcaster, poll).await;
    // The subscribers share one channel: once the fast one has read an event,
    // the slow one has it in its buffer too, or has fallen behind.
    for version in 1..=5 {
        publish(&broadcaster, &updated(poll, version)).await;
        assert_eq!(receive(&mut fast, "fast").await, updated(poll, version));
    }
    assert_eq!(
        receive(&mut slow, "slow").await,
        ResultsEvent::Resync { poll_id: poll }
    );
    assert_eq!(receive(&mut slow, "slow").await, updated(poll, 4));
    assert_eq!(receive(&mut slow, "slow").await, updated(poll, 5));
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_the_broadcaster_ends_the_streams_and_closes_the_connection() {
    let server = RedisServer::start();
    let broadcaster = connect(&server.url(), &test_config()).await;
    let clone = broadcaster.clone();
    let mut events = subscribe(&broadcaster, PollId::generate()).await;
    let mut redis = plain_connection(&server.url()).await;
    assert_eq!(pubsub_clients(&mut redis).await.len(), 1);

    drop(broadcaster);
    assert!(
        clone.is_listening(),
        "a clone keeps the connection after another is dropped"
    );
    drop(clone);
    let end = tokio::time::timeout(WITHIN, events.next()).await;
    assert_eq!(end, Ok(None), "the stream ends");
    eventually(WITHIN, "the pub/sub connection closes", || {
        let mut redis = redis.clone();
        async move { pubsub_clients(&mut redis).await.is_empty().then_some(()) }
    })
    .await;
}

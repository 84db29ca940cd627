//! The Redis backends on a Redis Cluster of each test's own (three masters
//! with a replica each, `polling_testkit::RedisCluster`), beyond the
//! conformance suites: polls spread over the shards with a poll's results and
//! channel on one master, events crossing broadcasters, rate limits on one
//! slot per check, and a master failing over under a live subscriber.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::common::{plain_connection, start_cluster, test_config};
use futures_util::StreamExt;
use polling_cache_redis::{
    RateBucket, RateDecision, RedisBroadcaster, RedisConfig, RedisRateLimiter, RedisResultsCache,
};
use polling_core::testing::events::{publish, receive, subscribe, updated};
use polling_core::testing::{assert_error, eventually, results_at};
use polling_core::{Broadcaster, EventStream, PollId, ResultsCache, ResultsEvent};
use polling_testkit::RedisCluster;

/// How long the cluster may take to promote a replica and the backends to
/// find it (the nodes count a master as failed after 2 s).
const RECOVER_WITHIN: Duration = Duration::from_secs(30);

/// The longest a command may take while its shard has no master.
const FAIL_WITHIN: Duration = Duration::from_secs(3);

/// Short reconnect delays, so the tests do not wait for the default cap.
fn fault_config() -> RedisConfig {
    test_config().with_reconnect_delays(Duration::from_millis(20), Duration::from_millis(500))
}

/// The documented key of a poll's results on a cluster.
fn results_key(config: &RedisConfig, poll: PollId) -> String {
    format!("{}results:{{{poll}}}", config.key_prefix())
}

/// The documented sharded channel of a poll on a cluster.
fn channel(config: &RedisConfig, poll: PollId) -> String {
    format!("{}poll:{{{poll}}}", config.key_prefix())
}

async fn cache(cluster: &RedisCluster, config: &RedisConfig) -> RedisResultsCache {
    RedisResultsCache::connect_cluster(cluster.urls(), config)
        .await
        .expect("connect the cache to the cluster")
}

async fn broadcaster(cluster: &RedisCluster, config: &RedisConfig) -> RedisBroadcaster {
    RedisBroadcaster::connect_cluster(cluster.urls(), config)
        .await
        .expect("connect the broadcaster to the cluster")
}

/// Polls until every master owns the slots of at least `per_master` of
/// them, by master port.
fn polls_on_every_master(
    cluster: &RedisCluster,
    config: &RedisConfig,
    per_master: usize,
) -> BTreeMap<u16, Vec<PollId>> {
    let masters = cluster.masters();
    assert_eq!(masters.len(), 3, "three masters: {masters:?}");
    let mut by_master: BTreeMap<u16, Vec<PollId>> = BTreeMap::new();
    for _ in 0..1_000 {
        if masters
            .iter()
            .all(|m| by_master.get(m).map_or(0, Vec::len) >= per_master)
        {
            return by_master;
        }
        let poll = PollId::generate();
        let master = cluster.master_of(&results_key(config, poll));
        if by_master.get(&master).map_or(0, Vec::len) < per_master {
            by_master.entry(master).or_default().push(poll);
        }
    }
    panic!("1000 random polls missed a master: {by_master:?}");
}

/// The events `events` yields until `wanted` matches one, failing after
/// [`RECOVER_WITHIN`].
async fn receive_until(
    events: &mut EventStream,
    what: &str,
    wanted: impl Fn(&ResultsEvent) -> bool,
) -> Vec<ResultsEvent> {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(RECOVER_WITHIN, async {
        while let Some(event) = events.next().await {
            let done = wanted(&event);
            seen.push(event);
            if done {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "{what}: got only {seen:?}");
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn polls_spread_over_every_shard_with_results_and_channel_on_one_master() {
    let cluster = start_cluster().await;
    let config = test_config();
    let cache = cache(&cluster, &config).await;
    let sender = broadcaster(&cluster, &config).await;
    let listener = broadcaster(&cluster, &config).await;
    let by_master = polls_on_every_master(&cluster, &config, 2);

    let mut streams = Vec::new();
    for (&master, polls) in &by_master {
        for &poll in polls {
            assert_eq!(
                cluster.keyslot(&results_key(&config, poll)),
                cluster.keyslot(&channel(&config, poll)),
                "the hash tag puts a poll's results and channel in one slot"
            );
            assert_eq!(cluster.master_of(&channel(&config, poll)), master);
            cache.put(&results_at(poll, 1)).await.expect("put");
            streams.push((poll, subscribe(&listener, poll).await));
        }
    }

    for (&master, polls) in &by_master {
        let mut node = plain_connection(&format!("redis://127.0.0.1:{master}/")).await;
        let channels: BTreeSet<String> = redis::cmd("PUBSUB")
            .arg("SHARDCHANNELS")
            .arg(format!("{}*", config.key_prefix()))
            .query_async(&mut node)
            .await
            .expect("PUBSUB SHARDCHANNELS");
        let expected: BTreeSet<String> = polls.iter().map(|&p| channel(&config, p)).collect();
        assert_eq!(
            channels, expected,
            "master {master} carries the sharded channels of its polls, and only those"
        );
        for &poll in polls {
            let version: Option<u64> = redis::cmd("HGET")
                .arg(results_key(&config, poll))
                .arg("v")
                .query_async(&mut node)
                .await
                .expect("HGET on the owning master");
            assert_eq!(version, Some(1), "poll {poll}'s entry lives on {master}");
        }
    }

    for (poll, events) in &mut streams {
        publish(&sender, &updated(*poll, 2)).await;
        assert_eq!(
            receive(events, "an event from the other broadcaster").await,
            updated(*poll, 2)
        );
        assert_eq!(
            cache.get(*poll).await.expect("get"),
            Some(results_at(*poll, 1))
        );
    }
    assert_eq!(listener.connections_established(), 1);
    assert!(listener.is_listening());
    listener.check().await.expect("the broadcaster is healthy");
    cache.check().await.expect("the cache is healthy");
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_master_fails_over_subscribers_resync_and_caching_resumes() {
    let mut cluster = start_cluster().await;
    let config = fault_config();
    let cache = cache(&cluster, &config).await;
    let sender = broadcaster(&cluster, &config).await;
    let listener = broadcaster(&cluster, &config).await;
    let by_master = polls_on_every_master(&cluster, &config, 1);
    let victim = *by_master.keys().next().expect("a master");
    let poll = by_master[&victim][0];
    let elsewhere: Vec<PollId> = by_master
        .iter()
        .filter(|(&master, _)| master != victim)
        .map(|(_, polls)| polls[0])
        .collect();

    let mut events = subscribe(&listener, poll).await;
    let mut other_events = subscribe(&listener, elsewhere[0]).await;
    publish(&sender, &updated(poll, 1)).await;
    assert_eq!(
        receive(&mut events, "the first event").await,
        updated(poll, 1)
    );
    cache.put(&results_at(poll, 1)).await.expect("put");

    cluster.kill(victim);
    assert_error(
        cache.check().await,
        "unavailable",
        "the cache's health check while a shard has no master",
    );
    assert_error(
        listener.check().await,
        "unavailable",
        "the broadcaster's health check while a shard has no master",
    );
    let during = tokio::time::timeout(FAIL_WITHIN, cache.put(&results_at(poll, 2))).await;
    assert!(
        matches!(during, Ok(Err(_))),
        "a write to a shard without a master fails, quickly: {during:?}"
    );
    for &other in &elsewhere {
        eventually(RECOVER_WITHIN, "the other shards keep caching", || {
            let cache = cache.clone();
            async move { cache.put(&results_at(other, 1)).await.ok() }
        })
        .await;
    }

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.wait_until_healed();
        cluster
    })
    .await
    .expect("wait for the failover");
    let promoted = cluster.master_of(&channel(&config, poll));
    assert_ne!(promoted, victim, "a replica took over the slot");

    // The listener resubscribes on the promoted master and only then
    // resyncs: what is published after the Resync arrives.
    receive_until(&mut events, "a resync after the failover", |event| {
        *event == ResultsEvent::Resync { poll_id: poll }
    })
    .await;
    eventually(RECOVER_WITHIN, "publishing works again", || {
        let sender = sender.clone();
        async move { sender.publish(&updated(poll, 3)).await.ok() }
    })
    .await;
    receive_until(&mut events, "new versions after the promotion", |event| {
        *event == updated(poll, 3)
    })
    .await;
    receive_until(
        &mut other_events,
        "the other shard's poll resyncs",
        |event| {
            *event
                == ResultsEvent::Resync {
                    poll_id: elsewhere[0],
                }
        },
    )
    .await;
    assert!(listener.connections_established() >= 2);
    assert!(listener.is_listening());

    // The same cache, never reconnected by hand, writes and reads the
    // poll's shard again.
    eventually(RECOVER_WITHIN, "caching resumes", || {
        let cache = cache.clone();
        async move {
            cache.put(&results_at(poll, 4)).await.ok()?;
            cache.get(poll).await.ok().flatten()
        }
    })
    .await;
    assert_eq!(
        cache.get(poll).await.expect("get"),
        Some(results_at(poll, 4))
    );
    eventually(RECOVER_WITHIN, "the health checks pass again", || {
        let (cache, listener) = (cache.clone(), listener.clone());
        async move {
            cache.check().await.ok()?;
            listener.check().await.ok()
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_cluster_buckets_of_one_shard_key_are_charged_together() {
    let cluster = start_cluster().await;
    let config = test_config();
    let limiter = RedisRateLimiter::connect_cluster(cluster.urls(), &config)
        .await
        .expect("connect the limiter to the cluster");
    let other_replica = RedisRateLimiter::connect_cluster(cluster.urls(), &config)
        .await
        .expect("connect a second limiter");

    let client = "203.0.113.7";
    let buckets = [
        RateBucket::new(format!("votes:{client}"), 60, 3).with_shard(client),
        RateBucket::new(format!("voter:{client}:v1"), 60, 2).with_shard(client),
    ];
    assert_eq!(
        limiter.check(&buckets).await.unwrap(),
        RateDecision::Allowed
    );
    assert_eq!(
        other_replica.check(&buckets).await.unwrap(),
        RateDecision::Allowed,
        "a second connection draws on the same buckets"
    );
    assert!(
        matches!(
            limiter.check(&buckets).await.unwrap(),
            RateDecision::Refused { .. }
        ),
        "the voter's burst of 2 is spent"
    );
    let address_only = [RateBucket::new(format!("votes:{client}"), 60, 3).with_shard(client)];
    assert_eq!(
        limiter.check(&address_only).await.unwrap(),
        RateDecision::Allowed,
        "the refusal charged no bucket: the address has one request left"
    );

    let mixed = [
        RateBucket::new("votes:198.51.100.1", 60, 3).with_shard("198.51.100.1"),
        RateBucket::new("votes:198.51.100.2", 60, 3).with_shard("198.51.100.2"),
    ];
    assert_error(
        limiter.check(&mixed).await,
        "unavailable",
        "buckets of two shard keys in one check",
    );

    // Clients' buckets spread over the shards.
    let masters: BTreeSet<u16> = (0..30)
        .map(|n| cluster.master_of(&format!("{}rate:{{10.0.0.{n}}}votes", config.key_prefix())))
        .collect();
    assert!(masters.len() > 1, "30 clients on one shard: {masters:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn when_a_watched_polls_slot_moves_to_another_shard_its_subscribers_resync() {
    let cluster = start_cluster().await;
    let config = fault_config();
    let cache = cache(&cluster, &config).await;
    let sender = broadcaster(&cluster, &config).await;
    let listener = broadcaster(&cluster, &config).await;
    let poll = PollId::generate();
    let from = cluster.master_of(&channel(&config, poll));
    let to = *cluster
        .masters()
        .iter()
        .find(|&&master| master != from)
        .expect("another master");

    let mut events = subscribe(&listener, poll).await;
    publish(&sender, &updated(poll, 1)).await;
    assert_eq!(
        receive(&mut events, "the first event").await,
        updated(poll, 1)
    );
    cache.put(&results_at(poll, 1)).await.expect("put");

    let slot = cluster.keyslot(&channel(&config, poll));
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.move_slot(slot, to);
        cluster
    })
    .await
    .expect("move the slot");
    assert_eq!(cluster.master_of(&channel(&config, poll)), to);

    receive_until(&mut events, "a resync after the slot moved", |event| {
        *event == ResultsEvent::Resync { poll_id: poll }
    })
    .await;
    eventually(RECOVER_WITHIN, "publishing reaches the new shard", || {
        let sender = sender.clone();
        async move { sender.publish(&updated(poll, 2)).await.ok() }
    })
    .await;
    receive_until(&mut events, "events published on the new shard", |event| {
        *event == updated(poll, 2)
    })
    .await;
    assert!(listener.connections_established() >= 2);
    assert_eq!(
        cache.get(poll).await.expect("get after the move"),
        Some(results_at(poll, 1)),
        "the entry moved with its slot"
    );
}

//! Helpers shared by the integration tests: the Redis to use and unique key
//! prefixes. A `redis-server` of a test's own, to kill and restart, is
//! [`polling_testkit::RedisServer`]; a Redis Cluster of a test's own is
//! [`polling_testkit::RedisCluster`], and [`OnCluster`] a backend on one.

// Each test crate uses a different part of this module.
#![allow(dead_code)]

use async_trait::async_trait;
use polling_cache_redis::{RedisBroadcaster, RedisConfig, RedisResultsCache};
use polling_core::{Broadcaster, EventStream, PollId, Results, ResultsCache, ResultsEvent};
use polling_testkit::RedisCluster;
use redis::aio::MultiplexedConnection;

/// The shared Redis of the tests: `REDIS_URL`, or the default local one.
pub(crate) fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned())
}

/// A key prefix no other test uses, so tests can share one Redis in parallel.
pub(crate) fn unique_prefix() -> String {
    format!("test:{}:", PollId::generate())
}

/// The default config, under a unique prefix.
pub(crate) fn test_config() -> RedisConfig {
    RedisConfig::new().with_key_prefix(unique_prefix())
}

/// A fresh cache on the shared Redis, under a unique prefix.
pub(crate) async fn fresh_cache() -> RedisResultsCache {
    RedisResultsCache::connect(&redis_url(), &test_config())
        .await
        .expect("connect the cache to the test Redis")
}

/// A fresh broadcaster on the shared Redis, under a unique prefix.
pub(crate) async fn fresh_broadcaster() -> RedisBroadcaster {
    RedisBroadcaster::connect(&redis_url(), &test_config())
        .await
        .expect("connect the broadcaster to the test Redis")
}

/// A plain connection to the Redis at `url`, to look behind the backends' backs.
pub(crate) async fn plain_connection(url: &str) -> MultiplexedConnection {
    redis::Client::open(url)
        .expect("a Redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to Redis")
}

/// A backend on a Redis Cluster of its own, which lives as long as it does:
/// the subject of a conformance test on a cluster. Dropping it drops the
/// backend first, then stops the cluster.
pub(crate) struct OnCluster<T> {
    /// The backend under test.
    pub(crate) subject: T,
    /// Its cluster; killed on drop, after the backend.
    pub(crate) cluster: RedisCluster,
}

/// Starts a Redis Cluster of the test's own (six nodes, in a blocking task).
pub(crate) async fn start_cluster() -> RedisCluster {
    tokio::task::spawn_blocking(RedisCluster::start)
        .await
        .expect("start the Redis cluster")
}

/// A fresh cache on a cluster of its own.
pub(crate) async fn cluster_cache() -> OnCluster<RedisResultsCache> {
    let cluster = start_cluster().await;
    let subject = RedisResultsCache::connect_cluster(cluster.urls(), &test_config())
        .await
        .expect("connect the cache to the cluster");
    OnCluster { subject, cluster }
}

/// A fresh broadcaster on a cluster of its own.
pub(crate) async fn cluster_broadcaster() -> OnCluster<RedisBroadcaster> {
    let cluster = start_cluster().await;
    let subject = RedisBroadcaster::connect_cluster(cluster.urls(), &test_config())
        .await
        .expect("connect the broadcaster to the cluster");
    OnCluster { subject, cluster }
}

#[async_trait]
impl<C: ResultsCache> ResultsCache for OnCluster<C> {
    async fn get(&self, poll: PollId) -> polling_core::Result<Option<Results>> {
        self.subject.get(poll).await
    }

    async fn put(&self, results: &Results) -> polling_core::Result<()> {
        self.subject.put(results).await
    }

    async fn invalidate(&self, poll: PollId) -> polling_core::Result<()> {
        self.subject.invalidate(poll).await
    }

    async fn check(&self) -> polling_core::Result<()> {
        self.subject.check().await
    }
}

#[async_trait]
impl<B: Broadcaster> Broadcaster for OnCluster<B> {
    async fn publish(&self, event: &ResultsEvent) -> polling_core::Result<()> {
        self.subject.publish(event).await
    }

    async fn subscribe(&self, poll: PollId) -> polling_core::Result<EventStream> {
        self.subject.subscribe(poll).await
    }

    async fn check(&self) -> polling_core::Result<()> {
        self.subject.check().await
    }
}

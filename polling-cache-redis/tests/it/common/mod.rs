//! Helpers shared by the integration tests: the Redis to use and unique key
//! prefixes. A `redis-server` of a test's own, to kill and restart, is
//! [`polling_testkit::RedisServer`].

// Each test crate uses a different part of this module.
#![allow(dead_code)]

use polling_cache_redis::{RedisBroadcaster, RedisConfig, RedisResultsCache};
use polling_core::PollId;
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

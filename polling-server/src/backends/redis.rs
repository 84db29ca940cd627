//! The Redis cache, broadcaster and rate limits, when `--redis-url` (one
//! node) or `--redis-cluster-nodes` (a Redis Cluster) is set.

use std::sync::Arc;

use polling_cache_redis::{RedisBroadcaster, RedisConfig, RedisRateLimiter, RedisResultsCache};
use polling_core::{Broadcaster, ResultsCache};

use super::startup::{redact, retry};
use crate::{Config, RedisTarget};

const SETTING: &str = "--redis-url (REDIS_URL)";
const CLUSTER_SETTING: &str = "--redis-cluster-nodes (POLLING_REDIS_CLUSTER_NODES)";

/// The Redis settings `config` asks for.
fn redis_config(config: &Config) -> RedisConfig {
    RedisConfig::new()
        .with_key_prefix(config.redis_prefix.clone())
        .with_results_ttl(config.cache_ttl)
}

/// The Redis that `--cache redis` or `--broadcaster redis` needs.
///
/// # Errors
///
/// When none is set, or both a node and a cluster are: a one-line message
/// naming the settings.
pub(super) fn target<'a>(config: &'a Config, needed_by: &str) -> Result<RedisTarget<'a>, String> {
    config.redis()?.ok_or_else(|| {
        format!("{needed_by} needs {SETTING} or {CLUSTER_SETTING}, neither of which is set")
    })
}

/// The setting that names `target`, for errors.
fn setting(target: &RedisTarget<'_>) -> &'static str {
    match target {
        RedisTarget::Node(_) => SETTING,
        RedisTarget::Cluster(_) => CLUSTER_SETTING,
    }
}

/// `target` without passwords, for logs and errors.
fn describe(target: &RedisTarget<'_>) -> String {
    match target {
        RedisTarget::Node(url) => redact(url),
        RedisTarget::Cluster(nodes) => {
            let nodes: Vec<String> = nodes.iter().map(|node| redact(node)).collect();
            format!("the cluster of {}", nodes.join(", "))
        }
    }
}

/// Connects the cache, retrying for `--startup-timeout`.
pub(super) async fn cache(
    config: &Config,
    target: &RedisTarget<'_>,
) -> Result<Arc<dyn ResultsCache>, String> {
    let settings = redis_config(config);
    let cache = retry("Redis", config.startup_timeout, || async {
        match target {
            RedisTarget::Node(url) => RedisResultsCache::connect(url, &settings).await,
            RedisTarget::Cluster(nodes) => {
                RedisResultsCache::connect_cluster(nodes.iter().copied(), &settings).await
            }
        }
    })
    .await
    .map_err(|e| failed(target, &e))?;
    tracing::info!(redis = %describe(target), prefix = settings.key_prefix(), "Redis results cache ready");
    Ok(Arc::new(cache))
}

/// Connects the broadcaster, retrying for `--startup-timeout`.
pub(super) async fn broadcaster(
    config: &Config,
    target: &RedisTarget<'_>,
) -> Result<Arc<dyn Broadcaster>, String> {
    let settings = redis_config(config);
    let broadcaster = retry("Redis", config.startup_timeout, || async {
        match target {
            RedisTarget::Node(url) => RedisBroadcaster::connect(url, &settings).await,
            RedisTarget::Cluster(nodes) => {
                RedisBroadcaster::connect_cluster(nodes.iter().copied(), &settings).await
            }
        }
    })
    .await
    .map_err(|e| failed(target, &e))?;
    // Its Pub/Sub connection opens in the background: wait for it, so that a
    // replica is ready (and misses no event) once it starts serving.
    retry("Redis Pub/Sub", config.startup_timeout, || {
        broadcaster.check()
    })
    .await
    .map_err(|e| failed(target, &e))?;
    tracing::info!(redis = %describe(target), prefix = settings.key_prefix(), "Redis broadcaster ready");
    Ok(Arc::new(broadcaster))
}

/// Connects the shared rate limits, retrying for `--startup-timeout`.
pub(super) async fn rate_limiter(
    config: &Config,
    target: &RedisTarget<'_>,
) -> Result<RedisRateLimiter, String> {
    let settings = redis_config(config);
    let limiter = retry("Redis", config.startup_timeout, || async {
        match target {
            RedisTarget::Node(url) => RedisRateLimiter::connect(url, &settings).await,
            RedisTarget::Cluster(nodes) => {
                RedisRateLimiter::connect_cluster(nodes.iter().copied(), &settings).await
            }
        }
    })
    .await
    .map_err(|e| failed(target, &e))?;
    tracing::info!(redis = %describe(target), prefix = settings.key_prefix(), "Redis rate limits ready");
    Ok(limiter)
}

fn failed(target: &RedisTarget<'_>, error: &polling_core::PollError) -> String {
    let cause =
        std::error::Error::source(error).map_or_else(|| error.to_string(), |c| c.to_string());
    format!(
        "{}: cannot connect to {}: {cause}",
        setting(target),
        describe(target)
    )
}

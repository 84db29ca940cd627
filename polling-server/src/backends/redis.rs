//! The Redis cache, broadcaster and rate limits, when `--redis-url` is set.

use std::sync::Arc;

use polling_cache_redis::{RedisBroadcaster, RedisConfig, RedisRateLimiter, RedisResultsCache};
use polling_core::{Broadcaster, ResultsCache};

use super::startup::{redact, retry};
use crate::Config;

const SETTING: &str = "--redis-url (REDIS_URL)";

/// The Redis settings `config` asks for.
fn redis_config(config: &Config) -> RedisConfig {
    RedisConfig::new()
        .with_key_prefix(config.redis_prefix.clone())
        .with_results_ttl(config.cache_ttl)
}

/// The URL that `--cache redis` or `--broadcaster redis` needs.
///
/// # Errors
///
/// When none is set: a one-line message naming the settings.
pub(super) fn url<'a>(config: &'a Config, needed_by: &str) -> Result<&'a str, String> {
    config
        .redis_url
        .as_deref()
        .ok_or_else(|| format!("{needed_by} needs {SETTING}, which is not set"))
}

/// Connects the cache, retrying for `--startup-timeout`.
pub(super) async fn cache(config: &Config, url: &str) -> Result<Arc<dyn ResultsCache>, String> {
    let settings = redis_config(config);
    let cache = retry("Redis", config.startup_timeout, || {
        RedisResultsCache::connect(url, &settings)
    })
    .await
    .map_err(|e| failed(url, &e))?;
    tracing::info!(redis = %redact(url), prefix = settings.key_prefix(), "Redis results cache ready");
    Ok(Arc::new(cache))
}

/// Connects the broadcaster, retrying for `--startup-timeout`.
pub(super) async fn broadcaster(
    config: &Config,
    url: &str,
) -> Result<Arc<dyn Broadcaster>, String> {
    let settings = redis_config(config);
    let broadcaster = retry("Redis", config.startup_timeout, || {
        RedisBroadcaster::connect(url, &settings)
    })
    .await
    .map_err(|e| failed(url, &e))?;
    // Its Pub/Sub connection opens in the background: wait for it, so that a
    // replica is ready (and misses no event) once it starts serving.
    retry("Redis Pub/Sub", config.startup_timeout, || {
        broadcaster.check()
    })
    .await
    .map_err(|e| failed(url, &e))?;
    tracing::info!(redis = %redact(url), prefix = settings.key_prefix(), "Redis broadcaster ready");
    Ok(Arc::new(broadcaster))
}

/// Connects the shared rate limits, retrying for `--startup-timeout`.
pub(super) async fn rate_limiter(config: &Config, url: &str) -> Result<RedisRateLimiter, String> {
    let settings = redis_config(config);
    let limiter = retry("Redis", config.startup_timeout, || {
        RedisRateLimiter::connect(url, &settings)
    })
    .await
    .map_err(|e| failed(url, &e))?;
    tracing::info!(redis = %redact(url), prefix = settings.key_prefix(), "Redis rate limits ready");
    Ok(limiter)
}

fn failed(url: &str, error: &polling_core::PollError) -> String {
    let cause =
        std::error::Error::source(error).map_or_else(|| error.to_string(), |c| c.to_string());
    format!("{SETTING}: cannot connect to {}: {cause}", redact(url))
}

//! [`RedisRateLimiter`] against a real Redis: bursts, refills, several
//! buckets charged all or none, one allowance across connections, keys under
//! the prefix that expire once full again.

use std::time::Duration;

use crate::common::{plain_connection, redis_url, test_config};
use polling_cache_redis::{RateBucket, RateDecision, RedisConfig, RedisRateLimiter};

async fn limiter(config: &RedisConfig) -> RedisRateLimiter {
    RedisRateLimiter::connect(&redis_url(), config)
        .await
        .expect("connect the limiter to the test Redis")
}

fn refused(decision: RateDecision) -> Duration {
    match decision {
        RateDecision::Refused { retry_after } => retry_after,
        RateDecision::Allowed => panic!("allowed, expected a refusal"),
    }
}

#[tokio::test]
async fn a_bucket_gives_its_burst_then_refuses_with_the_time_to_the_next_request() {
    let limiter = limiter(&test_config()).await;
    // 60 a minute: one a second once the burst of 5 is spent.
    let bucket = [RateBucket::new("votes:10.0.0.1", 60, 5)];
    for n in 0..5 {
        assert_eq!(
            limiter.check(&bucket).await.unwrap(),
            RateDecision::Allowed,
            "request {n} of the burst"
        );
    }
    let wait = refused(limiter.check(&bucket).await.unwrap());
    assert!(
        wait > Duration::from_millis(800) && wait <= Duration::from_secs(1),
        "{wait:?}"
    );
    // Another bucket has its own allowance.
    let other = [RateBucket::new("votes:10.0.0.2", 60, 5)];
    assert_eq!(limiter.check(&other).await.unwrap(), RateDecision::Allowed);
}

#[tokio::test]
async fn an_empty_bucket_refills_at_its_rate() {
    let limiter = limiter(&test_config()).await;
    // 600 a minute: one every 100 ms.
    let bucket = [RateBucket::new("b", 600, 2)];
    assert_eq!(limiter.check(&bucket).await.unwrap(), RateDecision::Allowed);
    assert_eq!(limiter.check(&bucket).await.unwrap(), RateDecision::Allowed);
    let wait = refused(limiter.check(&bucket).await.unwrap());
    assert!(wait <= Duration::from_millis(100), "{wait:?}");
    tokio::time::sleep(wait + Duration::from_millis(10)).await;
    assert_eq!(limiter.check(&bucket).await.unwrap(), RateDecision::Allowed);
    refused(limiter.check(&bucket).await.unwrap());
}

#[tokio::test]
async fn a_request_charges_every_bucket_or_none() {
    let limiter = limiter(&test_config()).await;
    let address = RateBucket::new("votes:10.0.0.1", 1, 10);
    let voter = RateBucket::new("voter:10.0.0.1:v", 1, 2);
    let both = [address.clone(), voter];
    assert_eq!(limiter.check(&both).await.unwrap(), RateDecision::Allowed);
    assert_eq!(limiter.check(&both).await.unwrap(), RateDecision::Allowed);
    // The voter's bucket is empty: refused, and the address is not charged
    // for the refusal.
    for _ in 0..20 {
        refused(limiter.check(&both).await.unwrap());
    }
    let alone = [address];
    for n in 0..8 {
        assert_eq!(
            limiter.check(&alone).await.unwrap(),
            RateDecision::Allowed,
            "the address still has request {n} of its remaining 8"
        );
    }
    refused(limiter.check(&alone).await.unwrap());
}

#[tokio::test]
async fn limiters_on_one_redis_and_prefix_share_one_allowance_and_other_prefixes_do_not() {
    let config = test_config();
    let (a, b) = (limiter(&config).await, limiter(&config).await);
    let bucket = [RateBucket::new("votes:10.0.0.1", 1, 10)];
    for _ in 0..5 {
        assert_eq!(a.check(&bucket).await.unwrap(), RateDecision::Allowed);
        assert_eq!(b.check(&bucket).await.unwrap(), RateDecision::Allowed);
    }
    refused(a.check(&bucket).await.unwrap());
    refused(b.check(&bucket).await.unwrap());
    let elsewhere = limiter(&test_config()).await;
    assert_eq!(
        elsewhere.check(&bucket).await.unwrap(),
        RateDecision::Allowed
    );
}

#[tokio::test]
async fn buckets_live_under_the_prefix_and_expire_once_full_again() {
    let config = test_config();
    let limiter = limiter(&config).await;
    // 600 a minute, burst 3: three requests run the arrival 300 ms ahead.
    let bucket = [RateBucket::new("votes:10.0.0.1", 600, 3)];
    for _ in 0..3 {
        limiter.check(&bucket).await.unwrap();
    }
    let mut redis = plain_connection(&redis_url()).await;
    let key = format!("{}rate:votes:10.0.0.1", config.key_prefix());
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!((200..=302).contains(&ttl), "PTTL {ttl}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(exists, 0, "a full bucket is forgotten");
    assert_eq!(limiter.check(&bucket).await.unwrap(), RateDecision::Allowed);
}

#[tokio::test]
async fn no_buckets_is_allowed_and_a_dead_redis_is_unavailable() {
    let limiter = limiter(&test_config()).await;
    assert_eq!(limiter.check(&[]).await.unwrap(), RateDecision::Allowed);

    let mut server = polling_testkit::RedisServer::start();
    let config = test_config();
    let limiter = RedisRateLimiter::connect(&server.url(), &config)
        .await
        .unwrap();
    let bucket = [RateBucket::new("b", 60, 1)];
    assert_eq!(limiter.check(&bucket).await.unwrap(), RateDecision::Allowed);
    server.kill();
    let started = std::time::Instant::now();
    let error = limiter.check(&bucket).await.unwrap_err();
    assert!(
        matches!(error, polling_core::PollError::Unavailable(_)),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2), "failed fast");
}

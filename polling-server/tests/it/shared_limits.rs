//! Rate limits shared through Redis: two `polling-server` processes on one
//! Redis and prefix draw on one allowance per address, and a replica whose
//! Redis goes away keeps answering votes on its own buckets, counted in
//! `polling_rate_limit_fallback_total`.

use std::time::Duration;

use crate::common::process::ServerProcess;
use crate::common::{create_poll, draft, id_of, Client, Response};
use polling_core::PollId;
use polling_testkit::TcpProxy;

const REDIS: &str = "127.0.0.1:6379";

/// A replica's settings: Redis at `redis`, under `prefix`, with a burst of
/// `burst` votes per address and no refill to speak of (one a minute).
fn settings(redis: &str, prefix: &str, burst: u32) -> Vec<(&'static str, String)> {
    vec![
        ("REDIS_URL", format!("redis://{redis}/")),
        ("POLLING_REDIS_PREFIX", prefix.to_owned()),
        ("POLLING_RATE_LIMIT_VOTES", "1".to_owned()),
        ("POLLING_RATE_LIMIT_VOTES_BURST", burst.to_string()),
        ("POLLING_STARTUP_TIMEOUT", "5s".to_owned()),
    ]
}

fn unique_prefix() -> String {
    format!("test:{}:", PollId::generate())
}

/// A new voter's vote in a fresh poll of `replica` (each process has its
/// own in-process store; the allowance is the address's, whatever the poll).
async fn votes_on(replica: &ServerProcess, count: usize) -> Vec<Response> {
    let (poll, _) = create_poll(&Client::new(replica.addr), draft(&["yes", "no"])).await;
    let id = id_of(&poll);
    let mut responses = Vec::new();
    for _ in 0..count {
        responses.push(Client::new(replica.addr).vote(&id, &[0]).await);
    }
    responses
}

fn statuses(responses: &[Response]) -> Vec<u16> {
    responses.iter().map(|r| r.status.as_u16()).collect()
}

async fn metrics(replica: &ServerProcess) -> String {
    let body = Client::new(replica.addr).get("/metrics").await.body;
    String::from_utf8(body.to_vec()).unwrap()
}

/// The value of the unlabelled counter `name` in a metrics page, 0 if absent.
fn counter(page: &str, name: &str) -> f64 {
    page.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_redis_share_one_allowance_per_address() {
    let prefix = unique_prefix();
    let a = ServerProcess::start(&settings(REDIS, &prefix, 10)).await;
    let b = ServerProcess::start(&settings(REDIS, &prefix, 10)).await;

    let on_a = votes_on(&a, 6).await;
    assert_eq!(statuses(&on_a), [201; 6]);
    let on_b = votes_on(&b, 6).await;
    assert_eq!(
        statuses(&on_b),
        [201, 201, 201, 201, 429, 429],
        "the 11th and 12th votes from the address are refused"
    );
    on_b[4].assert_error(429, "rate_limited");
    assert!(on_b[4].header("retry-after").is_some());
    // A has no allowance left either.
    assert_eq!(statuses(&votes_on(&a, 1).await), [429]);
    assert_eq!(
        counter(&metrics(&a).await, "polling_rate_limit_fallback_total"),
        0.0
    );

    // Another deployment on the same Redis (another prefix) is not affected.
    let other = ServerProcess::start(&settings(REDIS, &unique_prefix(), 10)).await;
    assert_eq!(statuses(&votes_on(&other, 1).await), [201]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_are_answered_on_local_buckets_while_redis_is_cut_and_the_fallback_is_counted() {
    let mut proxy = TcpProxy::start(REDIS.parse().unwrap()).await.unwrap();
    let prefix = unique_prefix();
    let replica = ServerProcess::start(&settings(&proxy.addr().to_string(), &prefix, 10)).await;
    let (poll, _) = create_poll(&Client::new(replica.addr), draft(&["yes", "no"])).await;
    let id = id_of(&poll);
    for _ in 0..3 {
        Client::new(replica.addr)
            .vote(&id, &[0])
            .await
            .assert_json(201);
    }
    assert_eq!(
        counter(
            &metrics(&replica).await,
            "polling_rate_limit_fallback_total"
        ),
        0.0
    );

    proxy.cut().await;
    let mut answered = Vec::new();
    for _ in 0..5 {
        let response = tokio::time::timeout(
            Duration::from_secs(5),
            Client::new(replica.addr).vote(&id, &[1]),
        )
        .await
        .expect("a vote is answered while Redis is cut");
        answered.push(response);
    }
    assert_eq!(
        statuses(&answered),
        [201; 5],
        "Redis being down refuses no vote"
    );
    let page = metrics(&replica).await;
    let fallbacks = counter(&page, "polling_rate_limit_fallback_total");
    assert!(fallbacks >= 5.0, "{fallbacks}\n{page}");
    assert!(
        page.contains("# HELP polling_rate_limit_fallback_total"),
        "{page}"
    );
    // The local buckets still limit: this replica's own burst of 10.
    let more = votes_on(&replica, 8).await;
    let accepted = more.iter().filter(|r| r.status == 201).count();
    assert_eq!(accepted, 5, "{:?}", statuses(&more));
}

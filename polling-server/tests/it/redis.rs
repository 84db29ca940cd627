//! Replicas sharing Redis and PostgreSQL, as behind the compose stack's
//! nginx: a vote through one replica updates the cached results another
//! serves and reaches that replica's subscribers; and Redis going away never
//! fails a vote.

use crate::common;
use std::time::Duration;

use crate::common::{create_poll, database_url, draft, id_of, next_message, TestServer};
use clap::Parser;
use futures_util::StreamExt;
use polling_core::{PollId, ResultsEvent};
use polling_server::{Backends, Config};
use polling_testkit::TcpProxy;
use redis::AsyncCommands;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const REDIS: &str = "127.0.0.1:6379";

/// A replica's configuration: the test's database, Redis at `redis_port`,
/// and a key prefix of the test's own.
fn config(connect: &PgConnectOptions, redis_port: u16, prefix: &str) -> Config {
    let database = database_url(connect, connect.get_port());
    Config::try_parse_from([
        "polling-server",
        "--database-url",
        &database,
        "--redis-url",
        &format!("redis://127.0.0.1:{redis_port}/"),
        "--redis-prefix",
        prefix,
        "--startup-timeout",
        "5s",
    ])
    .unwrap()
}

fn unique_prefix() -> String {
    format!("test:{}:", PollId::generate())
}

async fn replica(config: &Config) -> (TestServer, Backends) {
    // As the binary does, before the backends: their gauges are set as
    // they connect.
    polling_server::telemetry::install_recorder();
    let backends = Backends::connect(config).await.expect("backends connect");
    assert_eq!(
        (backends.kinds.cache, backends.kinds.broadcaster),
        ("redis", "redis")
    );
    (
        TestServer::with_app(backends.clone().into_builder().build()).await,
        backends,
    )
}

/// Two replicas, A and B, sharing the test's database and the Redis at
/// [`REDIS`] under `prefix`.
async fn two_replicas(connect: &PgConnectOptions, prefix: &str) -> [(TestServer, Backends); 2] {
    let port = REDIS.rsplit_once(':').unwrap().1.parse().unwrap();
    [
        replica(&config(connect, port, prefix)).await,
        replica(&config(connect, port, prefix)).await,
    ]
}

async fn next_event(events: &mut polling_core::EventStream) -> ResultsEvent {
    tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("an event within 5 s")
        .expect("the stream goes on")
}

#[sqlx::test]
async fn a_vote_through_one_replica_reaches_the_cache_and_subscribers_of_another(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let prefix = unique_prefix();
    let [(a, _), (b, b_backends)] = two_replicas(&connect, &prefix).await;
    let voter = a.client();
    let (poll, _) = create_poll(&voter, draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);
    let results_path = format!("/api/polls/{id}/results");

    // B reads (and caches) version 0, and listens.
    let before = voter.at(b.addr()).get(&results_path).await.assert_json(200);
    assert_eq!(before["version"], 0);
    let mut events = b_backends
        .broadcaster
        .subscribe(id.parse().unwrap())
        .await
        .unwrap();

    voter.vote(&id, &[1]).await.assert_json(201);

    match next_event(&mut events).await {
        ResultsEvent::Updated { results } => assert_eq!(results.version, 1),
        other => panic!("expected the vote's results, got {other:?}"),
    }
    // B's near cache learns of the vote from the same event, on a task of
    // its own: B converges to it.
    let after = polling_core::testing::eventually(
        Duration::from_secs(5),
        "B serves the results of A's vote",
        || async {
            let after = voter.at(b.addr()).get(&results_path).await.assert_json(200);
            (after["version"] == 1).then_some(after)
        },
    )
    .await;
    assert_eq!(after["counts"][1]["votes"], 1);

    let mut redis = redis::Client::open(format!("redis://{REDIS}/"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let cached: Option<String> = redis
        .hget(format!("{prefix}results:{id}"), "v")
        .await
        .unwrap();
    assert_eq!(
        cached.as_deref(),
        Some("1"),
        "the shared cache holds version 1"
    );
}

#[sqlx::test]
async fn votes_succeed_while_redis_is_gone_and_caching_resumes_when_it_returns(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let mut proxy = TcpProxy::start(REDIS.parse().unwrap()).await.unwrap();
    let prefix = unique_prefix();
    let (server, backends) = replica(&config(&connect, proxy.addr().port(), &prefix)).await;
    let client = server.client();
    let (poll, _) = create_poll(&client, draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);
    let poll_id: PollId = id.parse().unwrap();
    let mut events = backends.broadcaster.subscribe(poll_id).await.unwrap();

    proxy.cut().await;
    for _ in 0..3 {
        let cast = tokio::time::timeout(Duration::from_secs(5), server.client().vote(&id, &[0]))
            .await
            .expect("a vote does not hang on a dead Redis");
        cast.assert_json(201);
    }
    let results = client
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);
    assert_eq!(
        results["version"], 3,
        "read from PostgreSQL, bypassing the cache"
    );

    proxy.restore().await.unwrap();
    assert_eq!(
        next_event(&mut events).await,
        ResultsEvent::Resync { poll_id }
    );

    let mut delivered = None;
    for attempt in 0..50 {
        server.client().vote(&id, &[1]).await.assert_json(201);
        if let Ok(Some(ResultsEvent::Updated { results })) =
            tokio::time::timeout(Duration::from_millis(200), events.next()).await
        {
            delivered = Some(results.version);
            break;
        }
        assert!(attempt < 49, "events flow again once Redis is back");
    }
    let version = delivered.unwrap();
    assert!(version >= 4);

    let mut redis = redis::Client::open(format!("redis://{REDIS}/"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut cached = None;
    for _ in 0..50 {
        client
            .get(&format!("/api/polls/{id}/results"))
            .await
            .assert_json(200);
        cached = redis
            .hget::<_, _, Option<u64>>(format!("{prefix}results:{id}"), "v")
            .await
            .unwrap();
        if cached.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        cached.is_some_and(|v| v >= version),
        "caching resumed: {cached:?}"
    );
}

#[tokio::test]
async fn choosing_a_redis_backend_without_a_redis_url_fails_naming_both_settings() {
    // With a database to open too: the refusal comes before it is opened
    // (the environment's DATABASE_URL is a shared database, and a test
    // must not migrate it). A file in a fresh folder shows whether it was.
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("untouched.db");
    let url = format!("sqlite://{}", file.display());
    for setting in ["--cache", "--broadcaster"] {
        let config =
            Config::try_parse_from(["polling-server", setting, "redis", "--database-url", &url])
                .unwrap();
        let error = Backends::connect(&config).await.unwrap_err();
        assert!(error.contains(&format!("{setting} redis")), "{error}");
        assert!(error.contains("--redis-url"), "{error}");
        assert!(!file.exists(), "{setting} redis: the database was opened");
    }
}

#[sqlx::test]
async fn a_browser_on_one_replica_sees_a_vote_cast_on_another(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    use tokio_tungstenite::tungstenite::Message;

    let prefix = unique_prefix();
    let [(a, _), (b, _)] = two_replicas(&connect, &prefix).await;
    let voter = a.client();
    let (poll, _) = create_poll(&voter, draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);

    let url = format!("ws://{}/api/polls/{id}/live", b.addr());
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut versions = Vec::new();
    let mut voted = false;
    while versions.last() != Some(&1) {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a message from replica B within 5 s")
            .unwrap()
            .unwrap();
        if let Message::Text(text) = message {
            let message: serde_json::Value = serde_json::from_str(&text).unwrap();
            versions.push(message["results"]["version"].as_u64().unwrap());
            if !voted {
                assert_eq!(message["type"], "snapshot");
                voter.vote(&id, &[0]).await.assert_json(201);
                voted = true;
            }
        }
    }
    assert_eq!(versions, [0, 1], "B's browser saw A's vote");
}

#[sqlx::test]
async fn a_hidden_socket_on_one_replica_shows_counts_after_its_voter_votes_on_another(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let prefix = unique_prefix();
    let [(a, _), (b, _)] = two_replicas(&connect, &prefix).await;
    let voter = a.client();
    let draft = serde_json::json!({
        "question": "Lunch?", "options": ["pizza", "salad"], "visibility": "after_vote"
    });
    let (poll, token) = create_poll(&voter, draft).await;
    let id = id_of(&poll);
    let cookie = voter.voter_id().expect("a voter cookie");

    // The voter's browser watches through B; another browser too.
    let open = |cookie: Option<String>| {
        let mut request = format!("ws://{}/api/polls/{id}/live", b.addr())
            .into_client_request()
            .unwrap();
        if let Some(cookie) = cookie {
            let value = format!("{}={cookie}", common::VOTER_COOKIE);
            request
                .headers_mut()
                .insert("cookie", value.parse().unwrap());
        }
        tokio_tungstenite::connect_async(request)
    };
    let (mut mine, _) = open(Some(cookie)).await.unwrap();
    let (mut other, _) = open(None).await.unwrap();
    let hidden = serde_json::json!({ "type": "hidden", "visibility": "after_vote" });
    assert_eq!(next_message(&mut mine).await, hidden);
    assert_eq!(next_message(&mut other).await, hidden);

    // The vote goes through A; B's socket of that voter flips by itself.
    voter.vote(&id, &[1]).await.assert_json(201);
    let snapshot = next_message(&mut mine).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["results"]["version"], 1);
    assert_eq!(snapshot["results"]["counts"][1]["votes"], 1);

    // Closing through A flips B's other socket (a resync over Redis).
    voter
        .send(
            common::Request::post(format!("/api/polls/{id}/close"))
                .header("authorization", format!("Bearer {token}")),
        )
        .await
        .assert_json(200);
    let snapshot = next_message(&mut other).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["results"]["version"], 1);
}

#[sqlx::test]
async fn readiness_is_degraded_not_down_while_redis_is_gone(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let mut proxy = TcpProxy::start(REDIS.parse().unwrap()).await.unwrap();
    let (server, _) = replica(&config(&connect, proxy.addr().port(), &unique_prefix())).await;
    let client = server.client();
    let ready = client.get("/readyz").await.assert_json(200);
    assert_eq!(ready["status"], "ready");
    assert_eq!(
        ready["checks"],
        serde_json::json!({"store": "ok", "cache": "ok", "broadcaster": "ok"})
    );
    let page = client.get("/metrics").await;
    let page = String::from_utf8(page.body.to_vec()).unwrap();
    assert!(page.contains("polling_redis_pubsub_connected 1"), "{page}");
    assert!(
        page.contains(r#"polling_db_pool_connections{state="idle"}"#),
        "{page}"
    );
    assert!(
        page.contains("polling_db_pool_max_connections 10"),
        "{page}"
    );

    proxy.cut().await;
    // Past the reuse of the last (ready) readiness answer.
    tokio::time::sleep(polling_server::READINESS_MAX_AGE).await;
    let degraded = client.get("/readyz").await.assert_json(200);
    assert_eq!(degraded["status"], "degraded");
    assert_eq!(degraded["checks"]["store"], "ok");
    assert_ne!(degraded["checks"]["cache"], "ok");
    assert_ne!(degraded["checks"]["broadcaster"], "ok");

    proxy.restore().await.unwrap();
    let mut status = serde_json::Value::Null;
    for _ in 0..100 {
        status = client.get("/readyz").await.assert_json(200)["status"].clone();
        if status == "ready" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "ready", "ready again once Redis is back");
}

/// Ranked and STAR polls across two replicas sharing PostgreSQL and Redis:
/// ballots cast on A, concurrently, reach a socket on B with their runoff,
/// and B's cached results equal what PostgreSQL counts, runoff included.
#[sqlx::test]
async fn ranked_and_star_runoffs_reach_the_other_replica_s_cache_and_sockets(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    use serde_json::json;

    let prefix = unique_prefix();
    let [(a, a_backends), (b, _)] = two_replicas(&connect, &prefix).await;
    let owner = a.client();
    for (method, ballots, tally) in [
        (
            "ranked",
            vec![json!({ "ranking": [0] }); 8]
                .into_iter()
                .chain(vec![json!({ "ranking": [1, 2] }); 5])
                .chain(vec![json!({ "ranking": [2, 1] }); 4])
                .collect::<Vec<_>>(),
            "ranked",
        ),
        (
            "star",
            vec![json!({ "scores": [5, 0, 0] }); 2]
                .into_iter()
                .chain(vec![json!({ "scores": [3, 4, 1] }); 3])
                .collect(),
            "star",
        ),
    ] {
        let draft = json!({ "question": "Which?", "options": ["a", "b", "c"], "method": method });
        let (poll, _) = create_poll(&owner, draft).await;
        let id = id_of(&poll);
        let results_path = format!("/api/polls/{id}/results");
        let url = format!("ws://{}/api/polls/{id}/live", b.addr());
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        assert_eq!(next_message(&mut socket).await["type"], "snapshot");

        // Every ballot from a voter of its own, all at once, through A.
        let votes = ballots.iter().map(|ballot| {
            let voter = common::Client::new(a.addr());
            let path = format!("/api/polls/{id}/votes");
            async move { voter.post_json(&path, ballot).await.assert_json(201) }
        });
        futures_util::future::join_all(votes).await;
        let last = ballots.len() as u64;

        let mut seen = serde_json::Value::Null;
        while seen["results"]["version"].as_u64() != Some(last) {
            seen = next_message(&mut socket).await;
        }
        let stored = a_backends
            .store
            .results(id.parse().unwrap())
            .await
            .expect("the stored results");
        let stored = serde_json::to_value(&stored).unwrap();
        assert_eq!(
            seen["results"], stored,
            "{method}: B's socket holds the stored count"
        );
        assert_eq!(stored[tally]["winner"], 1, "{method}: {stored}");
        let serves = format!("{method}: B serves the stored results");
        polling_core::testing::eventually(Duration::from_secs(5), &serves, || async {
            let cached = owner.at(b.addr()).get(&results_path).await.assert_json(200);
            (cached == stored).then_some(())
        })
        .await;
    }
}

/// With Redis, each replica answers reads of a poll it serves from its near
/// cache: after the first read, B's reads of a poll cost no Redis read
/// while votes on A keep changing it, and B still converges to every vote.
#[sqlx::test]
async fn a_replica_serves_repeated_reads_from_its_near_cache_and_follows_other_replicas_votes(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let prefix = unique_prefix();
    let [(a, _), (b, _)] = two_replicas(&connect, &prefix).await;
    let client = a.client();
    let (poll, _) = create_poll(&client, draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);
    let path = format!("/api/polls/{id}/results");
    let metric = |page: &str, name: &str| -> u64 {
        page.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<f64>().ok())
            .map_or(0, |n| n as u64)
    };
    let reader = client.at(b.addr());
    reader.get(&path).await.assert_json(200);
    let page = String::from_utf8(reader.get("/metrics").await.body.to_vec()).unwrap();
    let (hits, misses) = (
        metric(&page, "polling_near_cache_hits_total"),
        metric(&page, "polling_near_cache_misses_total"),
    );
    for round in 1..=5u64 {
        common::Client::new(a.addr())
            .vote(&id, &[0])
            .await
            .assert_json(201);
        polling_core::testing::eventually(Duration::from_secs(5), "B follows A's vote", || {
            let reader = reader.clone();
            let path = path.clone();
            async move {
                let results = reader.get(&path).await.assert_json(200);
                (results["version"] == round).then_some(())
            }
        })
        .await;
        for _ in 0..10 {
            reader.get(&path).await.assert_json(200);
        }
    }
    let page = String::from_utf8(reader.get("/metrics").await.body.to_vec()).unwrap();
    let new_hits = metric(&page, "polling_near_cache_hits_total") - hits;
    let new_misses = metric(&page, "polling_near_cache_misses_total") - misses;
    assert!(new_hits >= 50, "{new_hits} near-cache hits for 50+ reads");
    assert!(
        new_misses <= 5,
        "{new_misses} reads of B went to Redis: the near cache follows A's votes"
    );
}

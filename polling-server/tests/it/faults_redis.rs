//! Redis stopped for real while voters vote: a `redis-server` of the test's
//! own is killed (or frozen) during the votes and comes back on its port.
//! Votes keep being accepted and stored, `/readyz` says `degraded`, and once
//! Redis is back live updates resume and the cached results are the store's,
//! all without restarting the server.

use std::time::Duration;

use crate::common::{create_poll, database_url, draft, id_of, Client, TestServer};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use polling_server::{Backends, Config};
use polling_testkit::{RedisServer, TcpProxy};
use redis::AsyncCommands;
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio_tungstenite::tungstenite::Message;

/// The longest a vote may take while Redis is gone.
const VOTE_WITHIN: Duration = Duration::from_secs(3);

/// How long the server may take to use Redis again after it returns.
const RECOVER_WITHIN: Duration = Duration::from_secs(15);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn server(connect: &PgConnectOptions, redis: &RedisServer) -> TestServer {
    server_at(connect, &redis.url()).await
}

async fn server_at(connect: &PgConnectOptions, redis_url: &str) -> TestServer {
    let config = Config::try_parse_from([
        "polling-server",
        "--database-url",
        &database_url(connect, connect.get_port()),
        "--redis-url",
        redis_url,
        "--startup-timeout",
        "5s",
    ])
    .unwrap();
    let backends = Backends::connect(&config).await.expect("backends connect");
    assert_eq!(
        (
            backends.kinds.store,
            backends.kinds.cache,
            backends.kinds.broadcaster
        ),
        ("postgres", "redis", "redis")
    );
    TestServer::with_app(backends.into_builder().build()).await
}

/// The next results message on `socket` (snapshot or update).
async fn next_results(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(RECOVER_WITHIN, socket.next())
            .await
            .expect("a live message in time")
            .expect("the socket stays open")
            .expect("a well-formed frame");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(payload) => socket.send(Message::Pong(payload)).await.unwrap(),
            _ => {}
        }
    }
}

/// Reads messages until one carries `version`.
async fn until_version(socket: &mut Socket, version: u64) -> Value {
    loop {
        let message = next_results(socket).await;
        if message["results"]["version"].as_u64() >= Some(version) {
            return message;
        }
    }
}

/// `count` new voters each vote for option 0; each must be acknowledged 201
/// within [`VOTE_WITHIN`], Redis up or not.
async fn votes_acknowledged(server: &TestServer, id: &str, count: usize) {
    for _ in 0..count {
        let vote = tokio::time::timeout(VOTE_WITHIN, server.client().vote(id, &[0]))
            .await
            .expect("a vote does not hang while Redis is gone");
        vote.assert_json(201);
    }
}

/// Waits until `/readyz` says `status`.
async fn wait_for_readiness(client: &Client, status: &str) {
    let deadline = tokio::time::Instant::now() + RECOVER_WITHIN;
    loop {
        let ready = client.get("/readyz").await.assert_json(200);
        if ready["status"] == status {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz never said {status}: {ready}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The version the Redis at `url` caches for poll `id` (with the default
/// key prefix).
async fn cached_version(url: &str, id: &str) -> Option<u64> {
    let mut redis = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    redis
        .hget(format!("polling:results:{id}"), "v")
        .await
        .unwrap()
}

/// Creates a poll through `client` and has one voter vote, then reads the
/// results so the Redis at `redis_url` caches them; returns the poll's id
/// once both the server and the cache say version 1.
async fn poll_cached_at_version_one(
    server: &TestServer,
    client: &Client,
    redis_url: &str,
) -> String {
    let (poll, _) = create_poll(client, draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);
    votes_acknowledged(server, &id, 1).await;
    assert_eq!(
        client
            .get(&format!("/api/polls/{id}/results"))
            .await
            .assert_json(200)["version"],
        1
    );
    assert_eq!(cached_version(redis_url, &id).await, Some(1));
    id
}

#[sqlx::test]
async fn redis_killed_during_votes_loses_none_and_live_updates_and_caching_resume(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let mut redis = RedisServer::start();
    let server = server(&connect, &redis).await;
    let client = server.client();
    let (poll, _) = create_poll(&client, draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);
    let url = format!("ws://{}/api/polls/{id}/live", server.addr());
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(next_results(&mut socket).await["type"], "snapshot");
    votes_acknowledged(&server, &id, 2).await;
    assert_eq!(until_version(&mut socket, 2).await["results"]["version"], 2);
    wait_for_readiness(&client, "ready").await;

    redis.kill();
    votes_acknowledged(&server, &id, 5).await;
    // Past the reuse of the last (ready) readiness answer.
    tokio::time::sleep(polling_server::READINESS_MAX_AGE).await;
    let ready = client.get("/readyz").await.assert_json(200);
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_eq!(ready["checks"]["store"], "ok");
    let results = client
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);
    assert_eq!(results["version"], 7, "every vote was stored");

    redis.restart();
    wait_for_readiness(&client, "ready").await;
    // The socket opened before the outage catches up (a resync snapshot)
    // and follows new votes again.
    assert_eq!(until_version(&mut socket, 7).await["results"]["version"], 7);
    server.client().vote(&id, &[1]).await.assert_json(201);
    let update = until_version(&mut socket, 8).await;
    assert_eq!(update["results"]["version"], 8);
    assert_eq!(update["results"]["counts"][0]["votes"], 7);
    assert_eq!(update["results"]["counts"][1]["votes"], 1);

    // The (restarted, empty) cache is filled with the store's results.
    let results = client
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);
    assert_eq!(results["version"], 8);
    assert_eq!(cached_version(&redis.url(), &id).await, Some(8));
}

#[sqlx::test]
async fn redis_frozen_during_votes_serves_no_stale_results_once_it_thaws(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let redis = RedisServer::start();
    let server = server(&connect, &redis).await;
    let client = server.client();
    let id = poll_cached_at_version_one(&server, &client, &redis.url()).await;
    let results_path = format!("/api/polls/{id}/results");

    // Frozen, Redis keeps version 1 while the votes move on.
    redis.pause();
    votes_acknowledged(&server, &id, 3).await;
    assert_eq!(
        client.get(&results_path).await.assert_json(200)["version"],
        4
    );
    redis.resume();
    wait_for_readiness(&client, "ready").await;

    for _ in 0..3 {
        let results = client.get(&results_path).await.assert_json(200);
        assert_eq!(results["version"], 4, "a stale cached version was served");
        assert_eq!(results["counts"][0]["votes"], 4);
    }
    assert_eq!(cached_version(&redis.url(), &id).await, Some(4));
}

#[sqlx::test]
async fn redis_cut_off_during_votes_serves_no_stale_results_once_it_is_reachable(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    // A partition: Redis keeps running (and keeps version 1), but nothing
    // the server sends while cut off reaches it.
    let redis = RedisServer::start();
    let mut proxy = TcpProxy::start(([127, 0, 0, 1], redis.port()).into())
        .await
        .unwrap();
    let server = server_at(&connect, &format!("redis://{}/", proxy.addr())).await;
    let client = server.client();
    let id = poll_cached_at_version_one(&server, &client, &redis.url()).await;
    let results_path = format!("/api/polls/{id}/results");

    proxy.cut().await;
    votes_acknowledged(&server, &id, 3).await;
    assert_eq!(
        client.get(&results_path).await.assert_json(200)["version"],
        4
    );
    assert_eq!(
        cached_version(&redis.url(), &id).await,
        Some(1),
        "the partition kept the old entry"
    );
    proxy.restore().await.unwrap();
    wait_for_readiness(&client, "ready").await;

    for _ in 0..3 {
        let results = client.get(&results_path).await.assert_json(200);
        assert_eq!(results["version"], 4, "a stale cached version was served");
    }
    assert_eq!(cached_version(&redis.url(), &id).await, Some(4));
}

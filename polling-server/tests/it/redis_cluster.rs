//! Replicas sharing PostgreSQL and a Redis Cluster (`--redis-cluster-nodes`;
//! three masters with a replica each, started by each test): a vote through
//! one replica reaches the sockets and the cache of another whichever shard
//! its poll lives on, and a master failing over costs no vote: sockets
//! resync and get new versions after the promotion, and caching resumes,
//! with nothing restarted.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::process::ServerProcess;
use crate::common::{create_poll, database_url, draft, id_of, Client, Socket, TestServer};
use clap::Parser;
use futures_util::StreamExt;
use polling_core::{PollId, ResultsCache};
use polling_server::{Backends, Config};
use polling_testkit::RedisCluster;
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// How long the cluster may take to promote a replica, and the replicas to
/// find it (the nodes count a master as failed after 2 s).
const RECOVER_WITHIN: Duration = Duration::from_secs(30);

/// A replica's configuration: the test's database, the cluster's nodes as
/// seeds, and a key prefix of the test's own.
fn config(connect: &PgConnectOptions, cluster: &RedisCluster, prefix: &str) -> Config {
    let database = database_url(connect, connect.get_port());
    let mut config = Config::try_parse_from([
        "polling-server",
        "--database-url",
        &database,
        "--redis-cluster-nodes",
        &cluster.urls().join(","),
        "--redis-prefix",
        prefix,
        "--startup-timeout",
        "10s",
    ])
    .unwrap();
    // A `REDIS_URL` in the tests' environment would be refused beside the
    // cluster.
    config.redis_url = None;
    config
}

async fn replica(config: &Config) -> (TestServer, Backends) {
    polling_server::telemetry::install_recorder();
    let backends = Backends::connect(config).await.expect("backends connect");
    assert_eq!(
        (
            backends.kinds.cache,
            backends.kinds.broadcaster,
            backends.kinds.rate_limits
        ),
        ("redis", "redis", "redis")
    );
    (
        TestServer::with_app(backends.clone().into_builder().build()).await,
        backends,
    )
}

async fn start_cluster() -> RedisCluster {
    tokio::task::spawn_blocking(RedisCluster::start)
        .await
        .expect("start the Redis cluster")
}

/// The documented key of a poll's results on a cluster.
fn results_key(prefix: &str, id: &str) -> String {
    format!("{prefix}results:{{{id}}}")
}

/// Opens a same-origin live socket on `addr` for poll `id`.
async fn open_socket(addr: std::net::SocketAddr, id: &str) -> Socket {
    let mut request = format!("ws://{addr}/api/polls/{id}/live")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", format!("http://{addr}").parse().unwrap());
    let (socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the socket opens");
    assert_eq!(response.status(), 101);
    socket
}

/// The next text message of `socket` within `wait`, as JSON; `None` if none
/// came.
async fn message_within(socket: &mut Socket, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()?;
        match frame.expect("the socket stays open").expect("a frame") {
            Message::Text(text) => return Some(serde_json::from_str(&text).unwrap()),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// Messages of `socket` until one matches `wanted` (returned), failing after
/// [`RECOVER_WITHIN`].
async fn message_until(socket: &mut Socket, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + RECOVER_WITHIN;
    let mut seen = Vec::new();
    while tokio::time::Instant::now() < deadline {
        if let Some(message) = message_within(socket, Duration::from_millis(500)).await {
            if wanted(&message) {
                return message;
            }
            seen.push(message);
        }
    }
    panic!("{what}: not within {RECOVER_WITHIN:?}; got {seen:?}");
}

/// The first `results` message of `wanted` version within `wait`, skipping
/// every other message the socket holds meanwhile.
async fn results_of_version(socket: &mut Socket, wanted: u64, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let message = message_within(socket, left).await?;
        if message["type"] == "results" && version(&message) == wanted {
            return Some(message);
        }
    }
}

/// The version a live message carries.
fn version(message: &Value) -> u64 {
    message["results"]["version"].as_u64().expect("a version")
}

/// Polls created through `client` until every master owns at least one.
async fn polls_on_every_master(
    client: &Client,
    cluster: &RedisCluster,
    prefix: &str,
) -> BTreeMap<u16, String> {
    let masters = cluster.masters();
    assert_eq!(masters.len(), 3, "{masters:?}");
    let mut by_master = BTreeMap::new();
    for _ in 0..200 {
        if by_master.len() == masters.len() {
            return by_master;
        }
        let (poll, _) = create_poll(client, draft(&["tabs", "spaces"])).await;
        let id = id_of(&poll);
        by_master
            .entry(cluster.master_of(&results_key(prefix, &id)))
            .or_insert(id);
    }
    panic!("200 polls missed a master: {by_master:?}");
}

/// The version the master on `port` caches for poll `id`.
async fn cached_on(port: u16, prefix: &str, id: &str) -> Option<u64> {
    let mut node = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    redis::cmd("HGET")
        .arg(results_key(prefix, id))
        .arg("v")
        .query_async(&mut node)
        .await
        .unwrap()
}

/// What `/readyz` of `client`'s server says.
async fn readiness(client: &Client) -> String {
    let ready = client.get("/readyz").await.assert_json(200);
    ready["status"].as_str().unwrap().to_owned()
}

#[sqlx::test]
async fn on_a_cluster_a_vote_through_one_replica_reaches_the_sockets_and_cache_of_another(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let cluster = start_cluster().await;
    let prefix = format!("test:{}:", PollId::generate());
    let (a, _) = replica(&config(&connect, &cluster, &prefix)).await;
    let (b, b_backends) = replica(&config(&connect, &cluster, &prefix)).await;
    let by_master = polls_on_every_master(&a.client(), &cluster, &prefix).await;

    for (&master, id) in &by_master {
        let mut socket = open_socket(b.addr(), id).await;
        let snapshot = message_within(&mut socket, Duration::from_secs(5))
            .await
            .expect("a snapshot");
        assert_eq!(
            (snapshot["type"].as_str(), version(&snapshot)),
            (Some("snapshot"), 0)
        );

        a.client().vote(id, &[1]).await.assert_json(201);

        let update = message_within(&mut socket, Duration::from_secs(5))
            .await
            .expect("B's socket gets A's vote");
        assert_eq!(update["type"], "results", "{update}");
        assert_eq!(version(&update), 1);
        assert_eq!(update["results"]["counts"][1]["votes"], 1);
        let cached = b_backends
            .cache
            .get(id.parse().unwrap())
            .await
            .expect("B's cache answers");
        assert_eq!(cached.map(|r| r.version), Some(1), "B's cache has A's vote");
        assert_eq!(
            cached_on(master, &prefix, id).await,
            Some(1),
            "the entry lives on the master owning the poll's slot"
        );
        let served = b
            .client()
            .get(&format!("/api/polls/{id}/results"))
            .await
            .assert_json(200);
        assert_eq!(served["version"], 1);
    }
    assert_eq!(readiness(&b.client()).await, "ready");
}

#[sqlx::test]
async fn on_a_cluster_a_master_failover_loses_no_vote_and_sockets_resync_after_the_promotion(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let mut cluster = start_cluster().await;
    let prefix = format!("test:{}:", PollId::generate());
    let (a, _) = replica(&config(&connect, &cluster, &prefix)).await;
    let (b, b_backends) = replica(&config(&connect, &cluster, &prefix)).await;
    let by_master = polls_on_every_master(&a.client(), &cluster, &prefix).await;
    let (&victim, id) = by_master.iter().next().unwrap();
    let id = id.clone();

    let mut socket = open_socket(b.addr(), &id).await;
    assert_eq!(
        message_within(&mut socket, Duration::from_secs(5))
            .await
            .unwrap()["type"],
        "snapshot"
    );
    a.client().vote(&id, &[0]).await.assert_json(201);
    let first = message_within(&mut socket, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(version(&first), 1);

    let killed_at = tokio::time::Instant::now();
    cluster.kill(victim);
    let mut votes = 1;
    for _ in 0..2 {
        let cast = tokio::time::timeout(Duration::from_secs(5), a.client().vote(&id, &[1]))
            .await
            .expect("a vote does not hang on a shard without a master");
        cast.assert_json(201);
        votes += 1;
    }
    let b_client = b.client();
    let deadline = tokio::time::Instant::now() + RECOVER_WITHIN;
    while readiness(&b_client).await != "degraded" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz never said degraded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.wait_until_healed();
        cluster
    })
    .await
    .unwrap();
    let promoted = cluster.master_of(&results_key(&prefix, &id));
    assert_ne!(promoted, victim);
    let healed_after = killed_at.elapsed();

    // B's broadcaster resubscribes on the promoted master and resyncs: the
    // socket gets a new snapshot.
    message_until(&mut socket, "a resync snapshot", |m| {
        m["type"] == "snapshot"
    })
    .await;
    let resynced_after = killed_at.elapsed();

    // New votes reach B's socket again (the first publishes after the
    // promotion may still find the old master: vote until one arrives).
    let deadline = tokio::time::Instant::now() + RECOVER_WITHIN;
    let arrived = loop {
        a.client().vote(&id, &[1]).await.assert_json(201);
        votes += 1;
        // Drain what came meanwhile (an earlier version published late, a
        // second resync) so that one late message cannot leave every later
        // read a version behind.
        if let Some(message) = results_of_version(&mut socket, votes, Duration::from_secs(2)).await
        {
            break message;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no new version reached B's socket after the promotion"
        );
    };
    assert_eq!(
        arrived["results"]["counts"][1]["votes"].as_u64(),
        Some(votes - 1),
        "every vote was stored, those during the failover too"
    );

    // Caching resumes on the promoted master, in B's cache too.
    let deadline = tokio::time::Instant::now() + RECOVER_WITHIN;
    loop {
        let cached = b_backends.cache.get(id.parse().unwrap()).await;
        if matches!(&cached, Ok(Some(results)) if results.version == votes) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "caching never resumed: {cached:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(cached_on(promoted, &prefix, &id).await, Some(votes));
    let deadline = tokio::time::Instant::now() + RECOVER_WITHIN;
    while readiness(&b_client).await != "ready" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz never said ready again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "failover: cluster healed after {healed_after:?}, B's socket resynced after \
         {resynced_after:?}, ready again after {:?}",
        killed_at.elapsed()
    );
}

#[tokio::test]
async fn a_redis_url_and_cluster_nodes_together_are_refused_at_start_up() {
    let mut config = Config::try_parse_from([
        "polling-server",
        "--redis-url",
        "redis://127.0.0.1:6379/",
        "--redis-cluster-nodes",
        "redis://127.0.0.1:7000/,redis://127.0.0.1:7001/",
    ])
    .unwrap();
    config.database_url = None;
    let error = Backends::connect(&config).await.unwrap_err();
    assert!(
        error.contains("--redis-url") && error.contains("--redis-cluster-nodes"),
        "{error}"
    );
}

#[sqlx::test]
async fn two_server_processes_configured_by_environment_share_a_cluster(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let cluster = start_cluster().await;
    let prefix = format!("test:{}:", PollId::generate());
    let env = [
        ("DATABASE_URL", database_url(&connect, connect.get_port())),
        ("POLLING_REDIS_CLUSTER_NODES", cluster.urls().join(",")),
        ("POLLING_REDIS_PREFIX", prefix.clone()),
        ("POLLING_STARTUP_TIMEOUT", "10s".to_owned()),
        // One vote a minute once the burst is spent: the bucket a vote
        // draws on stays in Redis for a minute (at the default 1,200 a
        // minute it is full again, and gone, 50 ms later, which a loaded
        // machine overshoots before the check below).
        ("POLLING_RATE_LIMIT_VOTES", "1".to_owned()),
        ("POLLING_RATE_LIMIT_VOTES_BURST", "100".to_owned()),
    ];
    let a = ServerProcess::start(&env).await;
    let b = ServerProcess::start(&env).await;
    let b_client = Client::new(b.addr);
    let ready = b_client.get("/readyz").await.assert_json(200);
    assert_eq!(ready["status"], "ready", "{ready}");

    let voter = Client::new(a.addr);
    let (poll, _) = create_poll(&voter, draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);
    let mut socket = open_socket(b.addr, &id).await;
    let snapshot = message_within(&mut socket, Duration::from_secs(5))
        .await
        .expect("a snapshot");
    assert_eq!(snapshot["type"], "snapshot");
    // The vote draws on the shared rate limits in the cluster (not on a
    // process's fallback): the address's bucket, in its client's slot. A
    // bucket expires once it is full again, 50 ms after one vote at the
    // default rate: it is read right after the vote, on a connection opened
    // before it.
    let bucket = format!("{prefix}rate:{{127.0.0.1}}votes:127.0.0.1");
    let mut node =
        redis::Client::open(format!("redis://127.0.0.1:{}/", cluster.master_of(&bucket)))
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
    voter.vote(&id, &[0]).await.assert_json(201);
    let exists: bool = redis::cmd("EXISTS")
        .arg(&bucket)
        .query_async(&mut node)
        .await
        .unwrap();
    assert!(exists, "{bucket} is on its master");
    let update = message_within(&mut socket, Duration::from_secs(5))
        .await
        .expect("B's socket gets A's vote");
    assert_eq!(
        (update["type"].as_str(), version(&update)),
        (Some("results"), 1)
    );
    let master = cluster.master_of(&results_key(&prefix, &id));
    assert_eq!(
        cached_on(master, &prefix, &id).await,
        Some(1),
        "A cached the vote on the poll's shard"
    );
}

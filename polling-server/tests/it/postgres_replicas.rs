//! The `polling-server` binary itself, twice, as two replicas sharing
//! PostgreSQL and no Redis: by default votes cast on one replica reach the
//! other's results and its live sockets (through `LISTEN`/`NOTIFY`, with no
//! in-process results cache to go stale), also across a lost listening
//! connection, and `/readyz` reports the broadcaster.

use crate::common::process::ServerProcess;
use crate::common::{create_poll, database_url, draft, id_of, next_message, Client, Socket};
use clap::Parser;
use polling_server::{Backends, Config};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const VOTES: u64 = 10;

/// The settings of a replica: the test's database, nothing else.
fn env(connect: &PgConnectOptions) -> [(&'static str, String); 2] {
    [
        ("DATABASE_URL", database_url(connect, connect.get_port())),
        ("POLLING_STARTUP_TIMEOUT", "10s".to_owned()),
    ]
}

#[sqlx::test]
async fn votes_on_one_replica_reach_the_results_and_sockets_of_another_without_redis(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let a = ServerProcess::start(&env(&connect)).await;
    let b = ServerProcess::start(&env(&connect)).await;
    let creator = Client::new(a.addr);
    let (poll, _) = create_poll(&creator, draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);
    let results_path = format!("/api/polls/{id}/results");

    // B reads version 0 first: a replica caching it would serve it forever.
    let before = Client::new(b.addr)
        .get(&results_path)
        .await
        .assert_json(200);
    assert_eq!(before["version"], 0);
    let url = format!("ws://{}/api/polls/{id}/live", b.addr);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let snapshot = next_message(&mut socket).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["results"]["version"], 0);

    for i in 0..VOTES {
        let voter = Client::new(a.addr);
        voter
            .vote(&id, &[u32::from(i % 2 == 0)])
            .await
            .assert_json(201);
    }
    let on_a = Client::new(a.addr)
        .get(&results_path)
        .await
        .assert_json(200);
    assert_eq!(on_a["total"], VOTES);

    let on_b = Client::new(b.addr)
        .get(&results_path)
        .await
        .assert_json(200);
    assert_eq!(
        (&on_b["total"], &on_b["version"]),
        (&on_a["total"], &on_a["version"]),
        "B serves the results of A's votes, not the version 0 it read: {on_b}"
    );

    let final_version = on_a["version"].as_u64().unwrap();
    let seen = versions_until(&mut socket, final_version).await;
    assert_eq!(seen.last(), Some(&final_version), "B's socket: {seen:?}");

    let ready = Client::new(b.addr).get("/readyz").await.assert_json(200);
    assert_eq!(ready["checks"]["broadcaster"], "ok", "{ready}");
    assert_eq!(ready["status"], "ready", "{ready}");
}

/// The versions `socket` receives (rising: a slow socket may skip some),
/// up to `last`; fails if it gets no message for 5 s before.
async fn versions_until(socket: &mut Socket, last: u64) -> Vec<u64> {
    let mut seen: Vec<u64> = Vec::new();
    while seen.last() != Some(&last) {
        let message: Value = next_message(socket).await;
        let version = message["results"]["version"]
            .as_u64()
            .unwrap_or_else(|| panic!("a results message: {message}"));
        assert!(
            seen.last().is_none_or(|&newest| version >= newest),
            "rising versions: {seen:?} then {version}"
        );
        seen.push(version);
    }
    seen
}

#[sqlx::test]
async fn a_socket_catches_up_after_its_replicas_listening_connection_is_terminated(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let a = ServerProcess::start(&env(&connect)).await;
    let b = ServerProcess::start(&env(&connect)).await;
    let creator = Client::new(a.addr);
    let (poll, _) = create_poll(&creator, draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);
    let url = format!("ws://{}/api/polls/{id}/live", b.addr);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(next_message(&mut socket).await["type"], "snapshot");

    let pool = options.connect_with(connect).await.unwrap();
    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'polling-listener'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        terminated,
        [true, true],
        "each replica's listening connection"
    );
    // Cast at once, while the replicas reconnect: these notifications may be
    // lost, and the resync after the reconnect must make up for them.
    for _ in 0..VOTES {
        Client::new(a.addr).vote(&id, &[0]).await.assert_json(201);
    }

    let seen = versions_until(&mut socket, VOTES).await;
    assert_eq!(seen.last(), Some(&VOTES), "B's socket: {seen:?}");
    let on_b = Client::new(b.addr)
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);
    assert_eq!(on_b["version"], VOTES);
    pool.close().await;
}

#[tokio::test]
async fn choosing_the_postgres_broadcaster_without_a_database_url_fails_naming_both_settings() {
    let mut config =
        Config::try_parse_from(["polling-server", "--broadcaster", "postgres"]).unwrap();
    // Whatever DATABASE_URL the tests run with.
    config.database_url = None;
    let error = Backends::connect(&config).await.unwrap_err();
    assert!(error.contains("--broadcaster postgres"), "{error}");
    assert!(error.contains("--database-url"), "{error}");
}

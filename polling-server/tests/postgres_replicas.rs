//! The `polling-server` binary itself, twice, as two replicas sharing
//! PostgreSQL and no Redis: by default votes cast on one replica reach the
//! other's results and its live sockets (through `LISTEN`/`NOTIFY`, with no
//! in-process results cache to go stale), and `/readyz` reports the
//! broadcaster.

mod common;

use common::process::ServerProcess;
use common::{create_poll, database_url, draft, id_of, next_message, Client};
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

    // The socket gets rising versions (a slow one may skip some) up to A's.
    let final_version = on_a["version"].as_u64().unwrap();
    let mut seen = Vec::new();
    while seen.last() != Some(&final_version) {
        let message: Value = next_message(&mut socket).await;
        let version = message["results"]["version"]
            .as_u64()
            .unwrap_or_else(|| panic!("a results message: {message}"));
        assert!(
            seen.last().is_none_or(|&last| version > last),
            "rising versions: {seen:?} then {version}"
        );
        seen.push(version);
    }
    assert_eq!(
        seen.last(),
        Some(&final_version),
        "B's socket reached A's last version"
    );

    let ready = Client::new(b.addr).get("/readyz").await.assert_json(200);
    assert_eq!(ready["checks"]["broadcaster"], "ok", "{ready}");
    assert_eq!(ready["status"], "ready", "{ready}");
}

//! The server on PostgreSQL: configured by URL, durable across restarts, and
//! answering 503 `unavailable` while the database is gone, then recovering
//! by itself.

use std::time::Duration;

use crate::common::{create_poll, database_url, draft, id_of, TestServer};
use clap::Parser;
use polling_server::{Backends, Config};
use polling_testkit::TcpProxy;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// The server's configuration for the test database `connect` names, reached
/// at 127.0.0.1:`port`.
fn config(connect: &PgConnectOptions, port: u16) -> Config {
    let url = database_url(connect, port);
    Config::try_parse_from([
        "polling-server",
        "--database-url",
        &url,
        "--database-pool-size",
        "3",
        "--database-acquire-timeout",
        "500ms",
        "--startup-timeout",
        "5s",
    ])
    .unwrap()
}

async fn server(config: &Config) -> TestServer {
    let backends = Backends::connect(config).await.expect("backends connect");
    assert_eq!(backends.kinds.store, "postgres");
    TestServer::with_app(backends.into_builder().build()).await
}

#[sqlx::test(migrations = false)]
async fn a_database_url_selects_postgres_and_the_server_migrates_it(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let config = config(&connect, connect.get_port());
    let server = server(&config).await;
    let client = server.client();
    let (poll, _) = create_poll(&client, draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);

    client.vote(&id, &[1]).await.assert_json(201);
    let results = client
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);
    assert_eq!(results["version"], 1);
    assert_eq!(results["counts"][1]["votes"], 1);
}

#[sqlx::test]
async fn polls_and_votes_survive_a_server_restart(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let config = config(&connect, connect.get_port());
    let mut first = server(&config).await;
    let voter = first.client();
    let (poll, _) = create_poll(&voter, draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);
    let receipt = voter.vote(&id, &[0]).await.assert_json(201)["receipt"].clone();
    first.shutdown().await.unwrap();

    let second = server(&config).await;
    let voter = voter.at(second.addr());
    assert_eq!(
        voter
            .get(&format!("/api/polls/{id}"))
            .await
            .assert_json(200),
        poll
    );
    let results = voter
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);
    assert_eq!(results["counts"][0]["votes"], 1);
    let replay = voter.vote(&id, &[0]).await.assert_json(200);
    assert_eq!(
        replay["receipt"], receipt,
        "the original receipt, from the database"
    );
}

#[sqlx::test]
async fn a_lost_database_answers_503_then_recovers_without_a_restart(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let upstream = format!("127.0.0.1:{}", connect.get_port()).parse().unwrap();
    let mut proxy = TcpProxy::start(upstream).await.unwrap();
    let server = server(&config(&connect, proxy.addr().port())).await;
    let client = server.client();
    let (poll, _) = create_poll(&client, draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);

    proxy.cut().await;
    let refused = client.vote(&id, &[0]).await;
    refused.assert_error(503, "unavailable");
    assert!(refused.header("retry-after").is_some());
    client
        .get(&format!("/api/polls/{id}"))
        .await
        .assert_error(503, "unavailable");
    let ready = client.get("/readyz").await;
    assert_eq!(ready.status.as_u16(), 503);

    proxy.restore().await.unwrap();
    let mut status = 0;
    for _ in 0..50 {
        status = client.vote(&id, &[0]).await.status.as_u16();
        if status == 201 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 201, "votes succeed again once PostgreSQL is back");
    let results = client
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);
    assert_eq!(results["version"], 1, "the refused vote was not recorded");
    // Past the reuse of the last (unready) readiness answer.
    tokio::time::sleep(polling_server::READINESS_MAX_AGE).await;
    assert_eq!(client.get("/readyz").await.status.as_u16(), 200);
}

#[tokio::test]
async fn an_unreachable_database_fails_start_up_naming_the_setting() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let config = Config::try_parse_from([
        "polling-server",
        "--database-url",
        &format!("postgres://app:hunter2@127.0.0.1:{port}/polls"),
        "--startup-timeout",
        "300ms",
    ])
    .unwrap();
    let error = Backends::connect(&config).await.unwrap_err();
    assert!(
        error.starts_with("--database-url (DATABASE_URL)"),
        "{error}"
    );
    assert!(
        !error.contains("hunter2"),
        "the password is redacted: {error}"
    );
    assert!(!error.contains('\n'), "one line: {error}");
}

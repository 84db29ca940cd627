//! The `polling-server` binary itself, twice, as two replicas sharing
//! PostgreSQL and Redis: a browser connected to one sees a vote cast on the
//! other, and SIGTERM closes its socket with 1001.

use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::process::ServerProcess;
use crate::common::{create_poll, database_url, draft, id_of, Client};
use futures_util::StreamExt;
use polling_core::PollId;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio_tungstenite::tungstenite::Message;

/// A replica: the binary itself.
type Replica = ServerProcess;

async fn next_text(
    socket: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> Message {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("the socket stays open")
            .expect("a well-formed frame");
        if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
            return message;
        }
    }
}

#[sqlx::test]
async fn two_server_processes_share_votes_live_and_sigterm_closes_with_1001(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let env = [
        ("DATABASE_URL", database_url(&connect, connect.get_port())),
        ("REDIS_URL", "redis://127.0.0.1:6379/".to_owned()),
        (
            "POLLING_REDIS_PREFIX",
            format!("test:{}:", PollId::generate()),
        ),
        ("POLLING_STARTUP_TIMEOUT", "10s".to_owned()),
    ];
    let a = Replica::start(&env).await;
    let b = Replica::start(&env).await;
    let voter = Client::new(a.addr);
    let (poll, _) = create_poll(&voter, draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);

    let url = format!("ws://{}/api/polls/{id}/live", b.addr);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let Message::Text(snapshot) = next_text(&mut socket).await else {
        panic!("a snapshot first")
    };
    assert!(snapshot.contains(r#""type":"snapshot""#), "{snapshot}");

    voter.vote(&id, &[1]).await.assert_json(201);
    let Message::Text(update) = next_text(&mut socket).await else {
        panic!("the vote's results")
    };
    let update: serde_json::Value = serde_json::from_str(&update).unwrap();
    assert_eq!(update["type"], "results");
    assert_eq!(update["results"]["version"], 1);
    assert_eq!(update["results"]["counts"][1]["votes"], 1);

    b.terminate();
    match next_text(&mut socket).await {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("expected a 1001 close, got {other:?}"),
    }
}

#[tokio::test]
async fn probe_ready_exits_0_for_a_ready_server_and_1_otherwise() {
    let replica = Replica::start(&[]).await;
    let probe = |addr: SocketAddr| {
        Command::new(env!("CARGO_BIN_EXE_polling-server"))
            .env_clear()
            .args(["--probe-ready", "--listen", &addr.to_string()])
            .stderr(Stdio::null())
            .status()
            .unwrap()
    };
    assert!(probe(replica.addr).success());
    let wildcard: SocketAddr = format!("0.0.0.0:{}", replica.addr.port()).parse().unwrap();
    assert!(
        probe(wildcard).success(),
        "a wildcard listen address is probed on loopback"
    );
    drop(replica);
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert_eq!(probe(closed).code(), Some(1));
}

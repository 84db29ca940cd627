//! Live sockets whose counts the poll's visibility hides, against a real
//! PostgreSQL store that counts the poll and ballot reads reaching it: a hot
//! `after_close` poll costs the store nothing per vote however many sockets
//! watch it, an `after_vote` socket opens on its own voter's vote (on any
//! replica) and on nobody else's, a flood of `recheck`/`manage` messages is
//! answered once per interval; and the per-client socket cap, by the client
//! address behind trusted proxies.

use crate::common;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{
    assert_hidden, assert_no_message, create_poll, handshake_refusal, id_of, next_message,
    voter_with_cookie, Socket, TestServer,
};
use futures_util::SinkExt;
use polling_core::testing::{CountingStore, StoreMethod};
use polling_core::PollStore;
use polling_realtime::SocketConfig;
use polling_server::{App, AppBuilder, RequestLimits, TrustedProxies};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

// ------------------------------------------------------------------ fixtures

/// The reads a socket's gate makes (`get` and `ballot`) that reached the
/// real store.
fn gate_reads(store: &CountingStore<Arc<dyn PollStore>>) -> usize {
    store.calls(StoreMethod::Get) + store.calls(StoreMethod::Ballot)
}

/// The server's PostgreSQL backends (store and `LISTEN`/`NOTIFY`
/// broadcaster) on the `#[sqlx::test]` database, with the store's `get` and
/// `ballot` calls counted in the returned counter.
async fn counted_postgres_app(
    connect: &PgConnectOptions,
) -> (AppBuilder, CountingStore<Arc<dyn PollStore>>) {
    use clap::Parser;
    let url = common::database_url(connect, connect.get_port());
    let config = polling_server::Config::try_parse_from([
        "polling-server",
        "--database-url",
        &url,
        "--database-pool-size",
        "10",
        "--startup-timeout",
        "5s",
    ])
    .expect("a valid configuration");
    let mut backends = polling_server::Backends::connect(&config)
        .await
        .expect("the PostgreSQL backends connect");
    assert_eq!(backends.kinds.store, "postgres");
    let reads = CountingStore::new(backends.store);
    backends.store = Arc::new(reads.clone());
    (backends.into_builder(), reads)
}

/// A poll with `visibility`, created on `server`; its id and manage token.
async fn poll_with(server: &TestServer, visibility: &str) -> (String, String) {
    let draft = json!({
        "question": "Lunch?", "options": ["pizza", "salad"], "visibility": visibility
    });
    let (poll, token) = create_poll(&server.client(), draft).await;
    (id_of(&poll), token)
}

/// Opens `/api/polls/{poll}/live` on `addr` from the local address `from`,
/// same-origin, with the extra `headers`.
async fn open_from(
    addr: SocketAddr,
    poll: &str,
    from: &str,
    headers: &[(&str, String)],
) -> Result<Socket, tungstenite::Error> {
    let mut request = format!("ws://{addr}/api/polls/{poll}/live")
        .into_client_request()
        .expect("a valid WebSocket URL");
    request
        .headers_mut()
        .insert("origin", format!("http://{addr}").parse().unwrap());
    for (name, value) in headers {
        let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request
            .headers_mut()
            .insert(name, value.parse().expect("a header value"));
    }
    let tcp = TcpSocket::new_v4().unwrap();
    tcp.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let stream = tcp.connect(addr).await.expect("the server accepts");
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let (socket, response) = tokio_tungstenite::client_async(request, stream).await?;
    assert_eq!(response.status(), 101);
    Ok(socket)
}

/// Opens a socket as the voter whose cookie is `voter`.
async fn open_as(addr: SocketAddr, poll: &str, voter: &str) -> Socket {
    let cookie = format!("{}={voter}", common::VOTER_COOKIE);
    open_from(addr, poll, "127.0.0.1", &[("cookie", cookie)])
        .await
        .expect("the socket opens")
}

/// Casts `count` votes, each as a new voter.
async fn votes_by_others(server: &TestServer, poll: &str, count: usize) {
    for i in 0..count {
        let choice = u32::try_from(i % 2).unwrap();
        server.client().vote(poll, &[choice]).await.assert_json(201);
    }
}

/// Waits past a few recheck intervals, so that any recheck a socket was
/// prompted to make has been made.
async fn settle() {
    tokio::time::sleep(SocketConfig::DEFAULT_RECHECK_INTERVAL * 3).await;
}

// ---------------------------------------------------------------- after_close

#[sqlx::test]
async fn a_thousand_hidden_sockets_on_a_hot_after_close_poll_cost_the_store_nothing_per_vote(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    const SOCKETS: usize = 1_000;
    const VOTES: usize = 40;
    let (app, reads) = counted_postgres_app(&connect).await;
    let server = TestServer::with_app(app.max_sockets_per_client(0)).await;
    let (id, _) = poll_with(&server, "after_close").await;

    // What the votes cost by themselves, with no socket watching.
    let before = gate_reads(&reads);
    votes_by_others(&server, &id, VOTES).await;
    settle().await;
    let votes_alone = gate_reads(&reads) - before;

    let before = gate_reads(&reads);
    let mut sockets = Vec::with_capacity(SOCKETS);
    for _ in 0..SOCKETS / 50 {
        let batch = futures_util::future::join_all(
            (0..50).map(|_| open_from(server.addr(), &id, "127.0.0.1", &[])),
        )
        .await;
        for socket in batch {
            let mut socket = socket.expect("the socket opens");
            assert_hidden(&next_message(&mut socket).await, "after_close");
            sockets.push(socket);
        }
    }
    let opening = gate_reads(&reads) - before;

    let before = gate_reads(&reads);
    votes_by_others(&server, &id, VOTES).await;
    settle().await;
    let votes_watched = gate_reads(&reads) - before;
    eprintln!(
        "{VOTES} votes alone: {votes_alone} reads; opening {SOCKETS} sockets: {opening}; \
         {VOTES} votes watched by them: {votes_watched}"
    );
    // The handshake reads the poll (404 before the upgrade), and the gate
    // again once the socket hears its events, so that a close in between
    // is not missed.
    assert!(
        opening <= 2 * SOCKETS + 10,
        "opening costs a bounded number of reads per socket: {opening}"
    );
    assert!(
        votes_watched <= votes_alone + 5,
        "{VOTES} votes under {SOCKETS} hidden sockets cost {votes_watched} reads, \
         {votes_alone} without them"
    );
    for socket in &mut sockets[..10] {
        assert_no_message(socket, Duration::from_millis(10)).await;
    }
    for mut socket in sockets {
        socket.close(None).await.ok();
    }
}

// ----------------------------------------------------------------- after_vote

#[sqlx::test]
async fn an_after_vote_socket_opens_on_its_voters_vote_on_another_replica_and_on_nobody_elses(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    // Two replicas on one database, events through LISTEN/NOTIFY.
    let (first, _) = counted_postgres_app(&connect).await;
    let (second, reads) = counted_postgres_app(&connect).await;
    let first = TestServer::with_app(first).await;
    let second = TestServer::with_app(second).await;
    let (id, _) = poll_with(&first, "after_vote").await;

    let (voter, cookie) = voter_with_cookie(&first, &id).await;
    let (_bystander, bystander_cookie) = voter_with_cookie(&first, &id).await;
    let mut watching = open_as(second.addr(), &id, &cookie).await;
    assert_hidden(&next_message(&mut watching).await, "after_vote");
    let mut bystander = open_as(second.addr(), &id, &bystander_cookie).await;
    assert_hidden(&next_message(&mut bystander).await, "after_vote");

    // Others vote, on the first replica: no socket of the second asks.
    let before = gate_reads(&reads);
    votes_by_others(&first, &id, 20).await;
    settle().await;
    let others = gate_reads(&reads) - before;
    assert_no_message(&mut watching, Duration::from_millis(100)).await;
    assert_no_message(&mut bystander, Duration::from_millis(100)).await;
    assert_eq!(others, 0, "20 votes of others cost {others} reads");

    // The voter votes on the first replica, in another tab: its socket on
    // the second shows the counts, with its vote, by itself.
    voter.vote(&id, &[1]).await.assert_json(201);
    let snapshot = next_message(&mut watching).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["results"]["total"], 21);
    let asked = gate_reads(&reads) - before;
    assert!(asked <= 2, "only the voter's socket asked: {asked} reads");
    assert_no_message(&mut bystander, Duration::from_millis(300)).await;

    // Once known to have voted, a new socket of the voter sees at once.
    let mut again = open_as(second.addr(), &id, &cookie).await;
    assert_eq!(next_message(&mut again).await["type"], "snapshot");
    for socket in [watching, bystander, again] {
        let mut socket = socket;
        socket.close(None).await.ok();
    }
}

// ---------------------------------------------------------------------- flood

#[sqlx::test]
async fn a_flood_of_recheck_and_manage_messages_is_answered_once_per_interval(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (app, reads) = counted_postgres_app(&connect).await;
    // Room for the flood: the frame cap is not what this test is about.
    let config = SocketConfig::default().max_incoming_per_sec(1_000);
    let server = TestServer::with_app(app.socket_config(config)).await;
    let (id, _) = poll_with(&server, "after_close").await;
    let mut socket = open_from(server.addr(), &id, "127.0.0.1", &[])
        .await
        .unwrap();
    assert_hidden(&next_message(&mut socket).await, "after_close");

    let before = gate_reads(&reads);
    let started = tokio::time::Instant::now();
    for i in 0..100 {
        let message = if i % 2 == 0 {
            r#"{"type":"recheck"}"#.to_owned()
        } else {
            format!(r#"{{"type":"manage","token":"guess-{i}"}}"#)
        };
        socket.send(Message::text(message)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    settle().await;
    let elapsed = started.elapsed();
    let reads = gate_reads(&reads) - before;
    let intervals = elapsed.as_millis() / SocketConfig::DEFAULT_RECHECK_INTERVAL.as_millis();
    let most = usize::try_from(intervals).unwrap() + 2;
    eprintln!("100 messages in {elapsed:?}: {reads} reads, at most {most}");
    assert!(
        reads <= most,
        "100 messages in {elapsed:?} cost {reads} reads, at most {most}"
    );
    assert_no_message(&mut socket, Duration::from_millis(50)).await;
    socket.close(None).await.ok();
}

// ------------------------------------------------------------ per-client cap

#[tokio::test(flavor = "multi_thread")]
async fn one_address_may_open_only_its_share_of_sockets_and_another_is_unaffected() {
    let server = TestServer::with_app(App::builder().max_sockets_per_client(2).build()).await;
    let (id, _) = poll_with(&server, "always").await;
    let addr = server.addr();
    let mut first = open_from(addr, &id, "127.0.0.1", &[]).await.unwrap();
    let _second = open_from(addr, &id, "127.0.0.1", &[]).await.unwrap();
    // Claiming another client is worth nothing from an untrusted peer.
    let spoofed = [("x-forwarded-for", "203.0.113.9".to_owned())];
    let refused = open_from(addr, &id, "127.0.0.1", &spoofed)
        .await
        .unwrap_err();
    assert_eq!(
        handshake_refusal(refused),
        (503, "too_many_sockets".to_owned())
    );
    // Another address is unaffected.
    let _other = open_from(addr, &id, "127.0.0.2", &[])
        .await
        .expect("another address opens its own sockets");

    // A socket leaving gives its place back.
    assert_eq!(next_message(&mut first).await["type"], "snapshot");
    first.close(None).await.ok();
    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match open_from(addr, &id, "127.0.0.1", &[]).await {
            Ok(_) => break,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => panic!("the freed place stays taken: {error}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_a_trusted_proxy_the_forwarded_client_is_what_the_cap_counts() {
    let limits = RequestLimits {
        trusted_proxies: "127.0.0.1".parse::<TrustedProxies>().unwrap(),
        ..RequestLimits::default()
    };
    let app = App::builder()
        .limits(limits)
        .max_sockets_per_client(2)
        .build();
    let server = TestServer::with_app(app).await;
    let (id, _) = poll_with(&server, "always").await;
    let addr = server.addr();
    let hall = [("x-forwarded-for", "203.0.113.1".to_owned())];
    let _a = open_from(addr, &id, "127.0.0.1", &hall).await.unwrap();
    let _b = open_from(addr, &id, "127.0.0.1", &hall).await.unwrap();
    let refused = open_from(addr, &id, "127.0.0.1", &hall).await.unwrap_err();
    assert_eq!(
        handshake_refusal(refused),
        (503, "too_many_sockets".to_owned())
    );
    // Another client behind the same proxy is unaffected.
    let elsewhere = [("x-forwarded-for", "203.0.113.2".to_owned())];
    open_from(addr, &id, "127.0.0.1", &elsewhere)
        .await
        .expect("another forwarded client opens its own sockets");
    let _c = open_from(addr, &id, "127.0.0.1", &[])
        .await
        .expect("the proxy's own address is a client of its own");
}

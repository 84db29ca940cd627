//! Live results over real WebSockets (tokio-tungstenite as the browser):
//! snapshot then rising versions, refusals before the upgrade, the socket
//! cap, and shutdown closing sockets with 1001.

use crate::common;
use std::net::SocketAddr;
use std::time::Duration;

use crate::common::{
    assert_hidden, assert_no_message, create_poll, draft, handshake_refusal, id_of, next_message,
    voter_with_cookie, Socket, TestServer,
};
use futures_util::{SinkExt, StreamExt};
use polling_server::{AllowedOrigins, App};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

/// Opens `/api/polls/{poll}/live` on `addr` as a page of `origin` would.
async fn open(
    addr: SocketAddr,
    poll: &str,
    origin: Option<&str>,
) -> Result<Socket, tungstenite::Error> {
    let mut request = format!("ws://{addr}/api/polls/{poll}/live")
        .into_client_request()
        .expect("a valid WebSocket URL");
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().expect("a header value"));
    }
    let (socket, response) = tokio_tungstenite::connect_async(request).await?;
    assert_eq!(response.status(), 101);
    Ok(socket)
}

/// Opens a socket from the server's own origin.
async fn open_same_origin(addr: SocketAddr, poll: &str) -> Socket {
    open(addr, poll, Some(&format!("http://{addr}")))
        .await
        .expect("a same-origin socket opens")
}

/// The code of the close frame the socket gets next (skipping messages).
async fn close_code(socket: &mut Socket) -> u16 {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next()).await {
            Ok(Some(Ok(Message::Close(Some(frame))))) => return u16::from(frame.code),
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_socket_gets_a_snapshot_then_rising_results_up_to_the_final_count() {
    let server = TestServer::start().await;
    let (poll, _) = create_poll(&server.client(), draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);
    let mut socket = open_same_origin(server.addr(), &id).await;

    let first = next_message(&mut socket).await;
    assert_eq!(first["type"], "snapshot");
    assert_eq!(first["results"]["version"], 0);

    const VOTES: u64 = 12;
    for n in 0..VOTES {
        server
            .client()
            .vote(&id, &[u32::try_from(n % 2).unwrap()])
            .await
            .assert_json(201);
    }
    let mut last = 0;
    while last < VOTES {
        let message = next_message(&mut socket).await;
        assert_eq!(message["type"], "results");
        let version = message["results"]["version"].as_u64().unwrap();
        assert!(version > last, "versions only rise: {version} after {last}");
        last = version;
    }
    let counts = &next_results_of(&server, &id).await["counts"];
    assert_eq!(counts[0]["votes"], 6);
    assert_eq!(counts[1]["votes"], 6);
    socket.close(None).await.ok();
}

async fn next_results_of(server: &TestServer, id: &str) -> Value {
    server
        .client()
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200)
}

#[tokio::test]
async fn a_foreign_origin_is_refused_with_403_before_the_upgrade() {
    let server = TestServer::start().await;
    let (poll, _) = create_poll(&server.client(), draft(&["a", "b"])).await;
    let error = open(server.addr(), &id_of(&poll), Some("https://evil.example"))
        .await
        .expect_err("a foreign page is refused");
    assert_eq!(
        handshake_refusal(error),
        (403, "forbidden_origin".to_owned())
    );
}

#[tokio::test]
async fn listed_origins_may_connect_and_others_may_not() {
    let origins: AllowedOrigins = "https://polls.example".parse().unwrap();
    let server = TestServer::with_app(App::builder().allowed_origins(origins).build()).await;
    let (poll, _) = create_poll(&server.client(), draft(&["a", "b"])).await;
    let id = id_of(&poll);
    let mut socket = open(server.addr(), &id, Some("https://polls.example"))
        .await
        .expect("a listed origin connects");
    assert_eq!(next_message(&mut socket).await["type"], "snapshot");
    let error = open(server.addr(), &id, Some("https://other.example"))
        .await
        .expect_err("an unlisted origin is refused");
    assert_eq!(handshake_refusal(error).0, 403);
}

#[tokio::test]
async fn unknown_polls_are_404_and_plain_requests_426_before_any_upgrade() {
    let server = TestServer::start().await;
    let unknown = polling_core::PollId::generate().to_string();
    let error = open(server.addr(), &unknown, None)
        .await
        .expect_err("no such poll");
    assert_eq!(handshake_refusal(error), (404, "not_found".to_owned()));

    let (poll, _) = create_poll(&server.client(), draft(&["a", "b"])).await;
    let plain = server
        .client()
        .get(&format!("/api/polls/{}/live", id_of(&poll)))
        .await;
    plain.assert_error(426, "upgrade_required");
    assert_eq!(plain.header("upgrade"), Some("websocket"));
}

#[tokio::test]
async fn the_socket_cap_refuses_with_503_until_a_socket_leaves() {
    let server = TestServer::with_app(App::builder().max_sockets(1).build()).await;
    let (poll, _) = create_poll(&server.client(), draft(&["a", "b"])).await;
    let id = id_of(&poll);
    let mut first = open_same_origin(server.addr(), &id).await;
    assert_eq!(next_message(&mut first).await["type"], "snapshot");

    let error = open(server.addr(), &id, None)
        .await
        .expect_err("over the cap");
    assert_eq!(
        handshake_refusal(error),
        (503, "too_many_sockets".to_owned())
    );

    first.close(None).await.unwrap();
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(socket) = open(server.addr(), &id, None).await {
            reopened = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut socket = reopened.expect("a freed place is taken again");
    assert_eq!(next_message(&mut socket).await["type"], "snapshot");
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_closes_every_socket_with_1001() {
    let mut server = TestServer::start().await;
    let (poll, _) = create_poll(&server.client(), draft(&["a", "b"])).await;
    let id = id_of(&poll);
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let mut socket = open_same_origin(server.addr(), &id).await;
        assert_eq!(next_message(&mut socket).await["type"], "snapshot");
        sockets.push(socket);
    }

    let stopped = server.shutdown();
    for socket in &mut sockets {
        let frame = loop {
            match tokio::time::timeout(Duration::from_secs(5), socket.next()).await {
                Ok(Some(Ok(Message::Close(frame)))) => break frame,
                Ok(Some(Ok(_))) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        };
        let frame = frame.expect("a close frame with a code");
        assert_eq!(u16::from(frame.code), 1001);
    }
    tokio::time::timeout(Duration::from_secs(5), stopped)
        .await
        .expect("the server stops")
        .unwrap();
}

#[tokio::test]
async fn a_client_message_over_the_cap_closes_the_socket_with_1009() {
    let server = TestServer::start().await;
    let (poll, _) = create_poll(&server.client(), draft(&["a", "b"])).await;
    let mut socket = open_same_origin(server.addr(), &id_of(&poll)).await;
    assert_eq!(next_message(&mut socket).await["type"], "snapshot");

    socket.send(Message::text("x".repeat(2000))).await.unwrap();
    let code = close_code(&mut socket).await;
    assert_eq!(code, 1009);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_poll_closes_its_live_sockets_with_4404() {
    let server = TestServer::start().await;
    let owner = server.client();
    let (poll, token) = create_poll(&owner, draft(&["a", "b"])).await;
    let id = id_of(&poll);
    let mut socket = open_same_origin(server.addr(), &id).await;
    assert_eq!(next_message(&mut socket).await["type"], "snapshot");

    let deleted = owner
        .send(common::Request::delete(format!("/api/polls/{id}")).bearer(&token))
        .await;
    assert_eq!(deleted.status.as_u16(), 204);
    let code = close_code(&mut socket).await;
    assert_eq!(code, 4404);
}

#[tokio::test]
async fn a_client_flooding_its_socket_with_messages_is_cut_off_with_1008() {
    let server = TestServer::start().await;
    let (poll, _) = create_poll(&server.client(), draft(&["a", "b"])).await;
    let mut socket = open_same_origin(server.addr(), &id_of(&poll)).await;
    assert_eq!(next_message(&mut socket).await["type"], "snapshot");

    // Far more than the default 10 messages a second, each small.
    for _ in 0..100 {
        if socket.send(Message::text("hi")).await.is_err() {
            break;
        }
    }
    let code = close_code(&mut socket).await;
    assert_eq!(code, 1008);
    // The server goes on serving everyone else.
    server.client().get("/healthz").await.assert_json(200);
}

// ---------------------------------------------------------------- visibility

/// Opens a same-origin socket as the voter whose cookie is `voter`.
async fn open_as(addr: SocketAddr, poll: &str, voter: &str) -> Socket {
    let mut request = format!("ws://{addr}/api/polls/{poll}/live")
        .into_client_request()
        .expect("a valid WebSocket URL");
    let headers = request.headers_mut();
    headers.insert("origin", format!("http://{addr}").parse().unwrap());
    headers.insert(
        "cookie",
        format!("{}={voter}", common::VOTER_COOKIE).parse().unwrap(),
    );
    let (socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the socket opens");
    assert_eq!(response.status(), 101);
    socket
}

#[tokio::test(flavor = "multi_thread")]
async fn an_after_vote_subscriber_gets_no_counts_before_voting_and_a_snapshot_right_after() {
    let server = TestServer::start().await;
    let draft = serde_json::json!({
        "question": "Lunch?", "options": ["pizza", "salad"], "visibility": "after_vote"
    });
    let (poll, _) = create_poll(&server.client(), draft).await;
    let id = id_of(&poll);
    let (voter, cookie) = voter_with_cookie(&server, &id).await;
    let mut socket = open_as(server.addr(), &id, &cookie).await;
    assert_hidden(&next_message(&mut socket).await, "after_vote");

    server.client().vote(&id, &[0]).await.assert_json(201);
    server.client().vote(&id, &[0]).await.assert_json(201);
    assert_no_message(&mut socket, Duration::from_millis(500)).await;

    // The voter's own vote flips the socket by itself (no recheck sent).
    let started = tokio::time::Instant::now();
    voter.vote(&id, &[1]).await.assert_json(201);
    let snapshot = next_message(&mut socket).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["results"]["version"], 3);
    assert_eq!(snapshot["results"]["counts"][1]["votes"], 1);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the snapshot came {:?} after the vote",
        started.elapsed()
    );
    server.client().vote(&id, &[1]).await.assert_json(201);
    let next = next_message(&mut socket).await;
    assert_eq!(next["type"], "results");
    assert_eq!(next["results"]["version"], 4);

    // A recheck right after voting gets the snapshot at once.
    let (late, cookie) = voter_with_cookie(&server, &id).await;
    let mut socket = open_as(server.addr(), &id, &cookie).await;
    assert_hidden(&next_message(&mut socket).await, "after_vote");
    late.vote(&id, &[0]).await.assert_json(201);
    socket
        .send(Message::text(r#"{"type":"recheck"}"#))
        .await
        .unwrap();
    let snapshot = next_message(&mut socket).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["results"]["total"], 5);
    socket.close(None).await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_after_close_subscriber_sees_counts_when_the_owner_closes_or_as_the_owner() {
    let server = TestServer::start().await;
    let draft = serde_json::json!({
        "question": "Lunch?", "options": ["pizza", "salad"], "visibility": "after_close"
    });
    let (poll, token) = create_poll(&server.client(), draft).await;
    let id = id_of(&poll);
    let (voter, cookie) = voter_with_cookie(&server, &id).await;
    let mut socket = open_as(server.addr(), &id, &cookie).await;
    assert_hidden(&next_message(&mut socket).await, "after_close");

    voter.vote(&id, &[1]).await.assert_json(201);
    socket
        .send(Message::text(r#"{"type":"recheck"}"#))
        .await
        .unwrap();
    assert_no_message(&mut socket, Duration::from_millis(500)).await;

    // The owner's page presents the manage token in a message.
    let mut owner = open_same_origin(server.addr(), &id).await;
    assert_hidden(&next_message(&mut owner).await, "after_close");
    owner
        .send(Message::text(
            r#"{"type":"manage","token":"not-the-token"}"#,
        ))
        .await
        .unwrap();
    assert_no_message(&mut owner, Duration::from_millis(300)).await;
    owner
        .send(Message::text(format!(
            r#"{{"type":"manage","token":"{token}"}}"#
        )))
        .await
        .unwrap();
    let snapshot = next_message(&mut owner).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["results"]["counts"][1]["votes"], 1);
    assert_no_message(&mut socket, Duration::from_millis(100)).await;

    // Closing flips every hidden socket.
    server
        .client()
        .send(
            common::Request::post(format!("/api/polls/{id}/close"))
                .header("authorization", format!("Bearer {token}")),
        )
        .await
        .assert_json(200);
    let snapshot = next_message(&mut socket).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["results"]["version"], 1);
    assert_eq!(snapshot["results"]["counts"][1]["votes"], 1);
    socket.close(None).await.ok();
}

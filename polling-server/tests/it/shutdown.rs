//! SIGTERM to the real `polling-server` binary under a load of votes: it
//! stops accepting at once, finishes the votes in flight (each acknowledged
//! vote is committed), closes live sockets with 1001 (going away), and
//! exits within its shutdown grace.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::process::ServerProcess;
use crate::common::{create_poll, database_url, draft, id_of, Client, Request, TestServer};
use bytes::Bytes;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use polling_server::{Backends, Config};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// `POLLING_SHUTDOWN_GRACE` of the server under test.
const GRACE: Duration = Duration::from_secs(5);

/// What one lane's voter got: acknowledged, refused, or no answer (the
/// connection was refused or cut).
#[derive(Debug)]
enum Answer {
    Status(u16),
    NoAnswer,
}

#[sqlx::test]
async fn sigterm_under_load_commits_every_acknowledged_vote_closes_sockets_1001_and_exits_in_time(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let database = database_url(&connect, connect.get_port());
    let mut server = ServerProcess::start(&[
        ("DATABASE_URL", database.clone()),
        ("POLLING_SHUTDOWN_GRACE", format!("{}s", GRACE.as_secs())),
        // Every voter here comes from 127.0.0.1.
        ("POLLING_RATE_LIMIT_VOTES", "0".to_owned()),
    ])
    .await;
    let addr = server.addr;
    let (poll, _) = create_poll(&Client::new(addr), draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);

    let mut sockets = Vec::new();
    for _ in 0..3 {
        let url = format!("ws://{addr}/api/polls/{id}/live");
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let first = socket.next().await.unwrap().unwrap();
        assert!(first.to_text().unwrap().contains("snapshot"), "{first:?}");
        sockets.push(socket);
    }

    // A vote in flight across the signal: its headers and half its body
    // are sent before SIGTERM, the rest after.
    let (body, chunks) = mpsc::channel::<Bytes>(1);
    body.send(Bytes::from_static(b"{\"choices\":"))
        .await
        .unwrap();
    let in_flight_voter = Client::new(addr);
    let in_flight = {
        let request = Request::post(format!("/api/polls/{id}/votes"))
            .header("content-type", "application/json")
            .streamed(chunks);
        let voter = in_flight_voter.clone();
        tokio::spawn(async move { voter.try_send(request).await })
    };

    // Eight lanes of new voters, until the server stops answering.
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Mutex::new(Vec::<(Client, Answer)>::new()));
    let lanes: Vec<_> = (0..8)
        .map(|_| {
            let (stop, answers, id) = (Arc::clone(&stop), Arc::clone(&answers), id.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let voter = Client::new(addr);
                    let request = Request::post(format!("/api/polls/{id}/votes"))
                        .json(&serde_json::json!({ "choices": [0] }));
                    let answer = match voter.try_send(request).await {
                        Ok(response) => Answer::Status(response.status.as_u16()),
                        Err(_) => Answer::NoAnswer,
                    };
                    let refused = matches!(answer, Answer::NoAnswer);
                    answers.lock().unwrap().push((voter, answer));
                    if refused {
                        break;
                    }
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(500)).await;
    server.terminate();
    let signalled = Instant::now();

    // New connections are refused at once.
    let mut refused = false;
    while signalled.elapsed() < Duration::from_secs(1) {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        refused,
        "new connections were still accepted 1 s after SIGTERM"
    );

    // The vote in flight finishes and is acknowledged.
    body.send(Bytes::from_static(b"[1]}")).await.unwrap();
    drop(body);
    let answer = tokio::time::timeout(GRACE, in_flight)
        .await
        .expect("the vote in flight was answered within the grace")
        .unwrap()
        .expect("the vote in flight was answered, not cut");
    assert_eq!(answer.status.as_u16(), 201, "{:?}", answer.body);

    // Every live socket is closed with 1001.
    for socket in &mut sockets {
        let close = loop {
            match tokio::time::timeout(GRACE, socket.next()).await {
                Ok(Some(Ok(Message::Ping(payload)))) => {
                    let _ = socket.send(Message::Pong(payload)).await;
                }
                Ok(Some(Ok(Message::Close(frame)))) => break frame,
                Ok(Some(Ok(_))) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        };
        assert_eq!(close.map(|f| u16::from(f.code)), Some(1001));
    }

    let status = server
        .exited_within(GRACE + Duration::from_secs(2))
        .await
        .expect("the server exited within its grace + 2 s");
    let exited_after = signalled.elapsed();
    assert!(status.success(), "exit status {status}");
    stop.store(true, Ordering::SeqCst);
    for lane in lanes {
        lane.await.unwrap();
    }

    // Every acknowledged vote was committed: read back through a new server
    // on the same database, each such voter's replay finds its ballot.
    let config = Config::try_parse_from(["polling-server", "--database-url", &database]).unwrap();
    let backends = Backends::connect(&config).await.expect("backends connect");
    let after = TestServer::with_app(backends.into_builder().build()).await;
    let answers = std::mem::take(&mut *answers.lock().unwrap());
    let acknowledged: Vec<&Client> = answers
        .iter()
        .filter_map(|(voter, answer)| matches!(answer, Answer::Status(201)).then_some(voter))
        .collect();
    let unexpected: Vec<&Answer> = answers
        .iter()
        .map(|(_, answer)| answer)
        .filter(|answer| !matches!(answer, Answer::Status(201) | Answer::NoAnswer))
        .collect();
    assert!(
        unexpected.is_empty(),
        "answers other than 201: {unexpected:?}"
    );
    assert!(
        acknowledged.len() > 10,
        "the load voted: {}",
        acknowledged.len()
    );
    for voter in acknowledged.iter().copied().chain([&in_flight_voter]) {
        let replay = voter.at(after.addr()).vote(&id, &[0]).await;
        if voter.voter_id() == in_flight_voter.voter_id() {
            // Its ballot was [1]: the same voter with another ballot.
            replay.assert_error(409, "already_voted");
        } else {
            assert_eq!(replay.status.as_u16(), 200, "an acknowledged vote was lost");
        }
    }
    let results = after
        .client()
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);
    let counted = results["counts"][0]["votes"].as_u64().unwrap() as usize;
    assert!(
        counted >= acknowledged.len() && counted <= answers.len(),
        "{counted} counted, {} acknowledged, {} attempted",
        acknowledged.len(),
        answers.len()
    );
    assert_eq!(results["counts"][1]["votes"], 1, "the vote in flight");
    eprintln!(
        "sigterm: {} votes acknowledged before the listener closed, {} attempts unanswered, \
         exited {exited_after:?} after SIGTERM (grace {GRACE:?})",
        acknowledged.len(),
        answers.len() - acknowledged.len(),
    );
}

//! `GET /readyz` under a flood, on PostgreSQL with a small pool: the
//! readiness checks share one query at a time, so votes keep their
//! connections.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{create_poll, database_url, draft, id_of, TestServer};
use polling_core::testing::{CountingStore, StoreMethod};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Readiness requests in flight at once.
const FLOOD: usize = 500;

/// 500 readiness requests at a time, again and again, while 60 voters vote
/// on a server whose pool has two connections and waits 100 ms for one:
/// every vote is counted, every readiness answer is 200, and the store saw
/// one readiness query at a time, about one per second.
#[sqlx::test]
async fn a_flood_of_readiness_checks_takes_no_connections_from_votes(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    use clap::Parser;
    let url = database_url(&connect, connect.get_port());
    let config = polling_server::Config::try_parse_from([
        "polling-server",
        "--database-url",
        &url,
        "--database-pool-size",
        "2",
        // Generous, so that a loaded machine's scheduling cannot refuse a
        // vote: that readiness never holds more than one of the two
        // connections is asserted directly below (`peak`), whatever the time.
        "--database-acquire-timeout",
        "2s",
        "--startup-timeout",
        "5s",
    ])
    .unwrap();
    let mut backends = polling_server::Backends::connect(&config).await.unwrap();
    // `list` is what `/readyz` asks the store.
    let store = CountingStore::new(Arc::clone(&backends.store));
    backends.store = Arc::new(store.clone());
    let server = TestServer::with_app(backends.into_builder().build()).await;
    let owner = server.client();
    let (poll, _) = create_poll(&owner, draft(&["a", "b"])).await;
    let id = id_of(&poll);

    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut flood = Vec::new();
    for _ in 0..FLOOD {
        let addr = server.addr();
        let (stop, answered) = (Arc::clone(&stop), Arc::clone(&answered));
        flood.push(tokio::spawn(async move {
            // One kept-alive connection per task: 500 sockets, not one per
            // request (the machine's ephemeral ports).
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(connection);
            let mut statuses = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                sender.ready().await.unwrap();
                let request = hyper::Request::get("/readyz")
                    .header(hyper::header::HOST, addr.to_string())
                    .body(http_body_util::Empty::<bytes::Bytes>::new())
                    .unwrap();
                let response = sender.send_request(request).await.unwrap();
                statuses.push(response.status().as_u16());
                http_body_util::BodyExt::collect(response.into_body())
                    .await
                    .unwrap();
                answered.fetch_add(1, Ordering::SeqCst);
            }
            statuses
        }));
    }
    // Votes start once the flood is under way.
    while answered.load(Ordering::SeqCst) < FLOOD {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut refused = Vec::new();
    for i in 0..60 {
        let response = server.client().vote(&id, &[i % 2]).await;
        if response.status.as_u16() != 201 {
            refused.push((response.status.as_u16(), response.error_code()));
        }
    }
    stop.store(true, Ordering::SeqCst);
    let mut statuses = Vec::new();
    for task in flood {
        statuses.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    assert!(
        refused.is_empty(),
        "{} of 60 votes refused: {refused:?}",
        refused.len()
    );
    let not_ready = statuses.iter().filter(|s| **s != 200).count();
    assert_eq!(not_ready, 0, "readiness answers not 200");
    let readiness = statuses.len();
    let total = owner
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200)["total"]
        .as_u64();
    assert_eq!(total, Some(60));

    let calls = store.calls(StoreMethod::List);
    eprintln!("{readiness} readiness answers from {calls} store checks in {elapsed:?}");
    assert_eq!(
        store.peak(StoreMethod::List),
        1,
        "one readiness check at a time"
    );
    assert!(
        calls as u64 <= elapsed.as_secs() + 2,
        "{calls} store checks in {elapsed:?}: at most one a second"
    );
    assert!(readiness >= 2 * FLOOD, "{readiness} readiness answers");
}

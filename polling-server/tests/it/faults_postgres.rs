//! PostgreSQL stopped for real while voters vote: a cluster of the test's
//! own is stopped (`pg_ctl stop -m immediate`, as a crash) during the votes
//! and started again on its port. Every vote is answered either 201 or 503
//! `unavailable` with `Retry-After`, never a 500 and never later than the
//! configured backend timeout; every acknowledged vote is in the
//! store afterwards; and the same server takes votes again once the
//! database is back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{create_poll, draft, id_of, Client, TestServer};
use clap::Parser;
use polling_server::{Backends, Config, RequestLimits};
use polling_testkit::PgCluster;
use tokio::time::Instant;

/// `--database-acquire-timeout`: how long a request waits for a connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(500);

/// `--backend-timeout`: the most a vote may take through the backends. A
/// ballot may queue behind the batch in flight, each waiting up to the
/// acquire timeout: this bounds the sum.
const BACKEND_TIMEOUT: Duration = Duration::from_millis(700);

/// Scheduling on a busy two-core machine, and the HTTP exchange itself.
const MARGIN: Duration = Duration::from_millis(500);

/// One voter's attempt: its client (its cookie) and the status it got.
struct Attempt {
    voter: Client,
    status: u16,
    took: Duration,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_during_votes_answers_503_in_time_and_recovers_without_a_restart() {
    let mut pg = tokio::task::spawn_blocking(PgCluster::start).await.unwrap();
    let config = Config::try_parse_from([
        "polling-server",
        "--database-url",
        &pg.url(),
        "--database-pool-size",
        "4",
        "--database-acquire-timeout",
        &format!("{}ms", ACQUIRE_TIMEOUT.as_millis()),
        "--database-statement-timeout",
        "1s",
        "--backend-timeout",
        &format!("{}ms", BACKEND_TIMEOUT.as_millis()),
        "--startup-timeout",
        "10s",
    ])
    .unwrap();
    let backends = Backends::connect(&config).await.expect("backends connect");
    // The configured backend timeout; no rate limit (every voter here is 127.0.0.1).
    let limits = RequestLimits {
        backend_timeout: config.limits().backend_timeout,
        ..RequestLimits::default()
    };
    let server = TestServer::with_app(backends.into_builder().limits(limits).build()).await;
    let (poll, _) = create_poll(&server.client(), draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);

    // Voters vote, one new voter after another, on four lanes, until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let attempts = Arc::new(Mutex::new(Vec::<Attempt>::new()));
    let lanes: Vec<_> = (0..4)
        .map(|_| {
            let (stop, attempts, id, addr) = (
                Arc::clone(&stop),
                Arc::clone(&attempts),
                id.clone(),
                server.addr(),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let voter = Client::new(addr);
                    let started = Instant::now();
                    let answer = voter.vote(&id, &[0]).await;
                    let took = started.elapsed();
                    let status = answer.status.as_u16();
                    if status != 201 {
                        answer.assert_error(503, "unavailable");
                        assert!(
                            answer.header("retry-after").is_some(),
                            "503 without Retry-After"
                        );
                    }
                    attempts.lock().unwrap().push(Attempt {
                        voter,
                        status,
                        took,
                    });
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(400)).await;
    pg = tokio::task::spawn_blocking(move || {
        pg.stop();
        pg
    })
    .await
    .unwrap();
    let stopped_at = Instant::now();
    // Votes go on against the stopped database for a while.
    let refused = server.client();
    let started = Instant::now();
    refused
        .vote(&id, &[1])
        .await
        .assert_error(503, "unavailable");
    let refusal_took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let ready = server.client().get("/readyz").await;
    assert_eq!(ready.status.as_u16(), 503, "not ready without the store");

    pg = tokio::task::spawn_blocking(move || {
        pg.restart();
        pg
    })
    .await
    .unwrap();
    let restarted_at = Instant::now();
    // The same server takes votes again.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if server.client().vote(&id, &[1]).await.status.as_u16() == 201 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no vote accepted 15 s after PostgreSQL returned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recovered_after = restarted_at.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    for lane in lanes {
        lane.await
            .expect("every answer was 201 or 503 unavailable with Retry-After");
    }

    let attempts = std::mem::take(&mut *attempts.lock().unwrap());
    let acknowledged = attempts.iter().filter(|a| a.status == 201).count();
    let unavailable: Vec<&Attempt> = attempts.iter().filter(|a| a.status == 503).collect();
    assert!(
        acknowledged > 0,
        "votes were accepted before and after the outage"
    );
    assert!(
        !unavailable.is_empty(),
        "votes were refused during the outage"
    );
    let slowest = attempts.iter().map(|a| a.took).max().unwrap();
    assert!(
        slowest <= BACKEND_TIMEOUT + MARGIN,
        "an answer took {slowest:?}, over the backend timeout {BACKEND_TIMEOUT:?} + {MARGIN:?}"
    );
    let mut refusals: Vec<Duration> = unavailable.iter().map(|a| a.took).collect();
    refusals.sort();
    eprintln!(
        "postgres fault: {} attempts, {acknowledged} acknowledged, {} refused 503; \
         refusal latency median {:?}, max {:?} (acquire timeout {ACQUIRE_TIMEOUT:?}, backend timeout {BACKEND_TIMEOUT:?}); \
         a lone vote after the stop took {refusal_took:?}; votes accepted again \
         {recovered_after:?} after the restart (outage {:?})",
        attempts.len(),
        unavailable.len(),
        refusals[refusals.len() / 2],
        refusals.last().unwrap(),
        restarted_at - stopped_at,
    );

    // Every acknowledged vote is in the store: its voter's replay finds its
    // ballot (200, the original receipt) rather than casting a new one.
    for attempt in attempts.iter().filter(|a| a.status == 201) {
        let replay = attempt.voter.vote(&id, &[0]).await;
        assert_eq!(replay.status.as_u16(), 200, "an acknowledged vote was lost");
    }
    // A refused voter may try again; its vote counts once either way (a
    // refused vote may have committed just before the connection dropped).
    for attempt in &unavailable {
        let retry = attempt.voter.vote(&id, &[0]).await.status.as_u16();
        assert!(matches!(retry, 200 | 201), "retry answered {retry}");
    }
    let results = server
        .client()
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);
    assert_eq!(
        results["counts"][0]["votes"].as_u64(),
        Some(attempts.len() as u64),
        "each lane voter counted exactly once: {results}"
    );
    // The stack's metrics saw the refusals as unavailable votes.
    let metrics = server.client().get("/metrics").await;
    let metrics = String::from_utf8_lossy(&metrics.body);
    assert!(
        metrics.contains(r#"polling_votes_total{outcome="unavailable"}"#),
        "{metrics}"
    );
    drop(pg);
}

//! Votes answered as failures stay failures (issue 17): a vote change that
//! timed out while queued behind a locked poll is never committed later, so
//! the voter's last acknowledged ballot is the stored one on every replica;
//! and a poll whose queue is full sheds votes at once with 503 and
//! `Retry-After` instead of queueing them behind a slow database.
//!
//! The poll's row is held locked from a connection of the test, as a long
//! transaction elsewhere would hold it.

use std::time::Duration;

use crate::common::{create_poll, database_url, draft, id_of, Client, TestServer};
use clap::Parser;
use polling_server::{Backends, Config, RequestLimits};
use polling_testkit::wait_for_lock_waiters;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

/// A replica on the test's database, without Redis, with `extra` flags.
async fn replica(connect: &PgConnectOptions, limits: RequestLimits, extra: &[&str]) -> TestServer {
    let database = database_url(connect, connect.get_port());
    let mut args = vec![
        "polling-server",
        "--database-url",
        &database,
        "--startup-timeout",
        "5s",
    ];
    args.extend_from_slice(extra);
    let backends = Backends::connect(&Config::try_parse_from(args).unwrap())
        .await
        .expect("backends connect");
    TestServer::with_app(backends.into_builder().limits(limits).build()).await
}

/// Holds the poll's row lock until the returned connection commits.
async fn lock_poll(connect: &PgConnectOptions, id: &str) -> PgConnection {
    let mut locker = PgConnection::connect_with(connect).await.unwrap();
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query("SELECT 1 FROM polls WHERE id = $1::uuid FOR UPDATE")
        .bind(id)
        .execute(&mut locker)
        .await
        .unwrap();
    locker
}

/// The poll's version once it has stayed the same for a while: every
/// writer that was going to commit has.
async fn settled_version(pool: &PgPool, id: &str) -> i64 {
    let read = || async {
        sqlx::query_scalar::<_, i64>("SELECT version FROM polls WHERE id = $1::uuid")
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap()
    };
    let mut last = read().await;
    let mut stable = 0;
    while stable < 10 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = read().await;
        stable = if now == last { stable + 1 } else { 0 };
        last = now;
    }
    last
}

/// The voter's stored choices.
async fn stored_choices(pool: &PgPool, id: &str, voter: &str) -> Vec<i32> {
    sqlx::query_scalar("SELECT choices FROM ballots WHERE poll_id = $1::uuid AND voter_id = $2")
        .bind(id)
        .bind(voter)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn a_vote_change_answered_503_is_never_committed_and_the_last_acknowledged_one_is_stored(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    // Well below PostgreSQL's statement timeout (5 s), which would otherwise
    // cancel the waiting transaction first.
    let short = RequestLimits {
        backend_timeout: Duration::from_millis(500),
        ..RequestLimits::default()
    };
    let a = replica(&connect, short, &[]).await;
    let b = replica(&connect, RequestLimits::default(), &[]).await;
    let pool = options.connect_with(connect.clone()).await.unwrap();

    let mut poll = draft(&["red", "green", "blue"]);
    poll["allow_vote_change"] = json!(true);
    let (poll, _) = create_poll(&a.client(), poll).await;
    let id = id_of(&poll);
    let voter = Client::new(a.addr());
    voter.vote(&id, &[0]).await.assert_json(201);
    let voter_id = voter.voter_id().expect("the first vote sets the cookie");

    let locker = lock_poll(&connect, &id).await;
    // Another voter's batch takes A's writer and waits for the lock; the
    // change queues behind it, and both time out.
    let other = Client::new(a.addr());
    let other_vote = tokio::spawn(async move { other.vote(&id_of(&poll), &[2]).await.status });
    wait_for_lock_waiters(&pool, 1).await;
    let change = voter.vote(&id, &[1]).await;
    change.assert_error(503, "unavailable");
    assert!(change.header("retry-after").is_some());
    assert_eq!(other_vote.await.unwrap(), 503);

    sqlx::query("COMMIT")
        .execute(&mut { locker })
        .await
        .unwrap();
    settled_version(&pool, &id).await;
    assert_eq!(
        stored_choices(&pool, &id, &voter_id).await,
        vec![0],
        "the change answered 503 was committed later"
    );

    // The voter tries again on the other replica: that answer is the stored one.
    let again = voter.at(b.addr()).vote(&id, &[2]).await.assert_json(200);
    assert_eq!(again["receipt"]["choices"], json!([2]));
    settled_version(&pool, &id).await;
    assert_eq!(stored_choices(&pool, &id, &voter_id).await, vec![2]);
    let shown = a
        .client()
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);
    let red_green_blue: Vec<u64> = shown["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["votes"].as_u64().unwrap())
        .collect();
    assert_eq!(red_green_blue[1], 0, "no ballot for green: {shown}");
}

#[sqlx::test]
async fn a_poll_with_its_queue_full_sheds_votes_with_503_and_retry_after(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    const BOUND: usize = 4;
    const VOTERS: usize = 10;
    let bound = BOUND.to_string();
    let a = replica(
        &connect,
        RequestLimits::default(),
        &["--database-max-queued-votes", &bound],
    )
    .await;
    let pool = options.connect_with(connect.clone()).await.unwrap();
    let (poll, _) = create_poll(&a.client(), draft(&["yes", "no"])).await;
    let id = id_of(&poll);

    let locker = lock_poll(&connect, &id).await;
    let (done, mut answers) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..VOTERS {
        let (client, id, done) = (Client::new(a.addr()), id.clone(), done.clone());
        tokio::spawn(async move {
            let _ = done.send(client.vote(&id, &[0]).await);
        });
    }
    // Nothing commits while the row is locked (the backend timeout is 10 s):
    // the first answers are the votes shed beyond the bound.
    for _ in 0..VOTERS - BOUND {
        let shed = tokio::time::timeout(Duration::from_secs(8), answers.recv())
            .await
            .expect("votes beyond the bound are answered without waiting")
            .unwrap();
        shed.assert_error(503, "unavailable");
        assert!(shed.header("retry-after").is_some());
    }
    sqlx::query("COMMIT")
        .execute(&mut { locker })
        .await
        .unwrap();
    for _ in 0..BOUND {
        answers.recv().await.unwrap().assert_json(201);
    }
    assert_eq!(settled_version(&pool, &id).await, BOUND as i64);
}

//! `ballot_stream` on PostgreSQL: rows are read as the stream is polled, in
//! export order, and the connection goes back to the pool when the stream
//! is dropped midway.

use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use polling_core::testing::sample_poll;
use polling_core::{AnonymousBallot, PollStore};
use polling_store_postgres::PgPollStore;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Inserts `n` ballots into `poll` straight in SQL, spread over a few
/// minutes and over the choices `{0}`, `{1}`, `{0,1}`.
async fn insert_ballots(pool: &sqlx::PgPool, poll: &polling_core::Poll, n: i64) {
    sqlx::query(
        "INSERT INTO ballots (poll_id, voter_id, choices, cast_at, version) \
         SELECT $1, 'voter-' || i, \
                CASE i % 3 WHEN 0 THEN ARRAY[0] WHEN 1 THEN ARRAY[1] ELSE ARRAY[0, 1] END, \
                $2 - make_interval(secs => (i % 600)::double precision), i \
         FROM generate_series(1, $3) AS i",
    )
    .bind(poll.id.as_uuid())
    .bind(poll.created_at + time::Duration::minutes(20))
    .bind(n)
    .execute(pool)
    .await
    .expect("bulk ballots");
}

#[sqlx::test]
async fn the_stream_gives_every_row_in_export_order(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = options.connect_with(connect).await.unwrap();
    let store = PgPollStore::new(pool.clone());
    let poll = sample_poll(2, true, None);
    store.create(&poll).await.unwrap();
    insert_ballots(&pool, &poll, 5_000).await;
    let ballots: Vec<AnonymousBallot> = store
        .ballot_stream(poll.id)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ballots.len(), 5_000);
    let mut sorted = ballots.clone();
    sorted.sort();
    assert_eq!(
        ballots, sorted,
        "minute then choices, as AnonymousBallot orders"
    );
    assert!(ballots.iter().any(|b| b.marks.options().len() == 2));
}

#[sqlx::test]
async fn a_stream_dropped_midway_gives_its_connection_back(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = options
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(2))
        .connect_with(connect)
        .await
        .unwrap();
    let store = PgPollStore::new(pool.clone());
    let poll = sample_poll(2, true, None);
    store.create(&poll).await.unwrap();
    insert_ballots(&pool, &poll, 20_000).await;
    for _ in 0..3 {
        let mut stream = store.ballot_stream(poll.id).await.unwrap();
        stream.next().await.unwrap().unwrap();
        drop(stream);
        // The one connection is free again: a query gets it.
        store
            .results(poll.id)
            .await
            .expect("the pool's only connection is back");
    }
}

/// A consumer that stops taking ballots loses the connection after the
/// stall timeout (10 s): the pool's only connection serves another query,
/// and the stream, read on, ends with an error rather than as if the
/// ballots had ended.
#[sqlx::test]
async fn a_stalled_stream_gives_its_connection_back_and_ends_with_an_error(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = options
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(connect)
        .await
        .unwrap();
    let store = PgPollStore::new(pool.clone());
    let poll = sample_poll(2, true, None);
    store.create(&poll).await.unwrap();
    insert_ballots(&pool, &poll, 20_000).await;
    let mut stream = store.ballot_stream(poll.id).await.unwrap();
    stream.next().await.unwrap().unwrap();
    // The stream is held, not polled: the reader gives up its connection.
    store
        .results(poll.id)
        .await
        .expect("the pool's only connection is back");
    let mut taken = 1;
    let mut last = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(_) => taken += 1,
            Err(error) => {
                last = Some(error);
                break;
            }
        }
    }
    assert!(taken < 20_000, "the stalled reader stopped early");
    let error = last.expect("the stream ends with an error, not as if complete");
    assert_eq!(error.code(), "unavailable", "{error:?}");
    assert!(stream.next().await.is_none(), "nothing after the error");
}

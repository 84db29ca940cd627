//! What closing and reopening the file keeps: everything.

use polling_core::idempotency::{Begun, Claim, Fingerprint, IdempotencyStore, StoredResponse};
use polling_core::testing::{ballot, sample_method_poll, sample_poll};
use polling_core::{Ballot, Marks, Method, OptionId, PollStore, VoterId};
use polling_store_sqlite::{SqliteIdempotencyStore, SqlitePollStore};
use time::Duration;

use crate::common::TempDatabase;

#[tokio::test(flavor = "multi_thread")]
async fn polls_votes_and_keys_survive_closing_and_reopening_the_file() {
    let database = TempDatabase::new();
    let before = database.pool().await;
    let store = SqlitePollStore::new(before.clone());
    let plurality = sample_poll(2, false, None);
    let ranked = sample_method_poll(Method::Ranked, 3, true);
    store.create(&plurality).await.unwrap();
    store.create(&ranked).await.unwrap();
    let voter = VoterId::generate();
    let cast = store.cast(&ballot(&plurality, &voter, &[1])).await.unwrap();
    let ranking = Marks::ranking(vec![OptionId::new(2), OptionId::new(0)]).unwrap();
    let ranked_cast = store
        .cast(&Ballot::with_marks(ranked.id, voter.clone(), ranking))
        .await
        .unwrap();
    let closed = store
        .close(plurality.id, polling_core::now())
        .await
        .unwrap();

    let keys = SqliteIdempotencyStore::new(before.clone());
    let claim = Claim {
        key: "POST /api/polls key-1".into(),
        fingerprint: Fingerprint::of(b"{}"),
        at: polling_core::now(),
        lease: Duration::seconds(30),
    };
    let Begun::Fresh(lease) = keys.begin(&claim).await.unwrap() else {
        panic!("a new key is fresh")
    };
    let response = StoredResponse {
        status: 201,
        headers: vec![("location".into(), "/api/polls/1".into())],
        body: b"{\"id\":1}".to_vec(),
    };
    keys.complete(&lease, &response, claim.at + Duration::hours(1))
        .await
        .unwrap();
    drop((store, keys));
    before.close().await;
    assert!(database.path().is_file(), "the polls are in the file");

    let after = database.pool().await;
    let store = SqlitePollStore::new(after.clone());
    assert_eq!(store.get(plurality.id).await.unwrap(), closed);
    assert_eq!(store.get(ranked.id).await.unwrap(), ranked);
    let results = store.results(plurality.id).await.unwrap();
    assert_eq!(results, cast.results);
    assert_eq!(results.votes(OptionId::new(1)), Some(1));
    assert_eq!(
        store.results(ranked.id).await.unwrap(),
        ranked_cast.results,
        "the rankings and the runoff they give"
    );
    assert_eq!(
        store.ballot(plurality.id, &voter).await.unwrap(),
        Some(cast.receipt.clone())
    );
    let changed = Marks::ranking(vec![OptionId::new(0)]).unwrap();
    let change = store
        .cast(&Ballot::with_marks(ranked.id, voter.clone(), changed))
        .await
        .unwrap();
    assert!(
        change.is_changed() && change.results.version == 2,
        "a changed ballot after the restart replaces the one before it: {change:?}"
    );
    let keys = SqliteIdempotencyStore::new(after);
    assert_eq!(keys.begin(&claim).await.unwrap(), Begun::Replay(response));
}

#[tokio::test]
async fn a_file_database_runs_with_the_write_ahead_log_and_foreign_keys() {
    let database = TempDatabase::new();
    let pool = database.pool().await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(foreign_keys, 1);
    let busy_timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(busy_timeout, 5_000);
    // FULL: every commit syncs the log.
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(synchronous, 2);
}

#[tokio::test]
async fn migrating_an_up_to_date_file_again_changes_nothing() {
    let database = TempDatabase::new();
    let pool = database.pool().await;
    let store = SqlitePollStore::new(pool.clone());
    let poll = sample_poll(2, false, None);
    store.create(&poll).await.unwrap();
    polling_store_sqlite::migrate(&pool).await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        applied as usize,
        polling_store_sqlite::MIGRATOR.iter().count()
    );
    assert_eq!(store.get(poll.id).await.unwrap(), poll);
}

//! Many voters on one poll at once: exact counts, one receipt per voter, and
//! each caller's own outcome when ballots share a transaction.

use std::collections::BTreeSet;

use futures_util::future::join_all;
use polling_core::testing::{ballot, sample_poll};
use polling_core::{Ballot, CastOutcome, OptionId, Poll, PollStore, Result, VoterId};
use polling_store_postgres::{CastMode, PgPollStore};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

fn voter(name: &str) -> VoterId {
    VoterId::try_from(name.to_owned()).unwrap()
}

async fn cast_concurrently(store: &PgPollStore, ballots: Vec<Ballot>) -> Vec<Result<CastOutcome>> {
    let tasks: Vec<_> = ballots
        .into_iter()
        .map(|b| {
            let store = store.clone();
            tokio::spawn(async move { store.cast(&b).await })
        })
        .collect();
    join_all(tasks)
        .await
        .into_iter()
        .map(|t| t.expect("cast task panicked"))
        .collect()
}

async fn two_thousand_voters_are_counted_exactly(store: PgPollStore) {
    let poll = sample_poll(4, false, None);
    store.create(&poll).await.unwrap();
    let ballots = (0..2000u32)
        .map(|i| ballot(&poll, &voter(&format!("voter-{i}")), &[i % 4]))
        .collect();

    let outcomes = cast_concurrently(&store, ballots).await;

    let versions: BTreeSet<u64> = outcomes
        .iter()
        .map(|o| {
            let o = o.as_ref().expect("every ballot of a distinct voter counts");
            assert!(o.is_new());
            assert_eq!(o.results.version, o.receipt.version);
            o.receipt.version
        })
        .collect();
    assert_eq!(
        versions,
        (1..=2000).collect(),
        "versions are 1..=2000, each once"
    );

    let results = store.results(poll.id).await.unwrap();
    assert_eq!((results.version, results.total), (2000, 2000));
    for option in 0..4 {
        assert_eq!(results.votes(OptionId::new(option)), Some(500));
    }
}

async fn small_pool(options: PgPoolOptions, connect: PgConnectOptions) -> PgPool {
    options
        .max_connections(4)
        // 2,000 transactions one at a time over 4 connections: the last
        // voters queue for as long as the machine needs (CI's loaded run
        // passed sqlx's 30 s default); the test is about counts, not time.
        .acquire_timeout(std::time::Duration::from_secs(600))
        .connect_with(connect)
        .await
        .unwrap()
}

#[sqlx::test]
async fn two_thousand_concurrent_voters_coalesced_over_a_small_pool(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = small_pool(options, connect).await;
    two_thousand_voters_are_counted_exactly(PgPollStore::new(pool)).await;
}

#[sqlx::test]
async fn two_thousand_concurrent_voters_one_transaction_each_over_a_small_pool(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = small_pool(options, connect).await;
    two_thousand_voters_are_counted_exactly(PgPollStore::with_cast_mode(pool, CastMode::PerBallot))
        .await;
}

#[sqlx::test]
async fn fifty_identical_ballots_from_one_voter_count_once_with_one_receipt(pool: PgPool) {
    let store = PgPollStore::new(pool);
    let poll = sample_poll(3, false, None);
    store.create(&poll).await.unwrap();
    let same = ballot(&poll, &voter("eager"), &[2]);

    let outcomes = cast_concurrently(&store, vec![same; 50]).await;

    let outcomes: Vec<CastOutcome> = outcomes.into_iter().map(|o| o.unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| o.is_new()).count(), 1);
    let first = &outcomes[0].receipt;
    assert!(
        outcomes.iter().all(|o| &o.receipt == first),
        "one receipt for all"
    );
    assert_eq!(first.version, 1);
    let results = store.results(poll.id).await.unwrap();
    assert_eq!((results.version, results.total), (1, 1));
    assert_eq!(results.votes(OptionId::new(2)), Some(1));
}

/// Casts every ballot of `batch` at once while another transaction holds
/// the poll's row lock, so that they queue up behind it and are recorded
/// together in the next transaction; returns each caller's outcome, in
/// `batch` order.
async fn cast_as_one_batch(
    pool: &PgPool,
    store: &PgPollStore,
    poll: &Poll,
    batch: &[Ballot],
) -> Vec<Result<CastOutcome>> {
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM polls WHERE id = $1 FOR UPDATE")
        .bind(poll.id.as_uuid())
        .execute(&mut *lock)
        .await
        .unwrap();
    let casts = join_all(batch.iter().map(|b| store.cast(b)));
    let release = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        lock.commit().await.unwrap();
    };
    let (outcomes, ()) = tokio::join!(casts, release);
    outcomes
}

/// Each outcome in short: `new v{version}`, `changed v{version}`,
/// `replay v{version}`, or the error's code.
fn summary(outcomes: &[Result<CastOutcome>]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| match o {
            Ok(o) if o.is_new() => format!("new v{}", o.receipt.version),
            Ok(o) if o.is_changed() => format!("changed v{}", o.receipt.version),
            Ok(o) => format!("replay v{}", o.receipt.version),
            Err(e) => e.code().to_owned(),
        })
        .collect()
}

#[sqlx::test]
async fn a_mixed_batch_gives_every_caller_its_own_outcome(pool: PgPool) {
    let store = PgPollStore::new(pool.clone());
    let poll = sample_poll(3, false, None);
    store.create(&poll).await.unwrap();
    let earlier = store
        .cast(&ballot(&poll, &voter("early"), &[0]))
        .await
        .unwrap();

    let batch = [
        ballot(&poll, &voter("ann"), &[1]),
        ballot(&poll, &voter("early"), &[0]), // replay of an earlier ballot
        ballot(&poll, &voter("early"), &[2]), // changes its mind: refused
        ballot(&poll, &voter("bob"), &[9]),   // no option 9
        ballot(&poll, &voter("ann"), &[1]),   // replay within the batch
        ballot(&poll, &voter("cid"), &[2]),
        ballot(&poll, &voter("ann"), &[0]), // changes its mind within the batch
        ballot(&poll, &voter("dee"), &[0, 1]), // two choices on a one-choice poll
        ballot(&poll, &voter("bob"), &[1]), // bob's first valid ballot
    ];
    let outcomes = cast_as_one_batch(&pool, &store, &poll, &batch).await;

    assert_eq!(
        summary(&outcomes),
        [
            "new v2",
            "replay v1",
            "already_voted",
            "invalid_choice",
            "replay v2",
            "new v3",
            "already_voted",
            "invalid_choice",
            "new v4",
        ]
    );
    let ok = |i: usize| outcomes[i].as_ref().unwrap();
    assert_eq!(ok(1).receipt, earlier.receipt);
    assert_eq!(ok(4).receipt, ok(0).receipt);
    assert_eq!(
        [
            ok(0).receipt.cast_at,
            ok(5).receipt.cast_at,
            ok(8).receipt.cast_at
        ],
        [ok(0).receipt.cast_at; 3],
        "the new ballots were recorded in one transaction"
    );
    assert_eq!(ok(5).results.votes(OptionId::new(2)), Some(1));

    let results = store.results(poll.id).await.unwrap();
    assert_eq!((results.version, results.total), (4, 4));
    let counts: Vec<u64> = results.counts.iter().map(|c| c.votes).collect();
    assert_eq!(counts, [1, 2, 1]);
}

/// On a poll that allows changing a vote, one batch (held behind the row
/// lock) holds first ballots, changes of stored ballots and changes of
/// ballots first cast in the same batch: each caller gets its own outcome,
/// and one row per voter holds their last ballot.
#[sqlx::test]
async fn a_batch_with_first_ballots_and_their_changes_writes_each_voters_last_ballot(pool: PgPool) {
    let store = PgPollStore::new(pool.clone());
    let mut poll = sample_poll(3, false, None);
    poll.allow_vote_change = true;
    store.create(&poll).await.unwrap();
    store
        .cast(&ballot(&poll, &voter("early"), &[0]))
        .await
        .unwrap();

    let batch = [
        ballot(&poll, &voter("ann"), &[1]),   // first ballot
        ballot(&poll, &voter("early"), &[2]), // changes a stored ballot
        ballot(&poll, &voter("ann"), &[2]),   // changes a ballot of this batch
        ballot(&poll, &voter("ann"), &[2]),   // replays that change
        ballot(&poll, &voter("early"), &[7]), // an invalid change
        ballot(&poll, &voter("ann"), &[0]),   // changes again
    ];
    let outcomes = cast_as_one_batch(&pool, &store, &poll, &batch).await;

    assert_eq!(
        summary(&outcomes),
        [
            "new v2",
            "changed v3",
            "changed v4",
            "replay v4",
            "invalid_choice",
            "changed v5"
        ]
    );

    let results = store.results(poll.id).await.unwrap();
    assert_eq!((results.version, results.total), (5, 2));
    let counts: Vec<u64> = results.counts.iter().map(|c| c.votes).collect();
    assert_eq!(counts, [1, 0, 1], "ann on 0, early on 2");

    let rows: Vec<(String, Vec<i32>, i64)> = sqlx::query_as(
        "SELECT voter_id, choices, version FROM ballots WHERE poll_id = $1 ORDER BY voter_id",
    )
    .bind(poll.id.as_uuid())
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            ("ann".to_owned(), vec![0], 5),
            ("early".to_owned(), vec![2], 3)
        ],
        "one row per voter, holding their last ballot"
    );
    for name in ["ann", "early"] {
        let stored = store.ballot(poll.id, &voter(name)).await.unwrap().unwrap();
        let row = rows.iter().find(|r| r.0 == name).unwrap();
        assert_eq!(stored.version, u64::try_from(row.2).unwrap());
    }
}

#[sqlx::test]
async fn ballots_on_a_poll_deleted_while_they_wait_are_not_found(pool: PgPool) {
    let store = PgPollStore::new(pool.clone());
    let poll = sample_poll(2, false, None);
    store.create(&poll).await.unwrap();

    let mut lock = pool.begin().await.unwrap();
    sqlx::query("DELETE FROM polls WHERE id = $1")
        .bind(poll.id.as_uuid())
        .execute(&mut *lock)
        .await
        .unwrap();
    let casts = join_all((0..5).map(|i| {
        let store = store.clone();
        let b = ballot(&poll, &voter(&format!("v{i}")), &[0]);
        async move { store.cast(&b).await }
    }));
    let release = async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        lock.commit().await.unwrap();
    };
    let (outcomes, ()) = tokio::join!(casts, release);

    for outcome in outcomes {
        assert!(matches!(outcome, Err(polling_core::PollError::NotFound)));
    }
}

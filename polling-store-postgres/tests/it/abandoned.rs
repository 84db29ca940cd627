//! Ballots whose callers gave up, and a poll's queue past its bound: an
//! answer given as a failure is never contradicted by a later commit, and a
//! slow database sheds votes instead of queueing them without end.

use std::time::Duration;

use polling_core::testing::{ballot, sample_poll};
use polling_core::{Ballot, Poll, PollError, PollStore, VoterId};
use polling_store_postgres::{CastMode, PgPollStore};
use polling_testkit::wait_for_lock_waiters;
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::mpsc;

fn voter(name: &str) -> VoterId {
    VoterId::try_from(name.to_owned()).unwrap()
}

async fn new_poll(store: &PgPollStore) -> Poll {
    let poll = sample_poll(2, false, None);
    store.create(&poll).await.unwrap();
    poll
}

/// Holds `poll`'s row lock, as a long transaction in another replica would,
/// until the returned transaction ends.
async fn hold_lock(pool: &PgPool, poll: &Poll) -> Transaction<'static, Postgres> {
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM polls WHERE id = $1 FOR UPDATE")
        .bind(poll.id.as_uuid())
        .execute(&mut *lock)
        .await
        .unwrap();
    lock
}

fn spawn_cast(
    store: &PgPollStore,
    ballot: &Ballot,
) -> tokio::task::JoinHandle<polling_core::Result<polling_core::CastOutcome>> {
    let (store, ballot) = (store.clone(), ballot.clone());
    tokio::spawn(async move { store.cast(&ballot).await })
}

#[sqlx::test]
async fn a_queued_ballot_abandoned_before_its_batch_is_never_recorded(pool: PgPool) {
    let store = PgPollStore::new(pool.clone());
    let poll = new_poll(&store).await;
    let lock = hold_lock(&pool, &poll).await;

    // The first ballot's transaction waits for the lock; the second queues.
    let first = spawn_cast(&store, &ballot(&poll, &voter("first"), &[0]));
    wait_for_lock_waiters(&pool, 1).await;
    let queued = ballot(&poll, &voter("queued"), &[1]);
    let second = spawn_cast(&store, &queued);
    tokio::time::sleep(Duration::from_millis(50)).await;
    queued.abandon(); // its caller timed out and was answered 503
    lock.commit().await.unwrap();

    assert!(
        first.await.unwrap().is_ok(),
        "the waiting caller's vote counts"
    );
    assert!(matches!(
        second.await.unwrap(),
        Err(PollError::Unavailable(_))
    ));
    assert_eq!(store.ballot(poll.id, &voter("queued")).await.unwrap(), None);
    let results = store.results(poll.id).await.unwrap();
    assert_eq!((results.version, results.total), (1, 1));
}

#[sqlx::test]
async fn a_ballot_abandoned_while_its_transaction_waits_for_the_lock_is_never_recorded(
    pool: PgPool,
) {
    for mode in [CastMode::default(), CastMode::PerBallot] {
        let store = PgPollStore::with_cast_mode(pool.clone(), mode);
        let poll = new_poll(&store).await;
        let lock = hold_lock(&pool, &poll).await;

        let waiting = ballot(&poll, &voter("waiting"), &[0]);
        let cast = spawn_cast(&store, &waiting);
        wait_for_lock_waiters(&pool, 1).await;
        waiting.abandon();
        lock.commit().await.unwrap();

        assert!(
            matches!(cast.await.unwrap(), Err(PollError::Unavailable(_))),
            "{mode:?}"
        );
        assert_eq!(
            store.ballot(poll.id, &voter("waiting")).await.unwrap(),
            None
        );
        assert_eq!(store.results(poll.id).await.unwrap().version, 0, "{mode:?}");
    }
}

#[sqlx::test]
async fn a_poll_with_its_queue_full_refuses_more_ballots_at_once(pool: PgPool) {
    const BOUND: usize = 4;
    const VOTERS: usize = 10;
    let store =
        PgPollStore::with_cast_mode(pool.clone(), CastMode::coalesced_with_max_queue(BOUND));
    let poll = new_poll(&store).await;
    let lock = hold_lock(&pool, &poll).await;

    let (done, mut outcomes) = mpsc::unbounded_channel();
    for i in 0..VOTERS {
        let (store, done) = (store.clone(), done.clone());
        let ballot = ballot(&poll, &voter(&format!("v{i}")), &[0]);
        tokio::spawn(async move {
            let _ = done.send(store.cast(&ballot).await);
        });
    }
    // While the lock is held nothing commits: every answer before the
    // release is a refusal, and all beyond the bound are refused.
    for _ in 0..VOTERS - BOUND {
        let refused = tokio::time::timeout(Duration::from_secs(30), outcomes.recv())
            .await
            .expect("ballots beyond the bound are refused without waiting for the lock")
            .unwrap();
        assert!(
            matches!(refused, Err(PollError::Unavailable(_))),
            "{refused:?}"
        );
    }
    lock.commit().await.unwrap();
    for _ in 0..BOUND {
        let outcome = outcomes.recv().await.unwrap();
        assert!(
            outcome.is_ok(),
            "a queued ballot within the bound counts: {outcome:?}"
        );
    }
    let results = store.results(poll.id).await.unwrap();
    assert_eq!(results.total, BOUND as u64);

    // The queue drained: the poll takes ballots again.
    let later = store.cast(&ballot(&poll, &voter("later"), &[1])).await;
    assert!(later.is_ok(), "{later:?}");
}

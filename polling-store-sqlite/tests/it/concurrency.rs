//! Many voters at once on one poll of one file: each counted exactly once,
//! through one store (group commit) and through two stores on the same file
//! (two processes' worth of pools racing for SQLite's write lock).

use std::collections::HashSet;
use std::sync::Arc;

use futures_util::future::join_all;
use polling_core::testing::{ballot, sample_poll};
use polling_core::{OptionId, PollStore, VoterId};
use polling_store_sqlite::{CastMode, SqlitePollStore};

use crate::common::TempDatabase;

/// Voters in each test.
const VOTERS: usize = 600;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_voters_on_one_poll_are_counted_exactly_once_each() {
    let database = TempDatabase::new();
    let store = Arc::new(SqlitePollStore::new(database.pool().await));
    let poll = sample_poll(3, false, None);
    store.create(&poll).await.unwrap();

    let voters: Vec<VoterId> = (0..VOTERS).map(|_| VoterId::generate()).collect();
    // Every voter sends their ballot twice at once: a retry racing the first.
    let casts = voters.iter().enumerate().flat_map(|(i, voter)| {
        let b = ballot(&poll, voter, &[(i % 3) as u32]);
        [b.clone(), b].map(|b| {
            let store = store.clone();
            tokio::spawn(async move { store.cast(&b).await })
        })
    });
    let outcomes: Vec<_> = join_all(casts)
        .await
        .into_iter()
        .map(|joined| {
            joined
                .expect("a cast task")
                .expect("every ballot is accepted")
        })
        .collect();

    let new: Vec<_> = outcomes.iter().filter(|o| o.is_new()).collect();
    assert_eq!(
        new.len(),
        VOTERS,
        "one new ballot per voter, one replay each"
    );
    let versions: HashSet<u64> = new.iter().map(|o| o.receipt.version).collect();
    assert_eq!(
        versions,
        (1..=VOTERS as u64).collect(),
        "every new ballot has its own version, none skipped"
    );
    let results = store.results(poll.id).await.unwrap();
    assert_eq!(results.total, VOTERS as u64);
    assert_eq!(results.version, VOTERS as u64);
    for option in 0..3 {
        assert_eq!(
            results.votes(OptionId::new(option)),
            Some((VOTERS / 3) as u64),
            "option {option}"
        );
    }
    assert_eq!(store.ballots(poll.id).await.unwrap().len(), VOTERS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_on_one_file_take_turns_and_count_every_voter_once() {
    let database = TempDatabase::new();
    let a = Arc::new(SqlitePollStore::new(database.pool().await));
    let b = Arc::new(SqlitePollStore::with_cast_mode(
        database.pool().await,
        CastMode::PerBallot,
    ));
    let poll = sample_poll(2, false, None);
    a.create(&poll).await.unwrap();

    let voters: Vec<VoterId> = (0..VOTERS / 2).map(|_| VoterId::generate()).collect();
    let casts = voters.iter().flat_map(|voter| {
        let choice = ballot(&poll, voter, &[1]);
        [a.clone(), b.clone()].map(|store| {
            let choice = choice.clone();
            tokio::spawn(async move { store.cast(&choice).await })
        })
    });
    let outcomes: Vec<_> = join_all(casts)
        .await
        .into_iter()
        .map(|joined| {
            joined
                .expect("a cast task")
                .expect("every ballot is accepted")
        })
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| o.is_new()).count(),
        voters.len(),
        "each voter is new through one pool and a replay through the other"
    );
    for store in [&a, &b] {
        let results = store.results(poll.id).await.unwrap();
        assert_eq!(results.total, voters.len() as u64);
        assert_eq!(results.version, voters.len() as u64);
        assert_eq!(results.votes(OptionId::new(1)), Some(voters.len() as u64));
    }
}

//! Invite codes on two stores over one database, as two replicas run them:
//! each store has its own pool and its own vote writers, so only
//! PostgreSQL (the ballots' primary key, the poll's row lock) keeps a code
//! counting once and a revocation ordered with the votes.

use futures_util::future::join_all;
use polling_core::testing::{ballot, sample_poll};
use polling_core::{Eligibility, Invite, ManageToken, Poll, PollStore};
use polling_store_postgres::PgPollStore;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

/// A second store on the same database as `pool`, with a pool of its own.
async fn other_replica(pool: &PgPool) -> PgPollStore {
    let options = pool.connect_options().as_ref().clone();
    let second = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .expect("a second pool on the test database");
    PgPollStore::new(second)
}

async fn invite_poll(store: &PgPollStore, codes: usize) -> (Poll, Vec<Invite>) {
    let mut poll = sample_poll(2, false, None);
    let token = ManageToken::generate();
    poll.manage_token_hash = token.hash();
    poll.eligibility = Eligibility::Invite;
    store.create(&poll).await.unwrap();
    let invites: Vec<Invite> = (0..codes)
        .map(|_| Invite::issue(&token, poll.id, polling_core::now()).0)
        .collect();
    store.add_invites(poll.id, &invites).await.unwrap();
    (poll, invites)
}

#[sqlx::test]
async fn one_code_voting_on_two_replicas_at_once_counts_once(pool: PgPool) {
    let (a, b) = (PgPollStore::new(pool.clone()), other_replica(&pool).await);
    let (poll, invites) = invite_poll(&a, 1).await;
    let voter = &invites[0].voter;
    let casts = (0..40u32).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let ballot = ballot(&poll, voter, &[i % 2]);
        tokio::spawn(async move { store.cast(&ballot).await })
    });
    let mut new = 0;
    for outcome in join_all(casts).await {
        match outcome.expect("a cast panicked") {
            Ok(outcome) if outcome.is_new() => new += 1,
            Ok(_) => {}
            Err(error) => assert_eq!(error.code(), "already_voted", "{error:?}"),
        }
    }
    assert_eq!(new, 1, "one ballot of the code is new, on one replica");
    for store in [&a, &b] {
        let results = store.results(poll.id).await.unwrap();
        assert_eq!((results.total, results.version), (1, 1));
    }
}

#[sqlx::test]
async fn a_revocation_on_one_replica_and_a_vote_on_another_exclude_each_other(pool: PgPool) {
    let (a, b) = (PgPollStore::new(pool.clone()), other_replica(&pool).await);
    let (poll, invites) = invite_poll(&a, 30).await;
    let races = invites.iter().map(|invite| {
        let (a, b, voter) = (a.clone(), b.clone(), invite.voter.clone());
        let ballot = ballot(&poll, &voter, &[0]);
        tokio::spawn(async move {
            tokio::join!(
                a.cast(&ballot),
                b.revoke_invite(poll.id, &voter, polling_core::now())
            )
        })
    });
    let mut voted = 0;
    for race in join_all(races).await {
        match race.expect("a race panicked") {
            (Ok(_), Err(e)) if e.code() == "invite_used" => voted += 1,
            (Err(e), Ok(_)) if e.code() == "invite_invalid" => {}
            other => panic!("a vote and a revocation of one code both won or both lost: {other:?}"),
        }
    }
    let results = b.results(poll.id).await.unwrap();
    assert_eq!(results.total, voted);
    let listed = a.invites(poll.id).await.unwrap();
    assert_eq!(listed.iter().filter(|i| i.used).count() as u64, voted);
    assert!(listed.iter().all(|i| i.used != i.revoked_at.is_some()));
}

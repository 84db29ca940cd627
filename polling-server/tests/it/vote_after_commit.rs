//! A committed vote is always answered as one: with the voter's cookie and a
//! success, even when what follows the commit (deciding whether the voter
//! may see the counts) fails. Otherwise the voter's retry is a second voter.

use std::sync::Arc;

use crate::common::{database_url, id_of, TestServer, VOTER_COOKIE};
use async_trait::async_trait;
use clap::Parser;
use polling_core::{
    AnonymousBallot, Ballot, CastOutcome, Page, Poll, PollError, PollId, PollStore, Result,
    Results, VoteReceipt, VoterId,
};
use polling_server::{Backends, Config};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use time::OffsetDateTime;

/// The real PostgreSQL store, except that reading a poll fails: the query a
/// replica makes after the cast to learn a poll's visibility (for a poll it
/// has not seen) times out, while casting still commits.
struct PollReadsFail(Arc<dyn PollStore>);

#[async_trait]
impl PollStore for PollReadsFail {
    async fn create(&self, poll: &Poll) -> Result<()> {
        self.0.create(poll).await
    }
    async fn get(&self, _id: PollId) -> Result<Poll> {
        Err(PollError::unavailable("statement timeout (injected)"))
    }
    async fn list(&self, limit: usize, before: Option<PollId>) -> Result<Page> {
        self.0.list(limit, before).await
    }
    async fn close(&self, id: PollId, at: OffsetDateTime) -> Result<Poll> {
        self.0.close(id, at).await
    }
    async fn delete(&self, id: PollId) -> Result<()> {
        self.0.delete(id).await
    }
    async fn cast(&self, ballot: &Ballot) -> Result<CastOutcome> {
        self.0.cast(ballot).await
    }
    async fn ballot(&self, poll: PollId, voter: &VoterId) -> Result<Option<VoteReceipt>> {
        self.0.ballot(poll, voter).await
    }

    async fn has_voted(&self, poll: PollId, voter: &VoterId) -> Result<bool> {
        self.0.has_voted(poll, voter).await
    }
    async fn results(&self, id: PollId) -> Result<Results> {
        self.0.results(id).await
    }
    async fn ballots(&self, id: PollId) -> Result<Vec<AnonymousBallot>> {
        self.0.ballots(id).await
    }

    polling_core::delegate_invites!(0);
}

async fn backends(connect: &PgConnectOptions) -> Backends {
    let url = database_url(connect, connect.get_port());
    let config = Config::try_parse_from([
        "polling-server",
        "--database-url",
        &url,
        "--database-pool-size",
        "2",
        "--startup-timeout",
        "5s",
    ])
    .unwrap();
    Backends::connect(&config).await.expect("backends connect")
}

#[sqlx::test(migrations = false)]
async fn a_committed_vote_whose_visibility_cannot_be_decided_keeps_its_cookie_and_replays(
    pool_options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    // Replica A creates the poll; replica B has never seen it, so after a
    // cast it asks the store for the poll's visibility, and that fails.
    let a = TestServer::with_app(backends(&connect).await.into_builder().build()).await;
    let mut b_backends = backends(&connect).await;
    b_backends.store = Arc::new(PollReadsFail(b_backends.store));
    let b = TestServer::with_app(b_backends.into_builder().build()).await;

    let draft = json!({
        "question": "Hidden until it closes?",
        "options": ["yes", "no"],
        "visibility": "after_close",
    });
    let poll = a
        .client()
        .post_json("/api/polls", &draft)
        .await
        .assert_json(201);
    let id = id_of(&poll);

    // First contact is the vote, as curl sends it: no cookie yet.
    let voter = b.client();
    let first = voter.vote(&id, &[0]).await;
    let body = first.assert_json(201);
    assert!(body["results"].is_null(), "counts stay hidden: {body}");
    let cookie = first
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(VOTER_COOKIE))
        .expect("the new voter gets its cookie with the committed vote");
    assert!(cookie.contains(&voter.voter_id().unwrap()));

    // The retry (same cookie) is the same ballot: a replay, not a second vote.
    let retry = voter.vote(&id, &[0]).await.assert_json(200);
    assert_eq!(retry["receipt"], body["receipt"]);

    let pool = pool_options.connect_with(connect).await.unwrap();
    let (total, stored): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT total FROM polls WHERE id = $1::uuid), \
                (SELECT count(*) FROM ballots WHERE poll_id = $1::uuid)",
    )
    .bind(&id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((total, stored), (1, 1), "one person, one ballot");
}

//! A deleted poll stays deleted (issue 18): a vote committed just before the
//! delete, whose cache write lands after the delete's invalidation, must not
//! bring the poll's results back, on any replica or any live socket.
//!
//! Two replicas on one PostgreSQL and one Redis. Replica A's cache writes
//! are held (its real Redis cache behind a gate the test opens), so A's
//! post-commit `put` lands after B has deleted the poll: the race the
//! PostgreSQL row lock makes possible, made certain.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{create_poll, draft, id_of, postgres_redis_config, Request, TestServer, REDIS};
use async_trait::async_trait;
use futures_util::StreamExt;
use polling_core::{PollId, Result, Results, ResultsCache};
use polling_server::Backends;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

/// A cache whose `put`s wait until the gate is open.
struct HeldPuts {
    inner: Arc<dyn ResultsCache>,
    open: watch::Receiver<bool>,
}

#[async_trait]
impl ResultsCache for HeldPuts {
    async fn get(&self, poll: PollId) -> Result<Option<Results>> {
        self.inner.get(poll).await
    }

    async fn put(&self, results: &Results) -> Result<()> {
        let mut open = self.open.clone();
        let _ = open.wait_for(|open| *open).await;
        self.inner.put(results).await
    }

    async fn invalidate(&self, poll: PollId) -> Result<()> {
        self.inner.invalidate(poll).await
    }
}

async fn backends(connect: &PgConnectOptions, prefix: &str) -> Backends {
    Backends::connect(&postgres_redis_config(connect, prefix))
        .await
        .expect("backends connect")
}

#[sqlx::test]
async fn a_vote_whose_cache_write_lands_after_the_delete_never_brings_the_poll_back(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let prefix = format!("test:{}:", PollId::generate());
    let (gate, open) = watch::channel(true);
    let mut a = backends(&connect, &prefix).await;
    a.cache = Arc::new(HeldPuts {
        inner: a.cache,
        open,
    });
    let a = TestServer::with_app(a.into_builder().build()).await;
    let b = TestServer::with_app(backends(&connect, &prefix).await.into_builder().build()).await;
    let pool = options.connect_with(connect.clone()).await.unwrap();

    let owner = b.client();
    let (poll, token) = create_poll(&owner, draft(&["yes", "no"])).await;
    let id = id_of(&poll);
    let results = format!("/api/polls/{id}/results");
    // B has read (and cached) the results of this `always` poll, and a
    // browser watches on B.
    assert_eq!(owner.get(&results).await.assert_json(200)["version"], 0);
    let url = format!("ws://{}/api/polls/{id}/live", b.addr());
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
            .unwrap();
    request
        .headers_mut()
        .insert("origin", format!("http://{}", b.addr()).parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();

    // A vote on A commits; its cache write is held.
    gate.send_replace(false);
    let voter = a.client();
    let vote = tokio::spawn({
        let id = id.clone();
        async move { voter.vote(&id, &[0]).await.status.as_u16() }
    });
    for _ in 0..500 {
        let version: i64 = sqlx::query_scalar("SELECT version FROM polls WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&pool)
            .await
            .unwrap();
        if version == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // B deletes the poll; then A's held write lands.
    let deleted = owner
        .send(Request::delete(format!("/api/polls/{id}")).bearer(&token))
        .await;
    assert_eq!(deleted.status.as_u16(), 204);
    gate.send_replace(true);
    assert_eq!(
        vote.await.unwrap(),
        201,
        "the vote was committed before the delete"
    );

    for replica in [&a, &b] {
        replica
            .client()
            .get(&results)
            .await
            .assert_error(404, "not_found");
    }
    let mut redis = redis::Client::open(format!("redis://{REDIS}/"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let cached: Option<String> = redis::cmd("HGET")
        .arg(format!("{prefix}results:{id}"))
        .arg("json")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(cached, None, "no results of the deleted poll in Redis");

    let code = loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next()).await {
            Ok(Some(Ok(Message::Close(Some(frame))))) => break u16::from(frame.code),
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(code, 4404, "the socket on B learns the poll is gone");
}

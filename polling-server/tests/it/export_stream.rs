//! The ballots export of a large poll is streamed: the server process's
//! memory does not grow with the file, and the file is complete; a store
//! failing midway ends the download as failed, never as a shorter file.

use std::sync::Arc;

use crate::common::process::ServerProcess;
use crate::common::{create_poll, database_url, id_of, Client, Request, TestServer};
use async_trait::async_trait;
use futures_util::StreamExt;
use polling_core::memory::MemoryStore;
use polling_core::{
    AnonymousBallot, Ballot, BallotStream, CastOutcome, Page, Poll, PollError, PollId, PollStore,
    Result, Results, VoteReceipt, VoterId,
};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use time::OffsetDateTime;

/// Ballots in the large poll.
const BALLOTS: i64 = 200_000;

/// A `kB` line of `/proc/<pid>/status`, in bytes.
fn status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the status");
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("{field} in {status}"));
    let kb: u64 = line
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .expect("kB");
    kb * 1024
}

/// Resets the process's peak resident memory (`VmHWM`) to what it holds now.
fn reset_peak(pid: u32) {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset the peak RSS");
}

/// Inserts [`BALLOTS`] ballots into `poll` straight in SQL, over ten
/// minutes and the choices `{0}`, `{1}`, `{0,1}`.
async fn insert_ballots(pool: &sqlx::PgPool, poll: uuid::Uuid) {
    sqlx::query(
        "INSERT INTO ballots (poll_id, voter_id, choices, cast_at, version) \
         SELECT $1, 'voter-' || i, \
                CASE i % 3 WHEN 0 THEN ARRAY[0] WHEN 1 THEN ARRAY[1] ELSE ARRAY[0, 1] END, \
                now() - make_interval(secs => (i % 600)::double precision), i \
         FROM generate_series(1, $2) AS i",
    )
    .bind(poll)
    .bind(BALLOTS)
    .execute(pool)
    .await
    .expect("bulk ballots");
}

/// 200,000 ballots (a file of several megabytes) through the `polling-server`
/// binary on PostgreSQL: the server's peak resident memory during the
/// download grows by less than a tenth of the file, and the file parses
/// (csv crate) into every ballot, in minute order.
#[sqlx::test]
async fn a_large_ballots_export_streams_in_bounded_memory(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let url = database_url(&connect, connect.get_port());
    let server =
        ServerProcess::start(&[("DATABASE_URL", url), ("POLLING_LOG_FORMAT", "json".into())]).await;
    let client = Client::new(server.addr);
    let mut ready = 0;
    for _ in 0..100 {
        ready = client.get("/readyz").await.status.as_u16();
        if ready == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(ready, 200, "the server is ready");
    let (poll, token) = create_poll(
        &client,
        json!({ "question": "Big?", "options": ["=a", "b"], "multiple": true }),
    )
    .await;
    let id = id_of(&poll);
    let download = |id: String| {
        let client = client.clone();
        let token = token.clone();
        async move {
            client
                .send(Request::get(format!("/api/polls/{id}/export/ballots.csv")).bearer(&token))
                .await
        }
    };
    // Once small, so that whatever the first export allocates for good is
    // allocated before the peak is measured.
    client.vote(&id, &[0]).await.assert_json(201);
    assert_eq!(download(id.clone()).await.status.as_u16(), 200);

    let pool = options.connect_with(connect).await.unwrap();
    insert_ballots(&pool, id.parse().unwrap()).await;

    let pid = server.pid();
    reset_peak(pid);
    let before = status_bytes(pid, "VmHWM");
    let response = download(id).await;
    let peak = status_bytes(pid, "VmHWM");
    assert_eq!(response.status.as_u16(), 200);
    let size = response.body.len() as u64;
    let growth = peak.saturating_sub(before);
    eprintln!("a {size}-byte export raised the server's peak RSS by {growth} bytes");
    assert!(size > 5_000_000, "{size} bytes for {BALLOTS} ballots");
    assert!(
        growth < size / 10,
        "the server's peak RSS grew by {growth} bytes for a {size}-byte file"
    );
    assert_eq!(
        response.header("content-length"),
        None,
        "streamed, not sized up front"
    );

    let mut reader = csv::Reader::from_reader(&response.body[..]);
    assert_eq!(
        reader.headers().unwrap(),
        &csv::StringRecord::from(vec!["cast_minute", "option_ids", "options"])
    );
    let mut rows = 0;
    let mut last_minute = String::new();
    let mut both = 0;
    for record in reader.records() {
        let record = record.expect("a CSV row");
        assert_eq!(record.len(), 3);
        assert!(record[0] >= *last_minute, "minute order");
        last_minute = record[0].to_owned();
        match &record[1] {
            "0" => assert_eq!(&record[2], "'=a", "neutralised"),
            "1" => assert_eq!(&record[2], "b"),
            "0;1" => {
                assert_eq!(&record[2], "'=a; b");
                both += 1;
            }
            other => panic!("choices {other:?}"),
        }
        rows += 1;
    }
    assert_eq!(rows, BALLOTS + 1, "every ballot, the voted one included");
    assert_eq!(both, (1..=BALLOTS).filter(|i| i % 3 == 2).count());
}

/// A [`MemoryStore`] whose ballot streams give the poll's ballots over and
/// over, [`FAILING_AFTER`] of them, then fail.
struct FailingMidway(MemoryStore);

/// Ballots a [`FailingMidway`] stream gives before its error: several
/// chunks of the body.
const FAILING_AFTER: usize = 10_000;

#[async_trait]
impl PollStore for FailingMidway {
    async fn create(&self, poll: &Poll) -> Result<()> {
        self.0.create(poll).await
    }

    async fn get(&self, id: PollId) -> Result<Poll> {
        self.0.get(id).await
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

    async fn ballot_stream(&self, id: PollId) -> Result<BallotStream> {
        let ballots = self.0.ballots(id).await?;
        let repeated = ballots.into_iter().cycle().take(FAILING_AFTER).map(Ok);
        let failure = Err(PollError::unavailable("the database went away"));
        Ok(futures_util::stream::iter(repeated)
            .chain(futures_util::stream::iter([failure]))
            .boxed())
    }

    polling_core::delegate_invites!(0);
}

/// The store fails after 10,000 ballots, well into the body: the client's
/// download fails (no last chunk), so no shorter file passes for the whole.
#[tokio::test]
async fn a_store_failing_midway_fails_the_download() {
    let store = Arc::new(FailingMidway(MemoryStore::new()));
    let app = polling_server::AppBuilder::new(
        store,
        Arc::new(polling_core::memory::MemoryCache::new()),
        Arc::new(polling_core::memory::LocalBroadcaster::new()),
    );
    let server = TestServer::with_app(app).await;
    let client = server.client();
    let (poll, token) =
        create_poll(&client, json!({ "question": "?", "options": ["a", "b"] })).await;
    let id = id_of(&poll);
    client.vote(&id, &[1]).await.assert_json(201);
    let outcome = client
        .try_send(Request::get(format!("/api/polls/{id}/export/ballots.csv")).bearer(&token))
        .await;
    let error = outcome.expect_err("the download must fail, not end short");
    eprintln!("the download failed: {error}");
}

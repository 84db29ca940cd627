//! Cancelled votes (issue 17): votes whose callers leave while PostgreSQL
//! holds them inside their transaction, cut by the clients hanging up or by
//! the backend timeout. Whatever the store ends up committing, the Redis
//! cache, a second replica's results and a live socket on that replica all
//! reach the store's version once the transaction goes through.
//!
//! The test's own connection holds an uncommitted ballot of the first voter,
//! so the first batch's transaction waits on it *while recording*, past the
//! point where a batch still leaves out ballots whose callers left: that
//! batch commits after its votes were cut. (Votes cut while still queued, or
//! while their transaction waits for the poll's lock, are never recorded:
//! `zombie_ballots.rs`.) The test's ballot is rolled back only after the cut.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::{create_poll, draft, id_of, postgres_redis_config, TestServer, REDIS};
use futures_util::StreamExt;
use polling_core::PollId;
use polling_server::{Backends, RequestLimits};
use polling_testkit::wait_for_lock_waiters;
use redis::AsyncCommands;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How many votes are cut.
const VOTES: usize = 64;

/// How long the screens may take to reach the store's version; generous
/// (the target is 1 s), the machine is noisy.
const CONVERGENCE_CAP: Duration = Duration::from_secs(10);

/// How long the screens must keep agreeing with an unchanged store for the
/// votes to count as settled.
const SETTLED: Duration = Duration::from_millis(300);

/// A replica on the test's database and Redis, with `limits`.
async fn replica(connect: &PgConnectOptions, prefix: &str, limits: RequestLimits) -> TestServer {
    let backends = Backends::connect(&postgres_redis_config(connect, prefix))
        .await
        .expect("backends connect");
    assert_eq!(
        (
            backends.kinds.store,
            backends.kinds.cache,
            backends.kinds.broadcaster
        ),
        ("postgres", "redis", "redis")
    );
    TestServer::with_app(backends.into_builder().limits(limits).build()).await
}

/// How the test cuts the votes it sent to replica A.
#[derive(Clone, Copy, Debug)]
enum Cut {
    /// The clients close their connections while the first batch waits for
    /// the lock.
    HangUp,
    /// A's backend timeout answers every vote 503 while the lock is held.
    BackendTimeout,
}

/// Replica B's live socket, read in a task that keeps the last results
/// version it showed.
struct Screen {
    /// The last `results.version` of a message on the socket.
    version: watch::Receiver<Option<u64>>,
    /// The task reading the socket; aborted when the test ends.
    task: JoinHandle<()>,
}

impl Screen {
    async fn open(addr: SocketAddr, id: &str) -> Self {
        let url = format!("ws://{addr}/api/polls/{id}/live");
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let (shown, version) = watch::channel(None);
        let task = tokio::spawn(async move {
            use tokio_tungstenite::tungstenite::Message;
            while let Some(Ok(message)) = socket.next().await {
                if let Message::Text(text) = message {
                    let message: serde_json::Value = serde_json::from_str(&text).unwrap();
                    if let Some(version) = message["results"]["version"].as_u64() {
                        shown.send_replace(Some(version));
                    }
                }
            }
        });
        Self { version, task }
    }

    /// Waits for the socket's first results (its snapshot).
    async fn first_version(&mut self) -> u64 {
        let shown = tokio::time::timeout(
            Duration::from_secs(5),
            self.version.wait_for(Option::is_some),
        )
        .await
        .expect("a snapshot within 5 s")
        .expect("the socket task runs");
        shown.unwrap()
    }

    fn last_version(&self) -> Option<u64> {
        *self.version.borrow()
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The voter id of the `n`th vote: known to the test, which holds a ballot
/// of the first.
fn cut_voter(n: usize) -> String {
    format!("cut-voter-{n}")
}

/// Sends the vote of voter `n` for option 0 to `addr` over a connection of
/// its own, closed by the server after its answer; returns the connection,
/// to hang up by dropping it.
async fn send_vote(addr: SocketAddr, id: &str, n: usize) -> TcpStream {
    let body = r#"{"choices":[0]}"#;
    let request = format!(
        "POST /api/polls/{id}/votes HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Cookie: polling_voter={}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        cut_voter(n),
        body.len()
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// The status code of the response on `stream`, read to its end.
async fn status_of(mut stream: TcpStream) -> u16 {
    use tokio::io::AsyncReadExt;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    response
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
}

/// What each screen shows and what the store holds.
#[derive(Debug, PartialEq)]
struct Versions {
    /// `polls.version` in PostgreSQL.
    store: u64,
    /// The `v` field of the poll's results in Redis.
    redis: Option<u64>,
    /// The `version` of replica B's `GET /results`.
    replica_b: u64,
    /// The last version on replica B's live socket.
    socket: Option<u64>,
}

impl Versions {
    fn agree(&self) -> bool {
        self.store >= 1
            && self.redis == Some(self.store)
            && self.replica_b == self.store
            && self.socket == Some(self.store)
    }
}

/// The scenario: a poll on replica A (whose backend timeout is cut short
/// for [`Cut::BackendTimeout`]), a live socket on replica B, `VOTES` votes
/// sent to A while the first one's batch is held recording, cut as `cut`
/// says, then the hold released; every screen must then show the store's
/// version.
async fn votes_cut_mid_transaction_reach_every_screen(
    options: PgPoolOptions,
    connect: PgConnectOptions,
    cut: Cut,
) {
    let prefix = format!("test:{}:", PollId::generate());
    let a_limits = match cut {
        Cut::HangUp => RequestLimits::default(),
        // Well below PostgreSQL's statement timeout (5 s), which would
        // otherwise cancel the waiting transaction.
        Cut::BackendTimeout => RequestLimits {
            backend_timeout: Duration::from_millis(500),
            ..RequestLimits::default()
        },
    };
    let a = replica(&connect, &prefix, a_limits).await;
    let b = replica(&connect, &prefix, RequestLimits::default()).await;
    let pool = options.connect_with(connect.clone()).await.unwrap();
    let mut redis = redis::Client::open(format!("redis://{REDIS}/"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();

    let owner = a.client();
    let (poll, _) = create_poll(&owner, draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);
    let results_path = format!("/api/polls/{id}/results");
    let results_key = format!("{prefix}results:{id}");
    // B reads (and caches in Redis) version 0, and a browser watches on B.
    let before = b.client().get(&results_path).await.assert_json(200);
    assert_eq!(before["version"], 0);
    let mut screen = Screen::open(b.addr(), &id).await;
    assert_eq!(screen.first_version().await, 0);

    // The first voter's ballot, uncommitted: the batch recording that voter
    // waits for this transaction to end.
    let mut locker = PgConnection::connect_with(&connect).await.unwrap();
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query(
        "INSERT INTO ballots (poll_id, voter_id, choices, cast_at, version) \
         VALUES ($1::uuid, $2, '{1}', now(), 1000000)",
    )
    .bind(&id)
    .bind(cut_voter(0))
    .execute(&mut locker)
    .await
    .unwrap();

    let mut streams = Vec::with_capacity(VOTES);
    streams.push(send_vote(a.addr(), &id, 0).await);
    wait_for_lock_waiters(&pool, 1).await;
    for n in 1..VOTES {
        streams.push(send_vote(a.addr(), &id, n).await);
    }
    match cut {
        Cut::HangUp => {
            for stream in &streams {
                // A reset, not a polite close: the server sees the
                // connection fail and drops the request in flight.
                stream.set_zero_linger().unwrap();
            }
            drop(streams);
        }
        Cut::BackendTimeout => {
            let statuses = futures_util::future::join_all(streams.into_iter().map(status_of)).await;
            assert!(
                statuses.iter().all(|&status| status == 503),
                "every vote timed out while the first batch was held: {statuses:?}"
            );
        }
    }
    // The first batch, recording when its votes were cut, now commits.
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    drop(locker);

    let started = Instant::now();
    let reader = b.client();
    // Agreement must hold for a while with the store unchanged: a batch
    // still queued behind the first one may commit a moment later.
    let mut agreed_since: Option<(Instant, u64)> = None;
    let (versions, took) = loop {
        let store: i64 = sqlx::query_scalar("SELECT version FROM polls WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&pool)
            .await
            .unwrap();
        let versions = Versions {
            store: u64::try_from(store).unwrap(),
            redis: redis.hget(&results_key, "v").await.unwrap(),
            replica_b: reader.get(&results_path).await.assert_json(200)["version"]
                .as_u64()
                .unwrap(),
            socket: screen.last_version(),
        };
        agreed_since = match agreed_since {
            _ if !versions.agree() => None,
            Some((since, store)) if store == versions.store => Some((since, store)),
            _ => Some((Instant::now(), versions.store)),
        };
        match agreed_since {
            Some((since, _)) if since.elapsed() >= SETTLED => {
                break (versions, since - started);
            }
            _ if started.elapsed() > CONVERGENCE_CAP => break (versions, started.elapsed()),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    assert!(
        versions.agree(),
        "after {took:?}, the screens show other versions than the store's: {versions:?}"
    );
    eprintln!("{cut:?}: {VOTES} votes cut; every screen showed the store's version after {took:?}: {versions:?}");
}

#[sqlx::test]
async fn votes_whose_clients_hang_up_mid_transaction_reach_the_cache_a_second_replica_and_its_sockets(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    votes_cut_mid_transaction_reach_every_screen(options, connect, Cut::HangUp).await;
}

#[sqlx::test]
async fn votes_timed_out_mid_transaction_reach_the_cache_a_second_replica_and_its_sockets(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    votes_cut_mid_transaction_reach_every_screen(options, connect, Cut::BackendTimeout).await;
}

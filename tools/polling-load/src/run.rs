//! One load run: voters and readers against one poll for a fixed time.

use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::{Method, StatusCode};

use super::client::{results_version, Conn, Target};
use super::stats::{nanos, Errors};

/// The load to drive.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Load {
    /// How long to drive it.
    pub(crate) duration: Duration,
    /// Voter tasks, each on its own connection.
    pub(crate) voters: usize,
    /// Results-reader tasks, each on its own connection.
    pub(crate) readers: usize,
}

/// What one run measured.
#[derive(Debug, Default)]
pub(crate) struct Run {
    /// From the start until the last task stopped.
    pub(crate) elapsed: Duration,
    /// Each recorded vote's latency, in nanoseconds.
    pub(crate) votes: Vec<u64>,
    /// Each recorded vote's results version and the instant its response
    /// had fully arrived (none against the baseline).
    pub(crate) acks: Vec<(u64, Instant)>,
    /// The same votes' versions with the instant their request was sent.
    pub(crate) sends: Vec<(u64, Instant)>,
    /// The failed votes.
    pub(crate) vote_errors: Errors,
    /// Each successful results read's latency, in nanoseconds.
    pub(crate) reads: Vec<u64>,
    /// The failed reads.
    pub(crate) read_errors: Errors,
}

/// Drives `load` at the poll `poll_id` of `target`: each voter casts a ballot
/// as a new voter (no cookie) at a time, each reader reads the results with
/// the cookie the server gave it; both start their next request as soon as
/// the last one is answered.
pub(crate) async fn drive(target: &Target, poll_id: &str, load: Load) -> Run {
    let started = Instant::now();
    let deadline = started + load.duration;
    let votes_path = format!("/api/polls/{poll_id}/votes");
    let results_path = format!("/api/polls/{poll_id}/results");
    let voters: Vec<_> = (0..load.voters)
        .map(|n| tokio::spawn(vote(target.clone(), votes_path.clone(), n, deadline)))
        .collect();
    let readers: Vec<_> = (0..load.readers)
        .map(|_| tokio::spawn(read(target.clone(), results_path.clone(), deadline)))
        .collect();

    let mut run = Run::default();
    for voter in voters {
        match voter.await {
            Ok(part) => {
                run.votes.extend(part.votes);
                run.acks.extend(part.acks);
                run.sends.extend(part.sends);
                run.vote_errors.merge(part.vote_errors);
            }
            Err(_) => run.vote_errors.add("voter task failed"),
        }
    }
    for reader in readers {
        match reader.await {
            Ok(part) => {
                run.reads.extend(part.reads);
                run.read_errors.merge(part.read_errors);
            }
            Err(_) => run.read_errors.add("reader task failed"),
        }
    }
    run.elapsed = started.elapsed();
    run
}

/// A pause after a failure that did not reach the server, against spinning
/// on a refused connection.
const BACKOFF: Duration = Duration::from_millis(10);

/// One voter task: voter `n` votes for option `n % 2` until `deadline`.
async fn vote(target: Target, path: String, n: usize, deadline: Instant) -> Run {
    let body = Bytes::from(format!(r#"{{"choices":[{}]}}"#, n % 2));
    let mut conn = Conn::new(target);
    let mut run = Run::default();
    while Instant::now() < deadline {
        let sent = Instant::now();
        match conn
            .send(Method::POST, &path, Some(body.clone()), None)
            .await
        {
            Ok(answer) if answer.status == StatusCode::CREATED => {
                let arrived = Instant::now();
                run.votes.push(nanos(arrived - sent));
                if let Some(version) = results_version(&answer.body) {
                    run.acks.push((version, arrived));
                    run.sends.push((version, sent));
                }
            }
            Ok(answer) => run
                .vote_errors
                .add(format!("HTTP {}", answer.status.as_u16())),
            Err(e) => {
                run.vote_errors.add(e);
                tokio::time::sleep(BACKOFF).await;
            }
        }
    }
    run
}

/// One reader task: reads the results until `deadline`, keeping its cookie.
async fn read(target: Target, path: String, deadline: Instant) -> Run {
    let mut conn = Conn::new(target);
    let mut cookie: Option<String> = None;
    let mut run = Run::default();
    while Instant::now() < deadline {
        let sent = Instant::now();
        match conn.send(Method::GET, &path, None, cookie.as_deref()).await {
            Ok(answer) if answer.status.is_success() => {
                run.reads.push(nanos(sent.elapsed()));
                if answer.cookie.is_some() {
                    cookie = answer.cookie;
                }
            }
            Ok(answer) => run
                .read_errors
                .add(format!("HTTP {}", answer.status.as_u16())),
            Err(e) => {
                run.read_errors.add(e);
                tokio::time::sleep(BACKOFF).await;
            }
        }
    }
    run
}

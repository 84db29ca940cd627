//! `polling-load seed`: a few polls and a few thousand votes, so that a fresh
//! stack has something to show (the compose profile `seed` runs it).
//!
//! Every vote is cast as a new voter, with an `Idempotency-Key` of its own,
//! and retried on refusals (429, 503 and their `Retry-After`), gateway
//! errors and lost connections: the server answers a retried key with the
//! original response, so every vote counts exactly once. At the end the
//! results are read back and must match the votes acknowledged.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::HeaderName;
use hyper::{Method, StatusCode};

use super::client::{Conn, Target};
use super::stats::Errors;

/// The polls seeded, in order: question, options, and each option's weight
/// in the votes (so the results look like an opinion, not a coin).
const POLLS: &[(&str, &[(&str, u32)])] = &[
    (
        "Which day works best for the team lunch?",
        &[("Monday", 2), ("Wednesday", 5), ("Friday", 8)],
    ),
    (
        "Tabs or spaces?",
        &[
            ("Tabs", 4),
            ("Spaces", 6),
            ("Whatever the formatter says", 9),
        ],
    ),
    (
        "What should the next release focus on?",
        &[
            ("Speed", 5),
            ("Accessibility", 4),
            ("Dark mode", 3),
            ("Documentation", 2),
        ],
    ),
    (
        "Best way to get to the office?",
        &[
            ("Bike", 6),
            ("Train", 5),
            ("Walk", 3),
            ("Car", 1),
            ("Remote", 7),
        ],
    ),
    (
        "Coffee or tea?",
        &[("Coffee", 7), ("Tea", 5), ("Neither", 1)],
    ),
];

/// The most polls [`seed`] can create.
pub(crate) const MAX_POLLS: usize = POLLS.len();

/// How many times one vote is tried before it counts as failed.
const ATTEMPTS: u32 = 20;

/// What to seed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seed {
    /// Polls to create (at most [`MAX_POLLS`]).
    pub(crate) polls: usize,
    /// Votes to cast across them.
    pub(crate) votes: usize,
    /// Votes in flight at once, each task on its own connection.
    pub(crate) concurrency: usize,
    /// How long to wait for the target's API to answer first.
    pub(crate) wait: Duration,
}

/// One created poll: its id and its options' weights.
struct Created {
    id: String,
    question: &'static str,
    weights: Vec<u32>,
}

/// Seeds `target`; `Ok` when every vote was acknowledged and the results read
/// back match them.
pub(crate) async fn seed(target: &Target, plan: Seed) -> Result<(), String> {
    wait_until_ready(target, plan.wait).await?;
    let run = unique_run_id();
    let mut polls = Vec::with_capacity(plan.polls);
    for (index, (question, options)) in POLLS
        .iter()
        .take(plan.polls.clamp(1, MAX_POLLS))
        .enumerate()
    {
        let key = format!("seed-{run}-poll-{index}");
        polls.push(create(target, &key, question, options).await?);
    }
    let polls = Arc::new(polls);
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..plan.concurrency.max(1))
        .map(|_| {
            tokio::spawn(cast_votes(
                target.clone(),
                run.clone(),
                Arc::clone(&polls),
                Arc::clone(&next),
                plan.votes,
            ))
        })
        .collect();
    let mut acked = vec![Vec::new(); polls.len()];
    for (poll, created) in acked.iter_mut().zip(polls.iter()) {
        *poll = vec![0u64; created.weights.len()];
    }
    let mut errors = Errors::default();
    for task in tasks {
        let part = task.await.map_err(|_| "a voting task failed".to_owned())?;
        for (poll, counts) in part.acked.iter().enumerate() {
            for (option, n) in counts.iter().enumerate() {
                acked[poll][option] += n;
            }
        }
        errors.merge(part.errors);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cast: u64 = acked.iter().flatten().sum();
    println!(
        "seeded {} polls with {cast} votes in {elapsed:.1} s ({:.0} votes/s); failed votes: {errors}",
        polls.len(),
        cast as f64 / elapsed.max(f64::MIN_POSITIVE),
    );
    let mut mismatches = Vec::new();
    for (created, acked) in polls.iter().zip(&acked) {
        let counted = counts_of(target, &created.id).await?;
        println!(
            "  {}  {:?}  /#/polls/{}",
            created.question, counted, created.id
        );
        if &counted != acked {
            mismatches.push(format!(
                "{}: acknowledged {acked:?}, counted {counted:?}",
                created.id
            ));
        }
    }
    if errors.total() > 0 {
        return Err(format!("{} votes failed: {errors}", errors.total()));
    }
    if !mismatches.is_empty() {
        return Err(format!(
            "the results do not match the acknowledged votes: {}",
            mismatches.join("; ")
        ));
    }
    Ok(())
}

/// Asks for the newest poll until the API answers 200, for up to `wait`
/// (through nginx, `/readyz` is not reachable: only the API is).
async fn wait_until_ready(target: &Target, wait: Duration) -> Result<(), String> {
    let deadline = Instant::now() + wait;
    let mut conn = Conn::new(target.clone());
    loop {
        let last = match conn
            .send(Method::GET, "/api/polls?limit=1", None, None)
            .await
        {
            Ok(answer) if answer.status == StatusCode::OK => return Ok(()),
            Ok(answer) => format!("HTTP {}", answer.status.as_u16()),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            return Err(format!(
                "{} was not ready within {wait:?} ({last})",
                target.origin()
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A run id unlikely to repeat, so that seeding twice casts new votes rather
/// than replaying the last run's idempotency keys.
fn unique_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{:x}", std::process::id())
}

/// Creates one poll, with `key` as its `Idempotency-Key`.
async fn create(
    target: &Target,
    key: &str,
    question: &'static str,
    options: &[(&str, u32)],
) -> Result<Created, String> {
    let draft = serde_json::json!({
        "question": question,
        "options": options.iter().map(|(text, _)| *text).collect::<Vec<_>>(),
    });
    let answer = send_retrying(
        &mut Conn::new(target.clone()),
        "/api/polls",
        Bytes::from(draft.to_string()),
        key,
    )
    .await
    .map_err(|e| format!("creating {question:?}: {e}"))?;
    if answer.0 != StatusCode::CREATED {
        return Err(format!(
            "creating {question:?}: HTTP {}: {}",
            answer.0.as_u16(),
            String::from_utf8_lossy(&answer.1)
        ));
    }
    let poll: serde_json::Value =
        serde_json::from_slice(&answer.1).map_err(|e| format!("the created poll: {e}"))?;
    let id = poll
        .get("id")
        .and_then(|id| id.as_str())
        .ok_or("the created poll has no id")?;
    Ok(Created {
        id: id.to_owned(),
        question,
        weights: options.iter().map(|&(_, w)| w).collect(),
    })
}

/// What one voting task did.
struct Part {
    /// Acknowledged votes per poll and option.
    acked: Vec<Vec<u64>>,
    /// Votes that failed after every attempt.
    errors: Errors,
}

/// Casts votes until `total` have been taken by all tasks together.
async fn cast_votes(
    target: Target,
    run: String,
    polls: Arc<Vec<Created>>,
    next: Arc<AtomicUsize>,
    total: usize,
) -> Part {
    let mut conn = Conn::new(target);
    let mut part = Part {
        acked: polls.iter().map(|p| vec![0; p.weights.len()]).collect(),
        errors: Errors::default(),
    };
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= total {
            return part;
        }
        let poll_index = n % polls.len();
        let poll = &polls[poll_index];
        let option = weighted_pick(&poll.weights, n as u64);
        let body = Bytes::from(format!(r#"{{"choices":[{option}]}}"#));
        let path = format!("/api/polls/{}/votes", poll.id);
        let key = format!("seed-{run}-vote-{n}");
        match send_retrying(&mut conn, &path, body, &key).await {
            Ok((status, _)) if status.is_success() => part.acked[poll_index][option] += 1,
            Ok((status, _)) => part.errors.add(format!("HTTP {}", status.as_u16())),
            Err(e) => part.errors.add(e),
        }
    }
}

/// POSTs `body` to `path` with `Idempotency-Key: key`, trying again (same
/// key) after refusals and failures that may be passing: 429 and 503 after
/// their `Retry-After`, 502 and 504, and lost connections. A 429 is the
/// server pacing this client (all of the seed's voters share its address):
/// it is waited out however often it comes; the others count against
/// [`ATTEMPTS`]. Returns the last status and body.
async fn send_retrying(
    conn: &mut Conn,
    path: &str,
    body: Bytes,
    key: &str,
) -> Result<(StatusCode, Bytes), String> {
    let idempotency_key = HeaderName::from_static("idempotency-key");
    let mut failures = 0;
    loop {
        let (pause, failure) = match conn
            .send_with(
                Method::POST,
                path,
                Some(body.clone()),
                &[(idempotency_key.clone(), key)],
            )
            .await
        {
            Ok(answer) if answer.status == StatusCode::TOO_MANY_REQUESTS => {
                (answer.retry_after.unwrap_or(Duration::from_secs(1)), None)
            }
            Ok(answer) if is_passing(answer.status) => (
                answer.retry_after.unwrap_or(Duration::from_millis(200)),
                Some(format!("HTTP {}", answer.status.as_u16())),
            ),
            Ok(answer) => return Ok((answer.status, answer.body)),
            Err(e) => (Duration::from_millis(100 << failures.min(5)), Some(e)),
        };
        if let Some(failure) = failure {
            failures += 1;
            if failures >= ATTEMPTS {
                return Err(format!("{failure} after {ATTEMPTS} attempts"));
            }
        }
        tokio::time::sleep(pause.min(Duration::from_secs(10))).await;
    }
}

/// Whether a status says "not now" rather than "no".
fn is_passing(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// The counts of a poll's results, in option order.
async fn counts_of(target: &Target, poll_id: &str) -> Result<Vec<u64>, String> {
    let answer = Conn::new(target.clone())
        .send(
            Method::GET,
            &format!("/api/polls/{poll_id}/results"),
            None,
            None,
        )
        .await?;
    if answer.status != StatusCode::OK {
        return Err(format!(
            "reading the results of {poll_id}: HTTP {}",
            answer.status.as_u16()
        ));
    }
    let results: serde_json::Value =
        serde_json::from_slice(&answer.body).map_err(|e| format!("the results: {e}"))?;
    results
        .get("counts")
        .and_then(|c| c.as_array())
        .map(|counts| {
            counts
                .iter()
                .map(|c| c.get("votes").and_then(|v| v.as_u64()).unwrap_or(0))
                .collect()
        })
        .ok_or_else(|| format!("the results of {poll_id} have no counts"))
}

/// An option index drawn by `weights`, from the vote number `n`: the same
/// numbers always give the same choices.
fn weighted_pick(weights: &[u32], n: u64) -> usize {
    // SplitMix64 of the vote number: well spread, no generator state.
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum::<u64>().max(1);
    let mut ticket = z % total;
    for (i, &w) in weights.iter().enumerate() {
        if ticket < u64::from(w) {
            return i;
        }
        ticket -= u64::from(w);
    }
    weights.len().saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_follow_the_weights() {
        let weights = [1, 0, 3];
        let mut counts = [0u32; 3];
        for n in 0..40_000 {
            counts[weighted_pick(&weights, n)] += 1;
        }
        assert_eq!(counts[1], 0, "a zero weight is never picked");
        let ratio = f64::from(counts[2]) / f64::from(counts[0]);
        assert!((2.7..3.3).contains(&ratio), "{counts:?}");
        assert_eq!(weighted_pick(&[5], 7), 0);
    }

    #[test]
    fn every_seeded_poll_is_a_valid_draft() {
        for (question, options) in POLLS {
            assert!(!question.is_empty() && question.len() <= 300);
            assert!((2..=20).contains(&options.len()), "{question}");
            assert!(options.iter().all(|(_, w)| *w > 0), "{question}");
        }
    }

    #[test]
    fn only_passing_refusals_are_retried() {
        assert!(is_passing(StatusCode::TOO_MANY_REQUESTS));
        assert!(is_passing(StatusCode::SERVICE_UNAVAILABLE));
        assert!(!is_passing(StatusCode::UNPROCESSABLE_ENTITY));
        assert!(!is_passing(StatusCode::CONFLICT));
    }
}

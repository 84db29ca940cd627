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
use super::draw::{unique_run_id, weighted_pick};
use super::poll;
use super::retry::{send_retrying, Retry};
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
    let created = poll::create(target, key, &draft)
        .await
        .map_err(|e| format!("creating {question:?}: {e}"))?;
    Ok(Created {
        id: created.id,
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
        let idempotency_key = HeaderName::from_static("idempotency-key");
        let headers = [(idempotency_key, key.as_str())];
        match send_retrying(
            &mut conn,
            Method::POST,
            &path,
            Some(body),
            &headers,
            Retry::SEED,
        )
        .await
        {
            Ok(answer) if answer.status.is_success() => part.acked[poll_index][option] += 1,
            Ok(answer) => part.errors.add(format!("HTTP {}", answer.status.as_u16())),
            Err(e) => part.errors.add(e),
        }
    }
}

/// The counts of a poll's results, in option order.
async fn counts_of(target: &Target, poll_id: &str) -> Result<Vec<u64>, String> {
    let results = poll::results(target, poll_id)
        .await
        .map_err(|e| format!("reading the results of {poll_id}: {e}"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seeded_poll_is_a_valid_draft() {
        for (question, options) in POLLS {
            assert!(!question.is_empty() && question.len() <= 300);
            assert!((2..=20).contains(&options.len()), "{question}");
            assert!(options.iter().all(|(_, w)| *w > 0), "{question}");
        }
    }
}

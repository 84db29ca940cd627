//! The binary's default vote limits against a lecture hall: a thousand
//! people behind one address (a NAT) all vote within a minute, while one
//! script minting a fresh cookie for every vote is held to the address's
//! allowance and one browser hammering to its voter's.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::process::ServerProcess;
use crate::common::{create_poll, draft, id_of, Client, Response};
use futures_util::{stream, StreamExt};

/// The binary's defaults (`--rate-limit-votes-burst`, `--rate-limit-votes`,
/// `--rate-limit-voter-votes`), as SECURITY.md documents them.
const BURST: usize = 3_000;
const PER_MINUTE: usize = 1_200;
const VOTER_PER_MINUTE: usize = 30;

/// How many browsers talk to the server at once.
const CONCURRENCY: usize = 64;

/// The `Retry-After` of a 429, after checking it is the documented refusal:
/// the JSON error `rate_limited`.
fn retry_after(refused: &Response) -> Duration {
    let body = refused.assert_error(429, "rate_limited");
    assert!(body["error"]["message"].is_string(), "{body}");
    let seconds: u64 = refused
        .header("retry-after")
        .expect("Retry-After on 429")
        .parse()
        .expect("Retry-After in whole seconds");
    assert!(seconds >= 1, "{seconds}");
    Duration::from_secs(seconds)
}

/// The votes counted in poll `id`.
async fn total(server: &ServerProcess, id: &str) -> u64 {
    Client::new(server.addr)
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200)["total"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_voters_behind_one_address_are_all_counted_within_a_minute() {
    let server = ServerProcess::start(&[]).await;
    let (poll, _) = create_poll(&Client::new(server.addr), draft(&["yes", "no"])).await;
    let id = id_of(&poll);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(60);
    let refusals = Arc::new(AtomicUsize::new(0));

    let counted: usize = stream::iter(0..1_000u32)
        .map(|n| {
            let (id, refusals) = (id.clone(), Arc::clone(&refusals));
            let browser = Client::new(server.addr);
            async move {
                // Each browser loads the poll, then votes, honouring
                // Retry-After until the minute is up.
                browser
                    .get(&format!("/api/polls/{id}"))
                    .await
                    .assert_json(200);
                loop {
                    let response = browser.vote(&id, &[n % 2]).await;
                    if response.status == 201 {
                        return 1;
                    }
                    let wait = retry_after(&response);
                    refusals.fetch_add(1, Ordering::Relaxed);
                    if Instant::now() + wait > deadline {
                        return 0;
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .fold(0, |sum, one| async move { sum + one })
        .await;
    let elapsed = started.elapsed();
    let refusals = refusals.load(Ordering::Relaxed);

    assert_eq!(
        counted, 1_000,
        "{counted} of 1,000 counted in {elapsed:?}, {refusals} refusals"
    );
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
    assert_eq!(refusals, 0, "the hall fits in one burst");
    assert_eq!(total(&server, &id).await, 1_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_minting_a_cookie_per_vote_gets_the_address_burst_then_429() {
    let server = ServerProcess::start(&[]).await;
    let (poll, _) = create_poll(&Client::new(server.addr), draft(&["yes", "no"])).await;
    let id = id_of(&poll);
    let started = Instant::now();
    // Every request without a cookie: a new voter each time.
    let attempts = BURST + 200;
    let responses: Vec<Response> = stream::iter(0..attempts)
        .map(|_| {
            let id = id.clone();
            let fresh = Client::new(server.addr);
            async move { fresh.vote(&id, &[0]).await }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let elapsed = started.elapsed();

    let accepted = responses.iter().filter(|r| r.status == 201).count();
    let refill = (PER_MINUTE as f64 * elapsed.as_secs_f64() / 60.0).ceil() as usize;
    assert!(
        accepted >= BURST && accepted <= BURST + refill + 2,
        "{accepted} accepted in {elapsed:?}: the bound is {BURST} + {refill}"
    );
    for refused in responses.iter().filter(|r| r.status != 201) {
        retry_after(refused);
    }
    assert_eq!(total(&server, &id).await, accepted as u64);
    // Once spent, fresh cookies are refused too: of ten at once, at most the
    // one or two the refill (20 a second) has granted since get through.
    let more: Vec<Response> = stream::iter(0..10)
        .map(|_| {
            let id = id.clone();
            let fresh = Client::new(server.addr);
            async move { fresh.vote(&id, &[0]).await }
        })
        .buffer_unordered(10)
        .collect()
        .await;
    let refused: Vec<&Response> = more.iter().filter(|r| r.status != 201).collect();
    assert!(refused.len() >= 8, "{} of 10 refused", refused.len());
    for refused in refused {
        assert!(retry_after(refused) <= Duration::from_secs(1));
    }
}

#[tokio::test]
async fn one_voter_hammering_is_held_to_the_voter_limit_and_the_address_is_not_spent() {
    let server = ServerProcess::start(&[]).await;
    let (poll, _) = create_poll(&Client::new(server.addr), draft(&["yes", "no"])).await;
    let id = id_of(&poll);
    let hammer = Client::new(server.addr);
    let started = Instant::now();
    // The first vote has no cookie yet: the address's allowance alone.
    hammer.vote(&id, &[0]).await.assert_json(201);
    assert!(hammer.voter_id().is_some());
    let mut answered = 0;
    let mut refused = 0;
    for _ in 0..100 {
        let response = hammer.vote(&id, &[0]).await;
        if response.status == 429 {
            retry_after(&response);
            refused += 1;
        } else {
            // The same ballot again: the original receipt.
            response.assert_json(200);
            answered += 1;
        }
    }
    let refill = (VOTER_PER_MINUTE as f64 * started.elapsed().as_secs_f64() / 60.0).ceil() as usize;
    assert!(
        answered >= VOTER_PER_MINUTE && answered <= VOTER_PER_MINUTE + refill,
        "{answered} answered with a cookie, {refused} refused"
    );
    // Others behind the same address still vote.
    for _ in 0..10 {
        Client::new(server.addr)
            .vote(&id, &[1])
            .await
            .assert_json(201);
    }
    assert_eq!(total(&server, &id).await, 11);
}

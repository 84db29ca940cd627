//! The conformance cases of [`IdempotencyStore`].
//!
//! Each case takes a fresh, empty store and panics when the store breaks the
//! contract written on [`IdempotencyStore`] and in the [module
//! docs](crate::idempotency). Run them all with
//! [`idempotency_conformance_tests!`](crate::idempotency_conformance_tests).
//! Times are passed to the store, so the cases step over expiry without
//! waiting.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::idempotency::{Begun, Claim, Fingerprint, IdempotencyStore, Lease, StoredResponse};

/// Generates one test per case of [`testing::idempotency`](crate::testing::idempotency).
///
/// Used like [`store_conformance_tests!`](crate::store_conformance_tests);
/// `make` must give a fresh, empty store each time.
///
/// # Example
///
/// ```
/// polling_core::idempotency_conformance_tests!(
///     #[tokio::test(flavor = "multi_thread")] => polling_core::memory::MemoryIdempotencyStore::new()
/// );
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! idempotency_conformance_tests {
    (#[$attr:meta] $($arg:ident : $ty:ty),* $(,)? => $make:expr $(,)?) => {
        $crate::__conformance_tests!(idempotency, #[$attr] ($($arg: $ty),*) => $make;
            a_new_key_is_leased_and_its_completed_response_replayed,
            another_fingerprint_under_a_key_is_a_mismatch,
            the_same_request_while_it_runs_is_in_progress,
            an_abandoned_lease_frees_the_key,
            an_expired_lease_frees_the_key_and_cannot_complete_later,
            a_completed_response_expires,
            keys_are_independent,
            racing_claims_lease_a_key_once,
        );
    };
}

/// A claim of `key` for a request with `body` at `at`, leased for a minute.
fn claim(key: &str, body: &[u8], at: OffsetDateTime) -> Claim {
    Claim {
        key: key.to_owned(),
        fingerprint: Fingerprint::of(body),
        at,
        lease: Duration::minutes(1),
    }
}

fn response(status: u16, body: &str) -> StoredResponse {
    StoredResponse {
        status,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("set-cookie".into(), "a=1; Path=/".into()),
            ("set-cookie".into(), "b=2; Path=/".into()),
        ],
        body: body.as_bytes().to_vec(),
    }
}

async fn begin<S: IdempotencyStore>(store: &S, claim: &Claim) -> Begun {
    store
        .begin(claim)
        .await
        .unwrap_or_else(|e| panic!("begin of {:?} failed: {e:?}", claim.key))
}

async fn fresh<S: IdempotencyStore>(store: &S, claim: &Claim) -> Lease {
    match begin(store, claim).await {
        Begun::Fresh(lease) => lease,
        other => panic!("{:?} should be free, got {other:?}", claim.key),
    }
}

async fn complete<S: IdempotencyStore>(
    store: &S,
    lease: &Lease,
    response: &StoredResponse,
    expires_at: OffsetDateTime,
) {
    store
        .complete(lease, response, expires_at)
        .await
        .unwrap_or_else(|e| panic!("complete of {:?} failed: {e:?}", lease.key()));
}

/// A key never seen is leased; once completed, the same request gets the
/// stored response back, status, headers (in order, repeated names kept)
/// and body alike, for as long as it has not expired.
pub async fn a_new_key_is_leased_and_its_completed_response_replayed<S: IdempotencyStore>(
    store: S,
) {
    let now = crate::now();
    let first = claim("POST /api/polls k1", b"{\"q\":1}", now);
    let lease = fresh(&store, &first).await;
    assert_eq!(lease.key(), first.key, "the lease names its key");
    let answer = response(201, "{\"id\":\"x\"}");
    complete(&store, &lease, &answer, now + Duration::hours(24)).await;

    for later in [now, now + Duration::hours(23)] {
        let again = claim("POST /api/polls k1", b"{\"q\":1}", later);
        assert_eq!(
            begin(&store, &again).await,
            Begun::Replay(answer.clone()),
            "the same request is answered with the stored response"
        );
    }
}

/// The same key with another fingerprint is a mismatch, whether the first
/// request is still running or completed.
pub async fn another_fingerprint_under_a_key_is_a_mismatch<S: IdempotencyStore>(store: S) {
    let now = crate::now();
    let lease = fresh(&store, &claim("k", b"one", now)).await;
    assert_eq!(
        begin(&store, &claim("k", b"two", now)).await,
        Begun::Mismatch,
        "another body while the first runs"
    );
    complete(
        &store,
        &lease,
        &response(200, "{}"),
        now + Duration::hours(1),
    )
    .await;
    assert_eq!(
        begin(&store, &claim("k", b"two", now)).await,
        Begun::Mismatch,
        "another body after the first completed"
    );
    assert!(
        matches!(
            begin(&store, &claim("k", b"one", now)).await,
            Begun::Replay(_)
        ),
        "the mismatch changed nothing"
    );
}

/// The same request again before the first completed is in progress, and
/// does not take the lease over.
pub async fn the_same_request_while_it_runs_is_in_progress<S: IdempotencyStore>(store: S) {
    let now = crate::now();
    let first = claim("k", b"body", now);
    let lease = fresh(&store, &first).await;
    let soon = claim("k", b"body", now + Duration::seconds(30));
    assert_eq!(begin(&store, &soon).await, Begun::InProgress);
    let answer = response(201, "{\"first\":true}");
    complete(&store, &lease, &answer, now + Duration::hours(1)).await;
    assert_eq!(begin(&store, &soon).await, Begun::Replay(answer));
}

/// An abandoned lease frees its key at once: the next claim, with any body,
/// is fresh. Abandoning or completing a lease that is no longer the key's
/// changes nothing.
pub async fn an_abandoned_lease_frees_the_key<S: IdempotencyStore>(store: S) {
    let now = crate::now();
    let old = fresh(&store, &claim("k", b"one", now)).await;
    store.abandon(&old).await.expect("abandon");
    let new = fresh(&store, &claim("k", b"two", now)).await;
    assert_ne!(old, new, "a new lease");

    store.abandon(&old).await.expect("abandon of a stale lease");
    complete(
        &store,
        &old,
        &response(500, "stale"),
        now + Duration::hours(1),
    )
    .await;
    assert_eq!(
        begin(&store, &claim("k", b"two", now)).await,
        Begun::InProgress,
        "the stale lease neither freed nor completed the key"
    );
    let answer = response(201, "{\"second\":true}");
    complete(&store, &new, &answer, now + Duration::hours(1)).await;
    assert_eq!(
        begin(&store, &claim("k", b"two", now)).await,
        Begun::Replay(answer)
    );
}

/// A lease neither completed nor abandoned ends after its lease time: the
/// key is free again, and the old holder's late `complete` does not
/// overwrite the new holder's key.
pub async fn an_expired_lease_frees_the_key_and_cannot_complete_later<S: IdempotencyStore>(
    store: S,
) {
    let now = crate::now();
    let old = fresh(&store, &claim("k", b"body", now)).await;
    let after = now + Duration::minutes(1);
    let new = fresh(&store, &claim("k", b"body", after)).await;
    complete(
        &store,
        &old,
        &response(201, "old"),
        after + Duration::hours(1),
    )
    .await;
    assert_eq!(
        begin(&store, &claim("k", b"body", after)).await,
        Begun::InProgress,
        "the expired lease's completion was ignored"
    );
    let answer = response(201, "new");
    complete(&store, &new, &answer, after + Duration::hours(1)).await;
    assert_eq!(
        begin(&store, &claim("k", b"body", after)).await,
        Begun::Replay(answer)
    );
}

/// A completed response is kept until its expiry and not after: then the
/// key is free for any request.
pub async fn a_completed_response_expires<S: IdempotencyStore>(store: S) {
    let now = crate::now();
    let lease = fresh(&store, &claim("k", b"one", now)).await;
    let expires_at = now + Duration::hours(24);
    complete(&store, &lease, &response(201, "{}"), expires_at).await;
    assert!(matches!(
        begin(
            &store,
            &claim("k", b"one", expires_at - Duration::seconds(1))
        )
        .await,
        Begun::Replay(_)
    ));
    fresh(&store, &claim("k", b"two", expires_at)).await;
}

/// Keys are independent: leasing, completing and abandoning one leaves the
/// others as they were.
pub async fn keys_are_independent<S: IdempotencyStore>(store: S) {
    let now = crate::now();
    let a = fresh(&store, &claim("a", b"body", now)).await;
    let b = fresh(&store, &claim("b", b"body", now)).await;
    complete(&store, &a, &response(201, "a"), now + Duration::hours(1)).await;
    store.abandon(&b).await.expect("abandon");
    assert_eq!(
        begin(&store, &claim("a", b"body", now)).await,
        Begun::Replay(response(201, "a"))
    );
    fresh(&store, &claim("b", b"body", now)).await;
    fresh(&store, &claim("c", b"body", now)).await;
}

/// Many claims of one new key at once: exactly one is fresh, the others are
/// in progress.
pub async fn racing_claims_lease_a_key_once<S: IdempotencyStore>(store: S) {
    let store = Arc::new(store);
    let now = crate::now();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            begin(&*store, &claim("race", b"body", now)).await
        }));
    }
    let mut fresh = 0;
    for task in tasks {
        match task.await.expect("a claim task") {
            Begun::Fresh(_) => fresh += 1,
            Begun::InProgress => {}
            other => panic!("a racing claim got {other:?}"),
        }
    }
    assert_eq!(fresh, 1, "exactly one claim gets the lease");
}

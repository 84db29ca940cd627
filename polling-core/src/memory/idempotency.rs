//! [`MemoryIdempotencyStore`]: idempotency keys in process memory, at most
//! so many at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::{PollError, Result};
use crate::idempotency::{Begun, Claim, Fingerprint, IdempotencyStore, Lease, StoredResponse};
use crate::metrics::{IDEMPOTENCY_EVICTIONS_TOTAL, IDEMPOTENCY_KEYS};

/// The most expired keys one [`begin`](IdempotencyStore::begin) drops.
const SWEEP_LIMIT: usize = 64;

/// An [`IdempotencyStore`] in process memory: right for one server, not for
/// replicas (each would have its own). Clones share the same keys.
///
/// Anyone can send keys (every vote on any poll with a fresh
/// `Idempotency-Key` leaves one, a `404` on a random poll id included), so
/// the store holds at most [`DEFAULT_MAX_KEYS`](Self::DEFAULT_MAX_KEYS)
/// records, or as many as [`with_max_keys`](Self::with_max_keys) says. To
/// make room for a new key it drops, in order: a record that has expired;
/// else the oldest completed response (an evicted key is answered as new: a
/// retry of it runs its request again, where the store's own rule of one
/// ballot per voter still holds). A lease whose request is running is never
/// evicted, so one key never runs two requests at once: when every record
/// is a running request, a new key is refused with
/// [`PollError::Unavailable`] (the server answers 503) until one ends.
///
/// The keys held are the [`IDEMPOTENCY_KEYS`] gauge, and completed
/// responses dropped before their expiry the [`IDEMPOTENCY_EVICTIONS_TOTAL`]
/// counter.
///
/// See the [module example](crate::idempotency).
#[derive(Clone, Debug)]
pub struct MemoryIdempotencyStore {
    /// The keys, behind one lock: every operation is a few map updates.
    inner: Arc<Mutex<Keys>>,
}

/// The keys and their indexes, changed together under one lock.
#[derive(Debug)]
struct Keys {
    /// Each key's record.
    records: HashMap<String, Record>,
    /// Every record by expiry, so expired ones are found without a scan.
    by_expiry: BTreeSet<(OffsetDateTime, String)>,
    /// The completed records by the order they completed in: the oldest is
    /// the one evicted when the store is full and nothing has expired.
    completed: BTreeMap<u64, String>,
    /// The number the next completed record gets in `completed`.
    next_completion: u64,
    /// The most records held at once (at least 1).
    max_keys: usize,
}

/// One key: who holds it, for which request, and until when.
#[derive(Debug)]
struct Record {
    /// The fingerprint of the request that took the key.
    fingerprint: Fingerprint,
    /// The lease's token while running; kept after completion so a late
    /// `complete` of an older lease is told apart.
    token: uuid::Uuid,
    /// `None` while the request runs.
    response: Option<StoredResponse>,
    /// The end of the lease while running, of the kept response after.
    expires_at: OffsetDateTime,
    /// Its number in [`Keys::completed`] once completed; `None` while the
    /// request runs (a running request is never evicted).
    completion: Option<u64>,
}

impl Default for MemoryIdempotencyStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryIdempotencyStore {
    /// The most keys a store holds by default: with responses of a few
    /// hundred bytes (a vote's receipt), some tens of megabytes.
    pub const DEFAULT_MAX_KEYS: usize = 100_000;

    /// An empty store holding at most [`DEFAULT_MAX_KEYS`](Self::DEFAULT_MAX_KEYS) keys.
    pub fn new() -> Self {
        Self::with_max_keys(Self::DEFAULT_MAX_KEYS)
    }

    /// An empty store holding at most `max_keys` keys (at least 1): see the
    /// [type's docs](Self) for which key makes room for a new one.
    pub fn with_max_keys(max_keys: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Keys::new(max_keys))),
        }
    }

    /// The most keys this store holds.
    pub fn max_keys(&self) -> usize {
        lock(&self.inner).max_keys
    }

    /// How many keys are held, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        lock(&self.inner).records.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

// Every update below is computed before it is written, so a poisoned lock
// still holds consistent data.
fn lock(keys: &Mutex<Keys>) -> std::sync::MutexGuard<'_, Keys> {
    keys.lock().unwrap_or_else(|e| e.into_inner())
}

impl Keys {
    fn new(max_keys: usize) -> Self {
        Self {
            records: HashMap::new(),
            by_expiry: BTreeSet::new(),
            completed: BTreeMap::new(),
            next_completion: 0,
            max_keys: max_keys.max(1),
        }
    }

    fn remove(&mut self, key: &str) {
        if let Some(record) = self.records.remove(key) {
            self.by_expiry.remove(&(record.expires_at, key.to_owned()));
            if let Some(completion) = record.completion {
                self.completed.remove(&completion);
            }
        }
    }

    /// Stores `record` under `key`, in place of the key's record if any;
    /// a completed record (`response` set) is numbered as the newest.
    fn insert(&mut self, key: String, mut record: Record) {
        self.remove(&key);
        self.by_expiry.insert((record.expires_at, key.clone()));
        record.completion = None;
        if record.response.is_some() {
            let completion = self.next_completion;
            self.next_completion += 1;
            self.completed.insert(completion, key.clone());
            record.completion = Some(completion);
        }
        self.records.insert(key, record);
    }

    /// Whether the key's record is still `lease`'s, its request not
    /// completed: what `complete` and `abandon` may act on.
    fn is_running_under(&self, lease: &Lease) -> bool {
        self.records
            .get(lease.key())
            .is_some_and(|r| r.token == lease.token() && r.response.is_none())
    }

    /// Drops up to [`SWEEP_LIMIT`] records expired at `now`.
    fn sweep(&mut self, now: OffsetDateTime) {
        let expired: Vec<String> = self
            .by_expiry
            .iter()
            .take_while(|(expires_at, _)| *expires_at <= now)
            .take(SWEEP_LIMIT)
            .map(|(_, key)| key.clone())
            .collect();
        for key in expired {
            self.remove(&key);
        }
    }

    /// Makes room for one more record when the store is full: drops an
    /// expired record, else the oldest completed one (an eviction, counted).
    /// Refuses when every record is a request running now.
    fn make_room(&mut self, now: OffsetDateTime) -> Result<()> {
        while self.records.len() >= self.max_keys {
            let expired = self
                .by_expiry
                .first()
                .filter(|(expires_at, _)| *expires_at <= now)
                .map(|(_, key)| key.clone());
            if let Some(key) = expired {
                self.remove(&key);
                continue;
            }
            let Some(oldest) = self.completed.first_key_value().map(|(_, key)| key.clone()) else {
                return Err(PollError::unavailable(format!(
                    "idempotency keys full: all {} are requests in flight",
                    self.max_keys
                )));
            };
            self.remove(&oldest);
            metrics::counter!(IDEMPOTENCY_EVICTIONS_TOTAL).increment(1);
        }
        Ok(())
    }

    /// Sets the [`IDEMPOTENCY_KEYS`] gauge to the records held.
    fn record_gauge(&self) {
        metrics::gauge!(IDEMPOTENCY_KEYS).set(self.records.len() as f64);
    }
}

#[async_trait]
impl IdempotencyStore for MemoryIdempotencyStore {
    async fn begin(&self, claim: &Claim) -> Result<Begun> {
        let mut keys = lock(&self.inner);
        keys.sweep(claim.at);
        if let Some(record) = keys.records.get(&claim.key) {
            if record.expires_at > claim.at {
                return Ok(if record.fingerprint != claim.fingerprint {
                    Begun::Mismatch
                } else if let Some(response) = &record.response {
                    Begun::Replay(response.clone())
                } else {
                    Begun::InProgress
                });
            }
        }
        // The key's own expired record is replaced: no room needed.
        if !keys.records.contains_key(&claim.key) {
            let made = keys.make_room(claim.at);
            keys.record_gauge();
            made?;
        }
        let lease = Lease::generate(claim.key.clone());
        let record = Record {
            fingerprint: claim.fingerprint,
            token: lease.token(),
            response: None,
            expires_at: claim.at + claim.lease,
            completion: None,
        };
        keys.insert(claim.key.clone(), record);
        keys.record_gauge();
        Ok(Begun::Fresh(lease))
    }

    async fn complete(
        &self,
        lease: &Lease,
        response: &StoredResponse,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        let mut keys = lock(&self.inner);
        if keys.is_running_under(lease) {
            let fingerprint = keys.records[lease.key()].fingerprint;
            let record = Record {
                fingerprint,
                token: lease.token(),
                response: Some(response.clone()),
                expires_at,
                completion: None,
            };
            keys.insert(lease.key().to_owned(), record);
        }
        Ok(())
    }

    async fn abandon(&self, lease: &Lease) -> Result<()> {
        let mut keys = lock(&self.inner);
        if keys.is_running_under(lease) {
            keys.remove(lease.key());
            keys.record_gauge();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;

    fn pending(at: OffsetDateTime) -> Record {
        Record {
            fingerprint: Fingerprint::of(b""),
            token: uuid::Uuid::new_v4(),
            response: None,
            expires_at: at,
            completion: None,
        }
    }

    fn claim(key: &str, at: OffsetDateTime) -> Claim {
        Claim {
            key: key.to_owned(),
            fingerprint: Fingerprint::of(b"body"),
            at,
            lease: Duration::minutes(1),
        }
    }

    fn answer(body: &str) -> StoredResponse {
        StoredResponse {
            status: 201,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    /// Leases `key` at `at` and completes it with `key` as the body, kept
    /// for a day.
    async fn completed(store: &MemoryIdempotencyStore, key: &str, at: OffsetDateTime) {
        let Begun::Fresh(lease) = store.begin(&claim(key, at)).await.unwrap() else {
            panic!("{key} should be new");
        };
        store
            .complete(&lease, &answer(key), at + Duration::days(1))
            .await
            .unwrap();
    }

    #[test]
    fn expired_keys_are_swept_a_bounded_number_at_a_time() {
        let mut keys = Keys::new(1000);
        let start = crate::now();
        for i in 0..(SWEEP_LIMIT + 10) {
            keys.insert(format!("key-{i}"), pending(start));
        }
        keys.insert("alive".into(), pending(start + Duration::hours(1)));
        let later = start + Duration::seconds(5);
        keys.sweep(later);
        assert_eq!(
            keys.records.len(),
            10 + 1,
            "one sweep drops SWEEP_LIMIT keys"
        );
        keys.sweep(later);
        assert_eq!(keys.records.len(), 1, "the next sweep drops the rest");
        assert!(keys.records.contains_key("alive"), "unexpired keys stay");
        assert_eq!(keys.by_expiry.len(), 1, "the index follows the records");
    }

    #[tokio::test]
    async fn past_the_cap_the_oldest_response_is_evicted_and_its_key_is_new_again() {
        let store = MemoryIdempotencyStore::with_max_keys(100);
        let now = crate::now();
        for i in 0..250 {
            completed(&store, &format!("key-{i}"), now).await;
            assert!(store.len() <= 100, "{} keys after {i}", store.len());
        }
        assert_eq!(store.len(), 100, "the count stays at the cap");
        assert_eq!(
            store.begin(&claim("key-249", now)).await.unwrap(),
            Begun::Replay(answer("key-249")),
            "the newest responses are kept"
        );
        assert_eq!(
            store.begin(&claim("key-150", now)).await.unwrap(),
            Begun::Replay(answer("key-150")),
            "the 100 newest are kept"
        );
        assert!(
            matches!(
                store.begin(&claim("key-149", now)).await.unwrap(),
                Begun::Fresh(_)
            ),
            "an evicted key is treated as new"
        );
        let keys = lock(&store.inner);
        assert_eq!(keys.by_expiry.len(), keys.records.len());
        assert_eq!(keys.completed.len(), keys.records.len() - 1, "key-149 runs");
    }

    #[tokio::test]
    async fn expired_keys_make_room_before_any_response_is_evicted() {
        let store = MemoryIdempotencyStore::with_max_keys(2);
        let now = crate::now();
        completed(&store, "kept", now).await;
        let Begun::Fresh(_) = store.begin(&claim("died", now)).await.unwrap() else {
            panic!("new");
        };
        // The dead request's lease ends after a minute: it goes, not "kept".
        let later = now + Duration::minutes(2);
        completed(&store, "next", later).await;
        assert_eq!(store.len(), 2);
        assert_eq!(
            store.begin(&claim("kept", later)).await.unwrap(),
            Begun::Replay(answer("kept"))
        );
    }

    #[tokio::test]
    async fn a_running_request_is_never_evicted_so_its_key_stays_in_progress() {
        let store = MemoryIdempotencyStore::with_max_keys(3);
        let now = crate::now();
        let mut running = Vec::new();
        for key in ["a", "b"] {
            let Begun::Fresh(lease) = store.begin(&claim(key, now)).await.unwrap() else {
                panic!("{key} should be new");
            };
            running.push(lease);
        }
        completed(&store, "done", now).await;
        // Full: the completed response makes room, never a running request.
        completed(&store, "c", now).await;
        completed(&store, "d", now).await;
        for key in ["a", "b"] {
            assert_eq!(
                store.begin(&claim(key, now)).await.unwrap(),
                Begun::InProgress,
                "{key} still runs, once"
            );
        }
        // Every key but one running: the last completed one goes...
        let Begun::Fresh(e) = store.begin(&claim("e", now)).await.unwrap() else {
            panic!("e should be new");
        };
        // ...and with every key running, a new key is refused, not admitted
        // by evicting a running one.
        let refused = store.begin(&claim("f", now)).await;
        assert!(
            matches!(refused, Err(PollError::Unavailable(_))),
            "{refused:?}"
        );
        assert_eq!(store.len(), 3);
        store.abandon(&e).await.unwrap();
        assert!(matches!(
            store.begin(&claim("f", now)).await.unwrap(),
            Begun::Fresh(_)
        ));
        for lease in &running {
            store
                .complete(lease, &answer(lease.key()), now + Duration::hours(1))
                .await
                .unwrap();
            assert_eq!(
                store.begin(&claim(lease.key(), now)).await.unwrap(),
                Begun::Replay(answer(lease.key())),
                "the running request completed its own key"
            );
        }
    }
}

//! [`MemoryIdempotencyStore`]: idempotency keys in process memory.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::Result;
use crate::idempotency::{Begun, Claim, Fingerprint, IdempotencyStore, Lease, StoredResponse};

/// The most expired keys one [`begin`](IdempotencyStore::begin) drops.
const SWEEP_LIMIT: usize = 64;

/// An [`IdempotencyStore`] in process memory: right for one server, not for
/// replicas (each would have its own). Clones share the same keys.
///
/// See the [module example](crate::idempotency).
#[derive(Clone, Debug, Default)]
pub struct MemoryIdempotencyStore {
    /// The keys, behind one lock: every operation is a few map updates.
    inner: Arc<Mutex<Keys>>,
}

/// The keys and their expiry index, changed together under one lock.
#[derive(Debug, Default)]
struct Keys {
    /// Each key's record.
    records: HashMap<String, Record>,
    /// Every record by expiry, so expired ones are found without a scan.
    by_expiry: BTreeSet<(OffsetDateTime, String)>,
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
}

impl MemoryIdempotencyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
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
    fn remove(&mut self, key: &str) {
        if let Some(record) = self.records.remove(key) {
            self.by_expiry.remove(&(record.expires_at, key.to_owned()));
        }
    }

    fn insert(&mut self, key: String, record: Record) {
        self.remove(&key);
        self.by_expiry.insert((record.expires_at, key.clone()));
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
        let lease = Lease::generate(claim.key.clone());
        let record = Record {
            fingerprint: claim.fingerprint,
            token: lease.token(),
            response: None,
            expires_at: claim.at + claim.lease,
        };
        keys.insert(claim.key.clone(), record);
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
            };
            keys.insert(lease.key().to_owned(), record);
        }
        Ok(())
    }

    async fn abandon(&self, lease: &Lease) -> Result<()> {
        let mut keys = lock(&self.inner);
        if keys.is_running_under(lease) {
            keys.remove(lease.key());
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
        }
    }

    #[test]
    fn expired_keys_are_swept_a_bounded_number_at_a_time() {
        let mut keys = Keys::default();
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
}

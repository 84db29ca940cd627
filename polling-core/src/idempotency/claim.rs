//! [`Claim`] and [`Lease`]: asking for a key, and holding it.

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::Fingerprint;

/// A request for an idempotency key; see [`IdempotencyStore::begin`](super::IdempotencyStore::begin).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The key as scoped by the caller: the client's key plus whatever keeps
    /// clients and operations apart (method, path, client identity).
    pub key: String,
    /// The request's fingerprint: the same key with another one is refused.
    pub fingerprint: Fingerprint,
    /// Now, as the caller's clock says.
    pub at: OffsetDateTime,
    /// How long the lease lasts if it is neither completed nor abandoned
    /// (its holder died): then a retry may run.
    pub lease: Duration,
}

/// The right to run the request of a key, handed out by
/// [`Begun::Fresh`](super::Begun::Fresh) and ended by
/// [`complete`](super::IdempotencyStore::complete) or
/// [`abandon`](super::IdempotencyStore::abandon).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Lease {
    /// The scoped key.
    key: String,
    /// Tells this lease from a later one of the same key.
    token: Uuid,
}

impl Lease {
    /// A new lease of `key`, with a random token.
    pub fn generate(key: impl Into<String>) -> Self {
        Self::from_parts(key, Uuid::new_v4())
    }

    /// A lease of `key` with `token`, as a store read it back.
    pub fn from_parts(key: impl Into<String>, token: Uuid) -> Self {
        Self {
            key: key.into(),
            token,
        }
    }

    /// The scoped key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The token telling this lease from others of the same key.
    pub fn token(&self) -> Uuid {
        self.token
    }
}

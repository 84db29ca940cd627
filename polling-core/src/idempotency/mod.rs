//! Safe retries: [`IdempotencyStore`] remembers the response to a request
//! sent with an `Idempotency-Key`, so that a client retrying after a lost
//! answer gets the original response instead of doing the work twice (as in
//! the IETF draft "The Idempotency-Key HTTP Header Field").
//!
//! A request with a key goes through three steps:
//!
//! 1. [`begin`](IdempotencyStore::begin) with a [`Claim`]: the scoped key,
//!    the [`Fingerprint`] of the request, the time, and how long the lease
//!    lasts. The answer is a [`Begun`]:
//!    * [`Fresh`](Begun::Fresh): nobody holds the key: run the request under
//!      the returned [`Lease`];
//!    * [`Replay`](Begun::Replay): the same request completed before: answer
//!      its [`StoredResponse`];
//!    * [`Mismatch`](Begun::Mismatch): the key was used with another request;
//!    * [`InProgress`](Begun::InProgress): the same request is running now.
//! 2. [`complete`](IdempotencyStore::complete) stores the response until it
//!    expires, or [`abandon`](IdempotencyStore::abandon) frees the key (a
//!    response that should not be replayed, such as a 503).
//! 3. A lease neither completed nor abandoned (its process died) expires at
//!    the end of its lease time, and the key is free again.
//!
//! Times are passed in, never read from a clock, so that replicas agree on a
//! shared store and tests can step over expiry.
//!
//! # Example
//!
//! ```
//! use polling_core::idempotency::{Begun, Claim, Fingerprint, IdempotencyStore, StoredResponse};
//! use polling_core::memory::MemoryIdempotencyStore;
//! use time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> polling_core::Result<()> {
//! let store = MemoryIdempotencyStore::new();
//! let claim = Claim {
//!     key: "POST /api/polls key-1".into(),
//!     fingerprint: Fingerprint::of(br#"{"question":"?"}"#),
//!     at: polling_core::now(),
//!     lease: Duration::seconds(30),
//! };
//! let Begun::Fresh(lease) = store.begin(&claim).await? else { panic!("a new key") };
//! let response = StoredResponse { status: 201, headers: vec![], body: b"{}".to_vec() };
//! store.complete(&lease, &response, claim.at + Duration::hours(24)).await?;
//!
//! assert_eq!(store.begin(&claim).await?, Begun::Replay(response));
//! # Ok(())
//! # }
//! ```

mod claim;
mod fingerprint;
mod stored_response;

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

pub use claim::{Claim, Lease};
pub use fingerprint::Fingerprint;
pub use stored_response::StoredResponse;

use crate::error::Result;

/// What [`IdempotencyStore::begin`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Begun {
    /// The key was free (never used, expired, or abandoned): it is now leased
    /// to the caller, who runs the request and then completes or abandons.
    Fresh(Lease),
    /// The same request (same fingerprint) completed with this response.
    Replay(StoredResponse),
    /// The key is held (running or completed) for a request with another
    /// fingerprint.
    Mismatch,
    /// The same request holds a lease that has not ended yet.
    InProgress,
}

/// Where idempotency keys and their responses live; shared by every replica
/// when it is a database.
///
/// Every implementation passes the conformance suite in
/// `polling_core::testing::idempotency` (feature `testing`). See the [module
/// example](self).
#[async_trait]
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Leases `claim.key` to the caller, or says why not (see [`Begun`]). A
    /// record whose expiry is at or before `claim.at` counts as absent, and
    /// an implementation drops some expired records here (a bounded number
    /// per call), so the store does not grow with dead keys.
    async fn begin(&self, claim: &Claim) -> Result<Begun>;

    /// Stores `response` for the lease's key until `expires_at`. Does
    /// nothing when the lease is no longer the key's (it expired and another
    /// request took the key).
    async fn complete(
        &self,
        lease: &Lease,
        response: &StoredResponse,
        expires_at: OffsetDateTime,
    ) -> Result<()>;

    /// Frees the lease's key at once. Does nothing when the lease is no
    /// longer the key's.
    async fn abandon(&self, lease: &Lease) -> Result<()>;
}

#[async_trait]
impl<T: IdempotencyStore + ?Sized> IdempotencyStore for Arc<T> {
    async fn begin(&self, claim: &Claim) -> Result<Begun> {
        (**self).begin(claim).await
    }

    async fn complete(
        &self,
        lease: &Lease,
        response: &StoredResponse,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        (**self).complete(lease, response, expires_at).await
    }

    async fn abandon(&self, lease: &Lease) -> Result<()> {
        (**self).abandon(lease).await
    }
}

//! [`ResultsCache`]: a versioned cache of poll results.

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{PollId, Results};
use crate::error::Result;

/// A cache of each poll's latest [`Results`].
///
/// Used read-through by [`CacheLayer`](crate::layer::CacheLayer). Errors
/// never fail a vote: the layer logs them and falls back to the store.
#[async_trait]
pub trait ResultsCache: Send + Sync + 'static {
    /// The cached results of `poll`, if any.
    async fn get(&self, poll: PollId) -> Result<Option<Results>>;

    /// Caches `results` unless the cache already holds a version at least as
    /// high for that poll, even when several writers race.
    async fn put(&self, results: &Results) -> Result<()>;

    /// Forgets the poll for good, since it was deleted: `get` misses from
    /// now on, and later `put`s of any version are ignored for at least as
    /// long as an entry would live. A write racing the delete (from a vote
    /// batch that committed just before it, or a read that started before
    /// it) so cannot bring the deleted poll back. Poll ids are never reused.
    async fn invalidate(&self, poll: PollId) -> Result<()>;

    /// Whether the cache is usable now, for readiness checks: `Ok(())`, or
    /// the [`PollError::Unavailable`](crate::PollError::Unavailable) a
    /// request would get. Quick (bounded by the backend's timeouts) and
    /// without side effects.
    ///
    /// The default is `Ok(())`, right for an in-process cache; a cache
    /// behind a network connection overrides it (with a `PING`, say).
    async fn check(&self) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl<T: ResultsCache + ?Sized> ResultsCache for Arc<T> {
    async fn get(&self, poll: PollId) -> Result<Option<Results>> {
        (**self).get(poll).await
    }

    async fn put(&self, results: &Results) -> Result<()> {
        (**self).put(results).await
    }

    async fn invalidate(&self, poll: PollId) -> Result<()> {
        (**self).invalidate(poll).await
    }

    async fn check(&self) -> Result<()> {
        (**self).check().await
    }
}

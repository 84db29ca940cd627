//! Test doubles for code built on the traits, such as the [layers](crate::layer).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;

use crate::broadcaster::{Broadcaster, EventStream};
use crate::cache::ResultsCache;
use crate::domain::{PollId, Results, ResultsEvent};
use crate::error::{PollError, Result};

/// A [`ResultsCache`] that is always down: every method returns
/// [`PollError::Unavailable`].
#[derive(Clone, Copy, Debug, Default)]
pub struct FailingCache;

#[async_trait]
impl ResultsCache for FailingCache {
    async fn get(&self, _poll: PollId) -> Result<Option<Results>> {
        Err(PollError::unavailable("FailingCache: get"))
    }

    async fn put(&self, _results: &Results) -> Result<()> {
        Err(PollError::unavailable("FailingCache: put"))
    }

    async fn invalidate(&self, _poll: PollId) -> Result<()> {
        Err(PollError::unavailable("FailingCache: invalidate"))
    }

    async fn check(&self) -> Result<()> {
        Err(PollError::unavailable("FailingCache: check"))
    }
}

/// A [`Broadcaster`] that is always down: every method returns
/// [`PollError::Unavailable`].
#[derive(Clone, Copy, Debug, Default)]
pub struct FailingBroadcaster;

#[async_trait]
impl Broadcaster for FailingBroadcaster {
    async fn publish(&self, _event: &ResultsEvent) -> Result<()> {
        Err(PollError::unavailable("FailingBroadcaster: publish"))
    }

    async fn subscribe(&self, _poll: PollId) -> Result<EventStream> {
        Err(PollError::unavailable("FailingBroadcaster: subscribe"))
    }

    async fn check(&self) -> Result<()> {
        Err(PollError::unavailable("FailingBroadcaster: check"))
    }
}

/// A [`ResultsCache`] wrapper counting the calls that reach the wrapped cache:
/// hits, misses and puts.
///
/// Clones share the wrapped cache and the counters, so a test can hand one
/// clone to a [`CacheLayer`](crate::layer::CacheLayer) and read the counts on
/// another.
#[derive(Clone, Debug, Default)]
pub struct CountingCache<C> {
    /// The cache every call goes to.
    inner: Arc<C>,
    /// The counters, shared by clones.
    counts: Arc<Counts>,
}

/// The counters of a [`CountingCache`].
#[derive(Debug, Default)]
struct Counts {
    /// `get` calls that returned results.
    hits: AtomicUsize,
    /// `get` calls that returned `None`.
    misses: AtomicUsize,
    /// `put` calls, whatever they returned.
    puts: AtomicUsize,
}

impl<C> CountingCache<C> {
    /// Counts the calls to `inner`.
    pub fn new(inner: C) -> Self {
        Self {
            inner: Arc::new(inner),
            counts: Arc::default(),
        }
    }

    /// The wrapped cache.
    pub fn get_ref(&self) -> &C {
        &self.inner
    }

    /// How many `get` calls returned results.
    pub fn hits(&self) -> usize {
        self.counts.hits.load(Ordering::SeqCst)
    }

    /// How many `get` calls returned `None`.
    pub fn misses(&self) -> usize {
        self.counts.misses.load(Ordering::SeqCst)
    }

    /// How many `put` calls were made.
    pub fn puts(&self) -> usize {
        self.counts.puts.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl<C: ResultsCache> ResultsCache for CountingCache<C> {
    async fn get(&self, poll: PollId) -> Result<Option<Results>> {
        let found = self.inner.get(poll).await?;
        let counter = if found.is_some() {
            &self.counts.hits
        } else {
            &self.counts.misses
        };
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(found)
    }

    async fn put(&self, results: &Results) -> Result<()> {
        self.counts.puts.fetch_add(1, Ordering::SeqCst);
        self.inner.put(results).await
    }

    async fn invalidate(&self, poll: PollId) -> Result<()> {
        self.inner.invalidate(poll).await
    }

    async fn check(&self) -> Result<()> {
        self.inner.check().await
    }
}

//! Test doubles for code built on the traits, such as the [layers](crate::layer).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::broadcaster::{Broadcaster, EventStream};
use crate::cache::ResultsCache;
use crate::domain::{
    AnonymousBallot, Ballot, CastOutcome, Poll, PollId, Results, ResultsEvent, VoteReceipt, VoterId,
};
use crate::error::{PollError, Result};
use crate::store::{Page, PollStore};

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

/// A [`PollStore`] wrapper whose casts wait at a gate the test opens, to
/// act on a vote (drop its caller, let a timeout fire) while the store is
/// recording it.
///
/// A cast that reached the gate counts as started, as a ballot inside a
/// store's transaction: once the gate opens it goes on to the wrapped store
/// even if its ballot was [abandoned](Ballot::abandon) meanwhile. Every other
/// method goes straight to the wrapped store. The gate, once opened, stays
/// open. Clones share the wrapped store and the gate.
#[derive(Clone, Debug)]
pub struct GatedStore<S> {
    /// The store every call goes to, casts once the gate is open.
    inner: Arc<S>,
    /// The gate, shared by clones.
    gate: Arc<Gate>,
}

/// The gate of a [`GatedStore`].
#[derive(Debug)]
struct Gate {
    /// Whether casts may go on; `true` once opened.
    open: watch::Sender<bool>,
    /// How many casts have reached the gate, whether they still wait or not.
    arrived: watch::Sender<usize>,
}

impl<S> GatedStore<S> {
    /// Gates the casts to `inner`; the gate starts closed.
    pub fn new(inner: S) -> Self {
        Self {
            inner: Arc::new(inner),
            gate: Arc::new(Gate {
                open: watch::Sender::new(false),
                arrived: watch::Sender::new(0),
            }),
        }
    }

    /// The wrapped store.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// How many casts have reached the gate so far.
    pub fn arrived(&self) -> usize {
        *self.gate.arrived.borrow()
    }

    /// Waits until `count` casts in all have reached the gate.
    pub async fn wait_for_casts(&self, count: usize) {
        let mut arrived = self.gate.arrived.subscribe();
        // The sender lives as long as `self`: waiting cannot fail.
        let _ = arrived.wait_for(|arrived| *arrived >= count).await;
    }

    /// Opens the gate: waiting casts go on, later ones pass straight through.
    pub fn open(&self) {
        self.gate.open.send_replace(true);
    }
}

#[async_trait]
impl<S: PollStore> PollStore for GatedStore<S> {
    async fn create(&self, poll: &Poll) -> Result<()> {
        self.inner.create(poll).await
    }

    async fn get(&self, id: PollId) -> Result<Poll> {
        self.inner.get(id).await
    }

    async fn list(&self, limit: usize, before: Option<PollId>) -> Result<Page> {
        self.inner.list(limit, before).await
    }

    async fn close(&self, id: PollId, at: OffsetDateTime) -> Result<Poll> {
        self.inner.close(id, at).await
    }

    async fn delete(&self, id: PollId) -> Result<()> {
        self.inner.delete(id).await
    }

    async fn cast(&self, ballot: &Ballot) -> Result<CastOutcome> {
        let mut open = self.gate.open.subscribe();
        self.gate.arrived.send_modify(|arrived| *arrived += 1);
        // The sender lives as long as `self`: waiting cannot fail.
        let _ = open.wait_for(|open| *open).await;
        self.inner.cast(ballot).await
    }

    async fn ballot(&self, poll: PollId, voter: &VoterId) -> Result<Option<VoteReceipt>> {
        self.inner.ballot(poll, voter).await
    }

    async fn has_voted(&self, poll: PollId, voter: &VoterId) -> Result<bool> {
        self.inner.has_voted(poll, voter).await
    }

    async fn results(&self, id: PollId) -> Result<Results> {
        self.inner.results(id).await
    }

    async fn ballots(&self, id: PollId) -> Result<Vec<AnonymousBallot>> {
        self.inner.ballots(id).await
    }

    async fn ballot_stream(&self, id: PollId) -> Result<crate::BallotStream> {
        self.inner.ballot_stream(id).await
    }

    crate::delegate_invites!(inner);
}

/// A [`PollStore`] method, as [`CountingStore`] counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreMethod {
    /// [`PollStore::create`].
    Create,
    /// [`PollStore::get`].
    Get,
    /// [`PollStore::list`].
    List,
    /// [`PollStore::close`].
    Close,
    /// [`PollStore::delete`].
    Delete,
    /// [`PollStore::cast`].
    Cast,
    /// [`PollStore::ballot`] and [`PollStore::has_voted`]: a lookup of a voter.
    Ballot,
    /// [`PollStore::results`].
    Results,
    /// [`PollStore::ballots`].
    Ballots,
    /// [`PollStore::ballot_stream`].
    BallotStream,
}

impl StoreMethod {
    /// Every method, in declaration order.
    pub const ALL: [Self; 10] = [
        Self::Create,
        Self::Get,
        Self::List,
        Self::Close,
        Self::Delete,
        Self::Cast,
        Self::Ballot,
        Self::Results,
        Self::Ballots,
        Self::BallotStream,
    ];
}

/// One method's counters in a [`CountingStore`].
#[derive(Debug, Default)]
struct MethodCounts {
    /// Calls so far.
    calls: AtomicUsize,
    /// Calls running now.
    running: AtomicUsize,
    /// The most calls running at once so far.
    peak: AtomicUsize,
}

/// Wraps a store and counts, per method, the calls reaching it and the most
/// running at once: what a cache, a memo or a single-flight saves shows as
/// calls that never came. Clones share the store and the counts.
///
/// ```
/// use std::sync::Arc;
/// use polling_core::memory::MemoryStore;
/// use polling_core::testing::{sample_poll, CountingStore, StoreMethod};
/// use polling_core::PollStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> polling_core::Result<()> {
/// let store = CountingStore::new(MemoryStore::new());
/// let poll = sample_poll(2, false, None);
/// store.create(&poll).await?;
/// store.get(poll.id).await?;
/// assert_eq!(store.calls(StoreMethod::Get), 1);
/// assert_eq!(store.calls(StoreMethod::Results), 0);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct CountingStore<S> {
    /// The store every call goes to.
    inner: Arc<S>,
    /// One entry per [`StoreMethod`], in [`StoreMethod::ALL`]'s order.
    counts: Arc<[MethodCounts; 10]>,
}

impl<S> CountingStore<S> {
    /// Counts the calls reaching `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner: Arc::new(inner),
            counts: Arc::default(),
        }
    }

    /// The calls of `method` so far.
    pub fn calls(&self, method: StoreMethod) -> usize {
        self.of(method).calls.load(Ordering::SeqCst)
    }

    /// The most calls of `method` that ran at once so far.
    pub fn peak(&self, method: StoreMethod) -> usize {
        self.of(method).peak.load(Ordering::SeqCst)
    }

    fn of(&self, method: StoreMethod) -> &MethodCounts {
        let at = StoreMethod::ALL
            .iter()
            .position(|m| *m == method)
            .expect("ALL lists every method");
        &self.counts[at]
    }

    /// Runs `call` counted as a call of `method`.
    async fn count<T>(&self, method: StoreMethod, call: impl std::future::Future<Output = T>) -> T {
        let counts = self.of(method);
        counts.calls.fetch_add(1, Ordering::SeqCst);
        let now = counts.running.fetch_add(1, Ordering::SeqCst) + 1;
        counts.peak.fetch_max(now, Ordering::SeqCst);
        let output = call.await;
        counts.running.fetch_sub(1, Ordering::SeqCst);
        output
    }
}

#[async_trait]
impl<S: PollStore> PollStore for CountingStore<S> {
    async fn create(&self, poll: &Poll) -> Result<()> {
        self.count(StoreMethod::Create, self.inner.create(poll))
            .await
    }

    async fn get(&self, id: PollId) -> Result<Poll> {
        self.count(StoreMethod::Get, self.inner.get(id)).await
    }

    async fn list(&self, limit: usize, before: Option<PollId>) -> Result<Page> {
        self.count(StoreMethod::List, self.inner.list(limit, before))
            .await
    }

    async fn close(&self, id: PollId, at: OffsetDateTime) -> Result<Poll> {
        self.count(StoreMethod::Close, self.inner.close(id, at))
            .await
    }

    async fn delete(&self, id: PollId) -> Result<()> {
        self.count(StoreMethod::Delete, self.inner.delete(id)).await
    }

    async fn cast(&self, ballot: &Ballot) -> Result<CastOutcome> {
        self.count(StoreMethod::Cast, self.inner.cast(ballot)).await
    }

    async fn ballot(&self, poll: PollId, voter: &VoterId) -> Result<Option<VoteReceipt>> {
        self.count(StoreMethod::Ballot, self.inner.ballot(poll, voter))
            .await
    }

    /// Counted as a [`StoreMethod::Ballot`]: the same lookup of a voter.
    async fn has_voted(&self, poll: PollId, voter: &VoterId) -> Result<bool> {
        self.count(StoreMethod::Ballot, self.inner.has_voted(poll, voter))
            .await
    }

    async fn results(&self, id: PollId) -> Result<Results> {
        self.count(StoreMethod::Results, self.inner.results(id))
            .await
    }

    async fn ballots(&self, id: PollId) -> Result<Vec<AnonymousBallot>> {
        self.count(StoreMethod::Ballots, self.inner.ballots(id))
            .await
    }

    async fn ballot_stream(&self, id: PollId) -> Result<crate::BallotStream> {
        self.count(StoreMethod::BallotStream, self.inner.ballot_stream(id))
            .await
    }

    // Invites are not counted: no case counts them.
    crate::delegate_invites!(inner);
}

//! [`NearCache`]: each process's own copy of the results it serves, kept
//! fresh by the broadcaster, in front of a shared [`ResultsCache`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::broadcaster::{Broadcaster, EventStream};
use crate::cache::ResultsCache;
use crate::domain::{PollId, Results, ResultsEvent};
use crate::error::Result;
use crate::metrics::{
    NEAR_CACHE_ENTRIES, NEAR_CACHE_EVICTIONS_TOTAL, NEAR_CACHE_HITS_TOTAL, NEAR_CACHE_MISSES_TOTAL,
};

/// A [`ResultsCache`] that keeps, in process memory, the newest results of
/// the polls this process reads, in front of a shared cache (Redis, across
/// replicas) and fed by a [`Broadcaster`]: a hit costs no round trip at all.
///
/// * **Fresh through events.** The first read of a poll starts following
///   it: every [`ResultsEvent::Updated`] the broadcaster delivers replaces
///   the entry when newer ([versions](Results::version) make any order
///   safe), so a hot poll is served from memory while votes stream in on
///   any replica.
/// * **Bounded staleness.** An entry the shared cache or an event did not
///   confirm for `max_age` is read from the shared cache again; that bounds
///   how long an update published just before the poll was followed (and
///   so never delivered here) can be missed. A
///   [`Resync`](ResultsEvent::Resync) (events may have been lost) drops the
///   entry, and the events that follow it are ignored until a read of the
///   shared cache confirms the poll again.
/// * **A resync distrusts the shared cache too.** The first read after a
///   `Resync` is a miss without asking the shared cache, so the read-through
///   path reads the store and writes the shared cache (which keeps the newer
///   version): after a Redis failover, a promoted replica that missed the
///   last writes holds an older version than the store, and nothing else
///   would correct it before the next vote or its time to live.
/// * **Deletes stick across replicas.** A write only updates an entry that
///   a read of the shared cache created and no `Resync` emptied since: a
///   write may come late (a vote committed just before the poll was
///   deleted, whose `put` lands after the delete), and then either finds no
///   entry, or one the delete's `Resync` empties; the shared cache refuses
///   it (see [`invalidate`](ResultsCache::invalidate)).
/// * **Bounded memory.** At most `capacity` polls are followed; past that
///   the least recently read eighth is dropped (and unfollowed).
/// * **Deletes stick here.** [`invalidate`](ResultsCache::invalidate)
///   forgets the poll here and in the shared cache, and later `put`s of it
///   are ignored.
///
/// Metrics:
/// [`NEAR_CACHE_HITS_TOTAL`], [`NEAR_CACHE_MISSES_TOTAL`],
/// [`NEAR_CACHE_ENTRIES`], [`NEAR_CACHE_EVICTIONS_TOTAL`].
///
/// Must be created and used inside a Tokio runtime (it spawns one task per
/// followed poll).
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// use polling_core::memory::{LocalBroadcaster, MemoryCache};
/// use polling_core::{NearCache, PollId, Results, ResultsCache};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> polling_core::Result<()> {
/// let shared = MemoryCache::new(); // Redis, across replicas
/// let near = NearCache::new(shared, LocalBroadcaster::new(), 10_000, Duration::from_secs(1));
/// let results = Results {
///     poll_id: PollId::generate(),
///     version: 3,
///     total: 3,
///     counts: Vec::new(),
///     ranked: None,
///     star: None,
/// };
/// near.put(&results).await?;
/// assert_eq!(near.get(results.poll_id).await?, Some(results));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct NearCache {
    shared: Arc<dyn ResultsCache>,
    broadcaster: Arc<dyn Broadcaster>,
    state: Arc<Mutex<State>>,
    capacity: usize,
    max_age: Duration,
}

impl std::fmt::Debug for NearCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NearCache")
            .field("capacity", &self.capacity)
            .field("max_age", &self.max_age)
            .field("entries", &self.lock().entries.len())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    entries: HashMap<PollId, Entry>,
    /// Polls deleted: never cached again here (at most `capacity`).
    deleted: HashMap<PollId, Instant>,
    /// A clock of reads, for least-recently-read eviction.
    reads: u64,
}

struct Entry {
    /// The newest results known, if any.
    results: Option<Results>,
    /// A `Resync` emptied the entry: events are ignored until a read of
    /// the shared cache fills it.
    resynced: bool,
    /// A `Resync` came and no read has answered a miss for it yet.
    distrust_shared: bool,
    /// When `results` were last confirmed (set from the shared cache, a
    /// `put` or an event).
    confirmed: Instant,
    /// The read clock at the last read.
    last_read: u64,
    /// The task following the poll's events.
    follower: AbortHandle,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

impl NearCache {
    /// A near cache of at most `capacity` polls in front of `shared`,
    /// following polls through `broadcaster`, re-reading an entry nothing
    /// confirmed for `max_age`.
    pub fn new(
        shared: impl ResultsCache,
        broadcaster: impl Broadcaster,
        capacity: usize,
        max_age: Duration,
    ) -> Self {
        Self::from_arcs(Arc::new(shared), Arc::new(broadcaster), capacity, max_age)
    }

    /// [`new`](Self::new) over shared handles.
    pub fn from_arcs(
        shared: Arc<dyn ResultsCache>,
        broadcaster: Arc<dyn Broadcaster>,
        capacity: usize,
        max_age: Duration,
    ) -> Self {
        Self {
            shared,
            broadcaster,
            state: Arc::default(),
            capacity: capacity.max(1),
            max_age,
        }
    }

    /// How many polls are followed now.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no poll is followed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Entries are replaced whole, so a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Follows `poll` unless it is followed already: subscribes to its
    /// events first, so that every event published from then on reaches
    /// the entry. `false` when the broadcaster refuses (nothing is kept).
    async fn follow(&self, poll: PollId) -> bool {
        if self.lock().entries.contains_key(&poll) {
            return true;
        }
        let Ok(events) = self.broadcaster.subscribe(poll).await else {
            return false;
        };
        let mut state = self.lock();
        if state.deleted.contains_key(&poll) {
            return false;
        }
        if !state.entries.contains_key(&poll) {
            let follower = tokio::spawn(apply(events, Arc::downgrade(&self.state), poll));
            state.reads += 1;
            let last_read = state.reads;
            state.entries.insert(
                poll,
                Entry {
                    results: None,
                    resynced: false,
                    distrust_shared: false,
                    confirmed: Instant::now(),
                    last_read,
                    follower: follower.abort_handle(),
                },
            );
            self.evict(&mut state);
        }
        true
    }

    /// Keeps `results`, read from the shared cache, as their poll's newest
    /// if the poll is followed and they are not older than the entry's.
    fn offer(&self, results: &Results) {
        let mut state = self.lock();
        if let Some(entry) = state.entries.get_mut(&results.poll_id) {
            entry.resynced = false;
            entry.set(results.clone());
        }
    }

    /// Drops the least recently read eighth of the entries when there are
    /// more than `capacity`.
    fn evict(&self, state: &mut State) {
        if state.entries.len() <= self.capacity {
            metrics::gauge!(NEAR_CACHE_ENTRIES).set(state.entries.len() as f64);
            return;
        }
        let mut reads: Vec<(u64, PollId)> = state
            .entries
            .iter()
            .map(|(id, e)| (e.last_read, *id))
            .collect();
        reads.sort_unstable();
        let drop = (self.capacity / 8).max(1) + state.entries.len() - self.capacity;
        for (_, poll) in reads.into_iter().take(drop) {
            state.entries.remove(&poll);
        }
        metrics::counter!(NEAR_CACHE_EVICTIONS_TOTAL).increment(drop as u64);
        metrics::gauge!(NEAR_CACHE_ENTRIES).set(state.entries.len() as f64);
    }

    /// Remembers that `poll` was deleted, keeping at most `capacity`
    /// deletes: past that, those older than a minute (or `max_age`) go,
    /// then the oldest. A late write comes within seconds of its delete.
    fn bury(&self, state: &mut State, poll: PollId) {
        state.entries.remove(&poll);
        state.deleted.insert(poll, Instant::now());
        if state.deleted.len() > self.capacity {
            let kept = self.max_age.max(Duration::from_secs(60));
            state.deleted.retain(|_, at| at.elapsed() < kept);
        }
        if state.deleted.len() > self.capacity {
            let mut ages: Vec<(Instant, PollId)> =
                state.deleted.iter().map(|(id, at)| (*at, *id)).collect();
            ages.sort_unstable();
            let excess = ages.len() - self.capacity;
            for (_, old) in ages.into_iter().take(excess) {
                state.deleted.remove(&old);
            }
        }
        metrics::gauge!(NEAR_CACHE_ENTRIES).set(state.entries.len() as f64);
    }
}

impl Entry {
    /// Keeps `results` if they are newer than the entry's (an equal
    /// version keeps the entry, as every [`ResultsCache`] does); either way
    /// the entry is confirmed as current.
    fn set(&mut self, results: Results) {
        match &self.results {
            Some(held) if held.version > results.version => return,
            Some(held) if held.version == results.version => {}
            _ => self.results = Some(results),
        }
        self.confirmed = Instant::now();
    }
}

/// Applies `poll`'s `events` to its entry while both exist.
async fn apply(mut events: EventStream, state: Weak<Mutex<State>>, poll: PollId) {
    while let Some(event) = events.next().await {
        let Some(state) = state.upgrade() else { return };
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = state.entries.get_mut(&poll) else {
            return;
        };
        match event {
            ResultsEvent::Updated { results } if !entry.resynced => entry.set(results),
            ResultsEvent::Resync { .. } => {
                entry.results = None;
                entry.resynced = true;
                entry.distrust_shared = true;
            }
            _ => {}
        }
    }
    // The broadcaster is gone: nothing keeps the entry fresh.
    forget(&state, poll);
}

/// Removes `poll`'s entry, if the cache still exists.
fn forget(state: &Weak<Mutex<State>>, poll: PollId) {
    if let Some(state) = state.upgrade() {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        state.entries.remove(&poll);
    }
}

#[async_trait]
impl ResultsCache for NearCache {
    async fn get(&self, poll: PollId) -> Result<Option<Results>> {
        {
            let mut state = self.lock();
            state.reads += 1;
            let reads = state.reads;
            if let Some(entry) = state.entries.get_mut(&poll) {
                entry.last_read = reads;
                if std::mem::take(&mut entry.distrust_shared) {
                    // The store answers this one (see the type's docs).
                    metrics::counter!(NEAR_CACHE_MISSES_TOTAL).increment(1);
                    return Ok(None);
                }
                if let Some(results) = &entry.results {
                    if entry.confirmed.elapsed() < self.max_age {
                        metrics::counter!(NEAR_CACHE_HITS_TOTAL).increment(1);
                        return Ok(Some(results.clone()));
                    }
                }
            }
        }
        metrics::counter!(NEAR_CACHE_MISSES_TOTAL).increment(1);
        let followed = self.follow(poll).await;
        let shared = self.shared.get(poll).await?;
        if let (true, Some(results)) = (followed, &shared) {
            self.offer(results);
        }
        Ok(shared)
    }

    async fn put(&self, results: &Results) -> Result<()> {
        self.shared.put(results).await?;
        // Into an entry that exists and was not resynced since: a late
        // write of a deleted poll either finds no entry, or an entry the
        // delete's `Resync` empties (before or after it).
        let mut state = self.lock();
        if let Some(entry) = state.entries.get_mut(&results.poll_id) {
            if !entry.resynced {
                entry.set(results.clone());
            }
        }
        Ok(())
    }

    async fn invalidate(&self, poll: PollId) -> Result<()> {
        self.bury(&mut self.lock(), poll);
        self.shared.invalidate(poll).await
    }

    async fn check(&self) -> Result<()> {
        self.shared.check().await
    }
}

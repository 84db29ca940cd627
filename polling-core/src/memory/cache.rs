//! [`MemoryCache`]: a versioned results cache in process memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::cache::ResultsCache;
use crate::domain::{PollId, Results};
use crate::error::Result;

/// A [`ResultsCache`] in process memory. Clones share the same entries.
#[derive(Clone, Debug, Default)]
pub struct MemoryCache {
    /// The newest results seen per poll, or that it was deleted.
    entries: Arc<Mutex<HashMap<PollId, Entry>>>,
}

/// What the cache knows of one poll.
#[derive(Clone, Debug)]
enum Entry {
    /// Its newest results.
    Results(Results),
    /// It was deleted: nothing is cached for it again.
    Deleted,
}

impl MemoryCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<PollId, Entry>> {
        // Entries are replaced whole, so a poisoned map is still consistent.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl ResultsCache for MemoryCache {
    async fn get(&self, poll: PollId) -> Result<Option<Results>> {
        Ok(match self.entries().get(&poll) {
            Some(Entry::Results(results)) => Some(results.clone()),
            Some(Entry::Deleted) | None => None,
        })
    }

    async fn put(&self, results: &Results) -> Result<()> {
        let mut entries = self.entries();
        match entries.get(&results.poll_id) {
            Some(Entry::Deleted) => {}
            Some(Entry::Results(current)) if !results.is_newer_than(current) => {}
            _ => {
                entries.insert(results.poll_id, Entry::Results(results.clone()));
            }
        }
        Ok(())
    }

    /// Keeps a small marker per deleted poll (the process's memory, like
    /// every entry of this cache).
    async fn invalidate(&self, poll: PollId) -> Result<()> {
        self.entries().insert(poll, Entry::Deleted);
        Ok(())
    }
}

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
    /// The newest results seen per poll.
    entries: Arc<Mutex<HashMap<PollId, Results>>>,
}

impl MemoryCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<PollId, Results>> {
        // Entries are replaced whole, so a poisoned map is still consistent.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl ResultsCache for MemoryCache {
    async fn get(&self, poll: PollId) -> Result<Option<Results>> {
        Ok(self.entries().get(&poll).cloned())
    }

    async fn put(&self, results: &Results) -> Result<()> {
        let mut entries = self.entries();
        match entries.get(&results.poll_id) {
            Some(current) if !results.is_newer_than(current) => {}
            _ => {
                entries.insert(results.poll_id, results.clone());
            }
        }
        Ok(())
    }

    async fn invalidate(&self, poll: PollId) -> Result<()> {
        self.entries().remove(&poll);
        Ok(())
    }
}

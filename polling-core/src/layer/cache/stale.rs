//! [`StalePolls`]: the polls whose cached results may be older than the store's.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::PollId;

/// The polls whose cached results this process failed to refresh (a `put`
/// failed, so the cache may still hold an older version), each with a mark
/// count. Reads of such a poll skip the cache and refresh it from the
/// store; a successful refresh unmarks the poll, unless it was marked again
/// meanwhile (a vote whose `put` failed while the read was under way).
///
/// Without it, a cache that was cut off (not restarted empty) while votes
/// were recorded serves their old results until the next vote or its TTL.
#[derive(Debug, Default)]
pub(super) struct StalePolls {
    /// Each stale poll and how many times it was marked.
    marks: Mutex<HashMap<PollId, u64>>,
}

impl StalePolls {
    /// Notes that `poll`'s cached results may be stale.
    pub(super) fn mark(&self, poll: PollId) {
        *self.lock().entry(poll).or_insert(0) += 1;
    }

    /// `poll`'s mark count if it is stale: the token to [`clear`](Self::clear) with.
    pub(super) fn get(&self, poll: PollId) -> Option<u64> {
        self.lock().get(&poll).copied()
    }

    /// Unmarks `poll`, refreshed from the store, unless it was marked again
    /// since its count was `seen`.
    pub(super) fn clear(&self, poll: PollId, seen: u64) {
        let mut marks = self.lock();
        if marks.get(&poll) == Some(&seen) {
            marks.remove(&poll);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PollId, u64>> {
        self.marks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_unmarks_a_poll_unless_it_was_marked_again_meanwhile() {
        let stale = StalePolls::default();
        let poll = PollId::generate();
        assert_eq!(stale.get(poll), None);
        stale.mark(poll);
        let seen = stale.get(poll).unwrap();
        stale.mark(poll);
        stale.clear(poll, seen);
        assert!(stale.get(poll).is_some(), "marked again during the refresh");
        let seen = stale.get(poll).unwrap();
        stale.clear(poll, seen);
        assert_eq!(stale.get(poll), None);
    }
}

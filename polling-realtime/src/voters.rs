//! [`Voters`]: which voters a poll's hidden sockets wait on, so that a
//! [`Voted`](polling_core::ResultsEvent::Voted) event wakes only the sockets
//! of that voter.
//!
//! A hot poll's votes come faster than any socket needs to hear of them: an
//! event per vote to every hidden socket would wake ten thousand tasks per
//! vote to compare tags. Instead each waiting socket registers its voter's
//! tag, and an event is one map look-up that wakes that voter's sockets (its
//! tabs) and nobody else's. Each entry is a `watch` channel, so wake-ups
//! coalesce and a socket never lags.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use polling_core::VoterTag;
use tokio::sync::watch;

/// The voters a poll's sockets wait on; shared by the poll's feed (which
/// [wakes](Voters::voted) them) and its sockets (which [hear](Voters::hear)).
#[derive(Debug, Default)]
pub(crate) struct Voters {
    /// One channel per voter waited on, with one receiver per waiting socket.
    waiting: Mutex<HashMap<VoterTag, watch::Sender<()>>>,
}

impl Voters {
    fn lock(&self) -> MutexGuard<'_, HashMap<VoterTag, watch::Sender<()>>> {
        // Entries are inserted and removed whole: a poisoned map is consistent.
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits on `voter` until the returned watch is dropped.
    pub(crate) fn hear(self: &Arc<Self>, voter: &VoterTag) -> VoterWatch {
        let voted = self
            .lock()
            .entry(voter.clone())
            .or_insert_with(|| watch::Sender::new(()))
            .subscribe();
        VoterWatch {
            voters: Arc::clone(self),
            voter: voter.clone(),
            voted,
        }
    }

    /// `voter` voted: wakes the sockets waiting on them, if any.
    pub(crate) fn voted(&self, voter: &VoterTag) {
        if let Some(voted) = self.lock().get(voter) {
            voted.send_replace(());
        }
    }

    /// How many voters are waited on.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// One socket waiting on its voter's vote, from [`Voters::hear`].
#[derive(Debug)]
pub(crate) struct VoterWatch {
    /// Where the socket is registered.
    voters: Arc<Voters>,
    /// The voter waited on.
    voter: VoterTag,
    /// Changes when the voter votes.
    voted: watch::Receiver<()>,
}

impl VoterWatch {
    /// Resolves when the voter voted since the last call (or since
    /// [`Voters::hear`]).
    pub(crate) async fn voted(&mut self) {
        if self.voted.changed().await.is_err() {
            // The sender lives in the map while this receiver does; be safe.
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for VoterWatch {
    fn drop(&mut self) {
        let mut waiting = self.voters.lock();
        // This receiver is still alive here: the last one leaves with it.
        if waiting
            .get(&self.voter)
            .is_some_and(|voted| voted.receiver_count() <= 1)
        {
            waiting.remove(&self.voter);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use polling_core::VoterId;

    use super::*;

    fn tag() -> VoterTag {
        VoterTag::of(&VoterId::generate())
    }

    #[tokio::test]
    async fn a_vote_wakes_that_voters_sockets_only_and_the_last_one_leaving_forgets_them() {
        let voters = Arc::new(Voters::default());
        let (alice, bob) = (tag(), tag());
        let mut tab_one = voters.hear(&alice);
        let mut tab_two = voters.hear(&alice);
        let mut other = voters.hear(&bob);
        assert_eq!(voters.len(), 2);

        voters.voted(&tag());
        voters.voted(&alice);
        let soon = Duration::from_millis(100);
        tokio::time::timeout(soon, tab_one.voted()).await.unwrap();
        tokio::time::timeout(soon, tab_two.voted()).await.unwrap();
        assert!(tokio::time::timeout(soon, other.voted()).await.is_err());

        drop(tab_one);
        assert_eq!(voters.len(), 2, "alice's second tab still waits");
        drop(tab_two);
        drop(other);
        assert_eq!(voters.len(), 0);
    }
}

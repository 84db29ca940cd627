//! [`Coalescer`]: concurrent ballots on one poll share transactions.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use polling_core::{Ballot, CastOutcome, PollError, PollId, Result};
use sqlx::PgPool;
use tokio::sync::oneshot;

use super::transaction::cast_batch;

/// Group commit per poll.
///
/// The first ballot on an idle poll starts a writer task for that poll; while
/// the writer's transaction runs, later ballots on the poll queue up, and the
/// writer takes them (up to `max_batch`) into its next transaction. At low
/// load every ballot runs alone and waits for nothing; under load a poll uses
/// one connection and one row lock per batch instead of per ballot. Polls
/// never wait for each other.
///
/// The writer is a spawned task, not the first caller's future: a caller that
/// goes away (a closed HTTP connection) cannot abort a transaction holding
/// other callers' ballots.
#[derive(Clone, Debug)]
pub(crate) struct Coalescer {
    pool: PgPool,
    max_batch: usize,
    /// Ballots waiting for their poll's writer. A poll has an entry exactly
    /// while its writer task runs.
    queues: Arc<Mutex<HashMap<PollId, Vec<Pending>>>>,
}

#[derive(Debug)]
struct Pending {
    ballot: Ballot,
    reply: oneshot::Sender<Result<CastOutcome>>,
}

impl Coalescer {
    pub(crate) fn new(pool: PgPool, max_batch: usize) -> Self {
        Self {
            pool,
            max_batch: max_batch.max(1),
            queues: Arc::default(),
        }
    }

    pub(crate) async fn cast(&self, ballot: &Ballot) -> Result<CastOutcome> {
        let poll_id = ballot.poll_id();
        let (reply, outcome) = oneshot::channel();
        let pending = Pending {
            ballot: ballot.clone(),
            reply,
        };
        let start_writer = match lock(&self.queues).entry(poll_id) {
            Entry::Occupied(mut queue) => {
                queue.get_mut().push(pending);
                false
            }
            Entry::Vacant(slot) => {
                slot.insert(vec![pending]);
                true
            }
        };
        if start_writer {
            tokio::spawn(self.clone().write(poll_id));
        }
        outcome
            .await
            .unwrap_or_else(|_| Err(PollError::unavailable("the vote writer stopped")))
    }

    /// The writer task of one poll: batch after batch until its queue is empty.
    async fn write(self, poll_id: PollId) {
        let mut guard = QueueGuard {
            queues: &self.queues,
            poll_id,
            finished: false,
        };
        loop {
            let batch: Vec<Pending> = {
                let mut queues = lock(&self.queues);
                let queue = queues.entry(poll_id).or_default();
                if queue.is_empty() {
                    queues.remove(&poll_id);
                    guard.finished = true;
                    return;
                }
                let take = queue.len().min(self.max_batch);
                queue.drain(..take).collect()
            };
            let ballots: Vec<Ballot> = batch.iter().map(|p| p.ballot.clone()).collect();
            let outcomes = cast_batch(&self.pool, poll_id, &ballots).await;
            for (pending, outcome) in batch.into_iter().zip(outcomes) {
                // The caller may have gone; its ballot counts all the same.
                let _ = pending.reply.send(outcome);
            }
        }
    }
}

/// Removes the poll's queue if its writer ends early (a panic, or the runtime
/// shutting down), so that waiting callers get an error instead of hanging and
/// the next ballot starts a new writer.
struct QueueGuard<'a> {
    queues: &'a Mutex<HashMap<PollId, Vec<Pending>>>,
    poll_id: PollId,
    /// Set when the writer removed its queue itself, under the lock: from then
    /// on an entry for this poll belongs to a newer writer.
    finished: bool,
}

impl Drop for QueueGuard<'_> {
    fn drop(&mut self) {
        if !self.finished {
            lock(self.queues).remove(&self.poll_id);
        }
    }
}

// Every critical section above leaves the map consistent, so a poisoned lock
// is used as is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

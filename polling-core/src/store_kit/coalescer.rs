//! [`Coalescer`]: concurrent ballots on one poll share transactions.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

use super::{abandoned_error, BatchWriter};
use crate::{Ballot, CastOutcome, PollError, PollId, Result};

/// Group commit per poll, over any [`BatchWriter`].
///
/// The first ballot on an idle poll starts a writer task for that poll; while
/// the writer's transaction runs, later ballots on the poll queue up, and the
/// writer takes them (up to `max_batch`) into its next transaction. At low
/// load every ballot runs alone and waits for nothing; under load a poll
/// takes its lock (a row lock, a database's write lock) and commits once per
/// batch instead of once per ballot. Polls never wait for each other's
/// queues.
///
/// The writer is a spawned task, not the first caller's future: a caller that
/// goes away (a closed HTTP connection) cannot abort a transaction holding
/// other callers' ballots. Its ballot, though, is left out of every batch
/// taken after it was [abandoned](Ballot::abandon) or its caller stopped
/// listening: an answer given as a failure (a timeout) is never contradicted
/// by a later commit.
///
/// A poll's queue is bounded: with `max_queue` ballots waiting (queued or in
/// the running batch), the next is refused at once as unavailable.
///
/// The writer tasks are spawned on the current [`tokio`] runtime. See the
/// [module example](super#example).
#[derive(Debug)]
pub struct Coalescer<W> {
    /// Records each batch: shared with the writer tasks.
    writer: Arc<W>,
    /// The most ballots one batch holds.
    max_batch: usize,
    /// The most ballots of one poll waiting at once.
    max_queue: usize,
    /// Ballots waiting for their poll's writer. A poll has an entry exactly
    /// while its writer task runs.
    queues: Arc<Mutex<HashMap<PollId, Queue>>>,
}

impl<W> Clone for Coalescer<W> {
    fn clone(&self) -> Self {
        Self {
            writer: self.writer.clone(),
            max_batch: self.max_batch,
            max_queue: self.max_queue,
            queues: self.queues.clone(),
        }
    }
}

/// One poll's waiting ballots.
#[derive(Debug, Default)]
struct Queue {
    pending: Vec<Pending>,
    /// The ballots waiting: `pending` plus those in the running batch.
    waiting: usize,
}

/// A ballot waiting for its batch, and where its outcome goes.
#[derive(Debug)]
struct Pending {
    ballot: Ballot,
    reply: oneshot::Sender<Result<CastOutcome>>,
}

impl<W: BatchWriter> Coalescer<W> {
    /// Batches of at most `max_batch` ballots written by `writer`, with at
    /// most `max_queue` ballots of one poll waiting (both at least one).
    pub fn new(writer: W, max_batch: usize, max_queue: usize) -> Self {
        Self {
            writer: Arc::new(writer),
            max_batch: max_batch.max(1),
            max_queue: max_queue.max(1),
            queues: Arc::default(),
        }
    }

    /// Casts `ballot` in the next batch of its poll and returns its outcome
    /// once that batch is written.
    ///
    /// A ballot beyond the poll's queue bound, or whose poll's writer stopped
    /// (a panic, the runtime shutting down), is answered as
    /// [`Unavailable`](PollError::Unavailable); so is one
    /// [abandoned](Ballot::abandon) before its batch was taken, with
    /// [`abandoned_error`], and it is never written.
    pub async fn cast(&self, ballot: &Ballot) -> Result<CastOutcome> {
        let poll_id = ballot.poll_id();
        let (reply, outcome) = oneshot::channel();
        let pending = Pending {
            ballot: ballot.clone(),
            reply,
        };
        let start_writer = match lock(&self.queues).entry(poll_id) {
            Entry::Occupied(mut queue) => {
                let queue = queue.get_mut();
                if queue.waiting >= self.max_queue {
                    return Err(PollError::unavailable(format!(
                        "{} votes on this poll are already waiting for the database",
                        queue.waiting
                    )));
                }
                queue.pending.push(pending);
                queue.waiting += 1;
                false
            }
            Entry::Vacant(slot) => {
                slot.insert(Queue {
                    pending: vec![pending],
                    waiting: 1,
                });
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
            let (batch, gone) = {
                let mut queues = lock(&self.queues);
                let queue = queues.entry(poll_id).or_default();
                if queue.pending.is_empty() {
                    queues.remove(&poll_id);
                    guard.finished = true;
                    return;
                }
                self.take_batch(queue)
            };
            for pending in gone {
                let _ = pending.reply.send(Err(abandoned_error()));
            }
            if batch.is_empty() {
                continue;
            }
            let ballots: Vec<Ballot> = batch.iter().map(|p| p.ballot.clone()).collect();
            let outcomes = self.writer.write_batch(poll_id, &ballots).await;
            if let Some(queue) = lock(&self.queues).get_mut(&poll_id) {
                queue.waiting -= batch.len();
            }
            for (pending, outcome) in batch.into_iter().zip(outcomes) {
                // A caller that left once its ballot was taken gets its
                // commit all the same: a retry replays it.
                let _ = pending.reply.send(outcome);
            }
        }
    }

    /// Takes the next batch (up to `max_batch` ballots) off `queue`, and
    /// apart from it the ballots whose callers are gone, which no batch
    /// records.
    fn take_batch(&self, queue: &mut Queue) -> (Vec<Pending>, Vec<Pending>) {
        let (mut batch, mut gone) = (Vec::new(), Vec::new());
        let mut rest = std::mem::take(&mut queue.pending).into_iter();
        for pending in rest.by_ref() {
            if pending.ballot.is_abandoned() || pending.reply.is_closed() {
                gone.push(pending);
            } else {
                batch.push(pending);
                if batch.len() == self.max_batch {
                    break;
                }
            }
        }
        queue.pending = rest.collect();
        queue.waiting -= gone.len();
        (batch, gone)
    }
}

/// Removes the poll's queue if its writer ends early (a panic, or the runtime
/// shutting down), so that waiting callers get an error instead of hanging and
/// the next ballot starts a new writer.
struct QueueGuard<'a> {
    queues: &'a Mutex<HashMap<PollId, Queue>>,
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

#[cfg(test)]
mod tests {
    use tokio::sync::Semaphore;
    use tokio::task::JoinHandle;

    use super::*;
    use crate::store_kit::Plan;
    use crate::testing::{ballot, sample_poll};
    use crate::{Poll, Tally, VoterId};

    /// Decides each batch as the first on an empty poll, records its voters,
    /// and holds it until the test lets it go.
    #[derive(Debug)]
    struct GatedWriter {
        poll: Poll,
        batches: Mutex<Vec<Vec<String>>>,
        gate: Arc<Semaphore>,
    }

    impl BatchWriter for GatedWriter {
        async fn write_batch(
            &self,
            _poll_id: PollId,
            ballots: &[Ballot],
        ) -> Vec<Result<CastOutcome>> {
            let voters = ballots.iter().map(|b| b.voter().as_str().to_owned());
            lock(&self.batches).push(voters.collect());
            self.gate.acquire().await.expect("open gate").forget();
            let tally = Tally::empty(&self.poll);
            let now = crate::now();
            Plan::decide(&self.poll, tally, 0, HashMap::new(), ballots, now).outcomes
        }
    }

    struct Fixture {
        poll: Poll,
        gate: Arc<Semaphore>,
        coalescer: Coalescer<GatedWriter>,
    }

    /// Lets the spawned tasks run until `check` holds.
    async fn until(check: impl Fn() -> bool) {
        for _ in 0..10_000 {
            if check() {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the condition never held");
    }

    fn fixture(max_batch: usize, max_queue: usize) -> Fixture {
        let poll = sample_poll(2, false, None);
        let gate = Arc::new(Semaphore::new(0));
        let writer = GatedWriter {
            poll: poll.clone(),
            batches: Mutex::default(),
            gate: gate.clone(),
        };
        let coalescer = Coalescer::new(writer, max_batch, max_queue);
        Fixture {
            poll,
            gate,
            coalescer,
        }
    }

    impl Fixture {
        fn ballot(&self, voter: &str) -> Ballot {
            ballot(
                &self.poll,
                &VoterId::try_from(voter.to_owned()).unwrap(),
                &[0],
            )
        }

        fn cast(&self, ballot: &Ballot) -> JoinHandle<Result<CastOutcome>> {
            let (coalescer, ballot) = (self.coalescer.clone(), ballot.clone());
            tokio::spawn(async move { coalescer.cast(&ballot).await })
        }

        fn batches(&self) -> Vec<Vec<String>> {
            lock(&self.coalescer.writer.batches).clone()
        }

        fn waiting(&self) -> usize {
            lock(&self.coalescer.queues)
                .get(&self.poll.id)
                .map_or(0, |q| q.waiting)
        }
    }

    #[tokio::test]
    async fn ballots_arriving_while_a_batch_runs_share_the_next_one() {
        let f = fixture(512, 4096);
        let first = f.cast(&f.ballot("a"));
        until(|| f.batches().len() == 1).await;
        let rest = [f.cast(&f.ballot("b")), f.cast(&f.ballot("c"))];
        until(|| f.waiting() == 3).await;
        f.gate.add_permits(2);
        assert!(first.await.unwrap().unwrap().is_new());
        for cast in rest {
            assert!(cast.await.unwrap().unwrap().is_new());
        }
        assert_eq!(f.batches(), [vec!["a"], vec!["b", "c"]]);
        assert_eq!(f.waiting(), 0, "the writer removed its queue");
    }

    #[tokio::test]
    async fn a_ballot_beyond_the_queue_bound_is_refused_at_once() {
        let f = fixture(512, 2);
        let first = f.cast(&f.ballot("a"));
        until(|| f.batches().len() == 1).await;
        let second = f.cast(&f.ballot("b"));
        until(|| f.waiting() == 2).await;
        let refused = f.coalescer.cast(&f.ballot("c")).await;
        assert!(matches!(refused, Err(PollError::Unavailable(_))));
        f.gate.add_permits(2);
        assert!(first.await.unwrap().is_ok());
        assert!(second.await.unwrap().is_ok());
        assert_eq!(f.batches(), [vec!["a"], vec!["b"]]);
    }

    #[tokio::test]
    async fn a_ballot_abandoned_while_queued_is_never_written() {
        let f = fixture(512, 4096);
        let first = f.cast(&f.ballot("a"));
        until(|| f.batches().len() == 1).await;
        let queued = f.ballot("b");
        let second = f.cast(&queued);
        until(|| f.waiting() == 2).await;
        queued.abandon();
        f.gate.add_permits(1);
        assert!(first.await.unwrap().is_ok());
        assert!(matches!(
            second.await.unwrap(),
            Err(PollError::Unavailable(_))
        ));
        assert_eq!(
            f.batches(),
            [vec!["a"]],
            "no batch held the abandoned ballot"
        );
    }
}

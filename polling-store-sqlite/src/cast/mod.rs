//! How [`SqlitePollStore`](crate::SqlitePollStore) records ballots:
//! [`CastMode`].
//!
//! Every ballot takes SQLite's write lock (one per database file) and, with
//! `synchronous = FULL`, syncs the write-ahead log to disk, so on a hot poll
//! (thousands of voters at once) one transaction per ballot queues every
//! voter behind one lock and one disk sync each. [`CastMode::Coalesced`]
//! (the default) instead records the ballots that arrive while a poll's
//! previous transaction runs together, in one transaction: the benchmark
//! `benches/hot_poll.rs` measures both.

mod batch_writer;
mod secret;
mod transaction;

use polling_core::store_kit::Coalescer;
use polling_core::{Ballot, CastOutcome, Result};

use batch_writer::SqliteBatchWriter;

use crate::database::Database;

/// How ballots become transactions.
///
/// Every ballot takes the database's write lock and syncs its log, so on a
/// hot poll one transaction per ballot queues every voter behind one lock
/// and one disk sync each. [`Coalesced`](CastMode::Coalesced), the default, records
/// the ballots that arrive while a poll's previous transaction runs together,
/// in the next one. The `hot_poll` benchmark measures both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CastMode {
    /// One transaction per ballot: the simple baseline.
    PerBallot,
    /// Group commit: the ballots waiting on a poll while its previous
    /// transaction runs share the next one, up to `max_batch` of them.
    ///
    /// A ballot is acknowledged only after the transaction holding it
    /// commits, and one voter's duplicate or invalid ballot never fails the
    /// others of its batch. A ballot whose caller [abandoned](Ballot::abandon)
    /// it before its transaction took it is never recorded. At most
    /// `max_queue` ballots of one poll wait (queued or in the running
    /// transaction); beyond that a ballot is refused at once as
    /// [`Unavailable`](polling_core::PollError::Unavailable), so a slow
    /// disk sheds load instead of queueing votes nobody waits for.
    Coalesced {
        /// The most ballots one transaction records.
        max_batch: usize,
        /// The most ballots of one poll waiting for the database at once.
        max_queue: usize,
    },
}

impl CastMode {
    /// The default batch limit of [`CastMode::Coalesced`].
    pub const DEFAULT_MAX_BATCH: usize = 512;
    /// The default queue bound of [`CastMode::Coalesced`]: eight batches.
    pub const DEFAULT_MAX_QUEUE: usize = 8 * Self::DEFAULT_MAX_BATCH;

    /// Group commit with the default batch limit and at most `max_queue`
    /// ballots of a poll waiting.
    pub fn coalesced_with_max_queue(max_queue: usize) -> Self {
        Self::Coalesced {
            max_batch: Self::DEFAULT_MAX_BATCH,
            max_queue,
        }
    }
}

impl Default for CastMode {
    fn default() -> Self {
        Self::coalesced_with_max_queue(Self::DEFAULT_MAX_QUEUE)
    }
}

/// The configured way of casting, ready to use.
#[derive(Clone, Debug)]
pub(crate) enum Caster {
    /// One transaction per ballot.
    PerBallot(Database),
    /// Group commit.
    Coalesced(Coalescer<SqliteBatchWriter>),
}

impl Caster {
    pub(crate) fn new(database: Database, mode: CastMode) -> Self {
        match mode {
            CastMode::PerBallot => Self::PerBallot(database),
            CastMode::Coalesced {
                max_batch,
                max_queue,
            } => Self::Coalesced(Coalescer::new(
                SqliteBatchWriter::new(database),
                max_batch,
                max_queue,
            )),
        }
    }

    pub(crate) async fn cast(&self, ballot: &Ballot) -> Result<CastOutcome> {
        match self {
            Self::PerBallot(database) => {
                let batch = std::slice::from_ref(ballot);
                let mut outcomes = transaction::cast_batch(database, ballot.poll_id(), batch).await;
                outcomes.pop().unwrap_or_else(|| {
                    Err(polling_core::PollError::unavailable(
                        "a batch of one gave no outcome",
                    ))
                })
            }
            Self::Coalesced(coalescer) => coalescer.cast(ballot).await,
        }
    }
}

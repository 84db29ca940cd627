//! How [`PgPollStore`](crate::PgPollStore) records ballots: [`CastMode`].
//!
//! Every ballot on a poll must take that poll's row lock, so on a hot poll
//! (thousands of voters at once) one transaction per ballot queues every
//! voter behind one lock, one connection each. [`CastMode::Coalesced`] (the
//! default) instead records the ballots that arrive while a poll's previous
//! transaction runs together, in one transaction: the benchmark
//! `benches/hot_poll.rs` measures both.

/// The end of a batch's recording statement, after its ballots' CTEs: the
/// rankings whose count changed (`$10` rankings, `$11` their ballots; set
/// where some ballots hold them, deleted where none do) and the poll's sums
/// (`$6` version, `$7` total, `$8` votes, `$9` pairwise), as a literal for
/// `concat!`.
macro_rules! record_sums {
    () => {
        "ranked AS ( \
             INSERT INTO rankings (poll_id, ranking, ballots) \
             SELECT $1, string_to_array(r.ranking, ',')::integer[], r.ballots \
               FROM unnest($10::text[], $11::bigint[]) AS r(ranking, ballots) WHERE r.ballots > 0 \
             ON CONFLICT (poll_id, ranking) DO UPDATE SET ballots = EXCLUDED.ballots \
         ), unranked AS ( \
             DELETE FROM rankings WHERE poll_id = $1 AND ranking IN ( \
               SELECT string_to_array(r.ranking, ',')::integer[] \
                 FROM unnest($10::text[], $11::bigint[]) AS r(ranking, ballots) WHERE r.ballots = 0) \
         ) \
         UPDATE polls SET version = $6, total = $7, votes = $8, pairwise = $9 WHERE id = $1"
    };
}

mod batch_writer;
#[cfg(test)]
mod bounded_cost;
mod secret;
mod transaction;

use polling_core::store_kit::Coalescer;
use polling_core::{Ballot, CastOutcome, Result};

use sqlx::PgPool;

use batch_writer::PgBatchWriter;

/// How ballots become transactions.
///
/// Every ballot on a poll takes that poll's row lock, so on a hot poll one
/// transaction per ballot queues every voter behind one lock, holding one
/// connection each. [`Coalesced`](CastMode::Coalesced), the default, records
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
    /// database sheds load instead of queueing votes nobody waits for.
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
    PerBallot(PgPool),
    Coalesced(Coalescer<PgBatchWriter>),
}

impl Caster {
    pub(crate) fn new(pool: PgPool, mode: CastMode) -> Self {
        match mode {
            CastMode::PerBallot => Self::PerBallot(pool),
            CastMode::Coalesced {
                max_batch,
                max_queue,
            } => Self::Coalesced(Coalescer::new(
                PgBatchWriter::new(pool),
                max_batch,
                max_queue,
            )),
        }
    }

    pub(crate) async fn cast(&self, ballot: &Ballot) -> Result<CastOutcome> {
        match self {
            Self::PerBallot(pool) => {
                let batch = std::slice::from_ref(ballot);
                let mut outcomes = transaction::cast_batch(pool, ballot.poll_id(), batch).await;
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

//! [`VoteEvent`]: the body of one webhook delivery.

use polling_core::{CastKind, CastOutcome, PollId, Results};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// What a webhook says about one accepted vote. It names no voter: the
/// receiver learns what was counted, not who voted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VoteEvent {
    /// This delivery's id, the same on every retry of it: a receiver that
    /// may see a delivery twice (its answer to the first was lost) keeps
    /// the ids it handled.
    pub(crate) delivery: Uuid,
    /// The poll voted in.
    pub(crate) poll_id: PollId,
    /// `"new"` for a voter's first ballot, `"changed"` for a replaced one.
    pub(crate) kind: String,
    /// The results version the vote made.
    pub(crate) version: u64,
    /// When the store recorded it.
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) cast_at: OffsetDateTime,
    /// The poll's results right after it.
    pub(crate) results: Results,
}

impl VoteEvent {
    /// The event of `outcome`, or `None` for a replay (the identical ballot
    /// again, which changed nothing).
    pub(crate) fn of(outcome: &CastOutcome) -> Option<Self> {
        let kind = match outcome.kind {
            CastKind::New => "new",
            CastKind::Changed => "changed",
            CastKind::Replay => return None,
        };
        Some(Self {
            delivery: Uuid::new_v4(),
            poll_id: outcome.receipt.poll_id,
            kind: kind.to_owned(),
            version: outcome.receipt.version,
            cast_at: outcome.receipt.cast_at,
            results: outcome.results.clone(),
        })
    }
}

//! [`VoteReceipt`] and [`CastOutcome`]: what casting a ballot gives back.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{OptionId, PollId, Results};

/// Proof that a ballot was recorded.
///
/// Casting the identical ballot again returns this same receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteReceipt {
    /// The poll voted in.
    pub poll_id: PollId,
    /// The options chosen, sorted.
    pub choices: Vec<OptionId>,
    /// When the ballot was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub cast_at: OffsetDateTime,
    /// The results version this ballot produced.
    pub version: u64,
}

/// What [`PollStore::cast`](crate::PollStore::cast) returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CastOutcome {
    /// The receipt of the ballot (the original one for a replay).
    pub receipt: VoteReceipt,
    /// The poll's results right after the ballot (current ones for a replay).
    pub results: Results,
    /// `true` when this call recorded the ballot; `false` when the identical
    /// ballot had been recorded before and this call only replayed its receipt.
    pub is_new: bool,
}

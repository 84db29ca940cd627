//! [`VoteReceipt`] and [`CastOutcome`]: what casting a ballot gives back.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Marks, PollId, Results};

/// Proof that a ballot was recorded.
///
/// Casting the identical ballot again returns this same receipt; a changed
/// ballot gets a new one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteReceipt {
    /// The poll voted in.
    pub poll_id: PollId,
    /// What the ballot marked: on the wire, one key (`choices`, `ranking`
    /// or `scores`) beside the others.
    #[serde(flatten)]
    pub marks: Marks,
    /// When the ballot was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub cast_at: OffsetDateTime,
    /// The results version this ballot produced.
    pub version: u64,
}

/// What a call of [`PollStore::cast`](crate::PollStore::cast) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CastKind {
    /// The voter's first ballot in the poll was recorded.
    New,
    /// The identical ballot had been recorded before: nothing changed, the
    /// original receipt is returned.
    Replay,
    /// The voter's earlier, different ballot was replaced by this one (the
    /// poll allows changing a vote): old choices down, new ones up, `total`
    /// unchanged, `version` up by one.
    Changed,
}

/// What [`PollStore::cast`](crate::PollStore::cast) returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CastOutcome {
    /// The receipt of the ballot (the original one for a replay).
    pub receipt: VoteReceipt,
    /// The poll's results right after the ballot (current ones for a replay).
    pub results: Results,
    /// Whether this call recorded a first ballot, replayed one or changed one.
    pub kind: CastKind,
    /// Whether the poll is [secret](crate::domain::secrecy): then the
    /// receipt's marks are only the caller's own (the store kept none tied
    /// to the voter), and an answer that may be kept with the voter's id
    /// (an idempotent response) must show neither them nor these results.
    pub secret: bool,
}

impl CastOutcome {
    /// Whether this call recorded the voter's first ballot.
    pub fn is_new(&self) -> bool {
        self.kind == CastKind::New
    }

    /// Whether this call only replayed the receipt of the identical ballot.
    pub fn is_replay(&self) -> bool {
        self.kind == CastKind::Replay
    }

    /// Whether this call replaced the voter's earlier ballot.
    pub fn is_changed(&self) -> bool {
        self.kind == CastKind::Changed
    }

    /// Whether this call changed the results (a new or a changed ballot):
    /// what caches and broadcasts act on.
    pub fn changed_results(&self) -> bool {
        self.kind != CastKind::Replay
    }
}

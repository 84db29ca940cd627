//! [`Entry`]: one line of the journal, one change to the store.

use polling_core::{Poll, PollId, VoteReceipt, VoterId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One change, as a line of JSON: `{"op":"cast","voter":...,"receipt":...}`.
///
/// Each says what happened, already checked: replaying a journal applies
/// its entries without checking them again, so the store after a restart
/// is the store before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Entry {
    /// A poll was created.
    Created {
        /// The poll, as [`Poll::open`] made it.
        poll: Poll,
    },
    /// A poll was closed (the first time; closing again writes nothing).
    Closed {
        /// The poll closed.
        poll_id: PollId,
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// A poll was deleted with its ballots.
    Deleted {
        /// The poll deleted.
        poll_id: PollId,
    },
    /// A ballot was recorded: a voter's first, or one replacing theirs.
    Cast {
        /// Who voted: kept so a replay finds their receipt, never exported.
        voter: VoterId,
        /// What they marked, when, and the version it made.
        receipt: VoteReceipt,
    },
}

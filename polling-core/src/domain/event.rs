//! [`ResultsEvent`]: what broadcasters carry.

use serde::{Deserialize, Serialize};

use super::{PollId, Results, VoterTag};

/// A message about a poll's results, as published and received by a
/// [`Broadcaster`](crate::Broadcaster).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResultsEvent {
    /// New results after a vote.
    Updated {
        /// The results; keep them only if newer than what you hold.
        results: Results,
    },
    /// Events may have been missed (a lagging receiver, a lost connection):
    /// fetch a fresh snapshot of the poll's results.
    Resync {
        /// The poll to resync.
        poll_id: PollId,
    },
    /// A voter cast their first ballot in the poll (published after the
    /// [`Updated`](Self::Updated) of that ballot): a live socket of that voter
    /// whose counts an `after_vote` poll hid may show them now, and no other
    /// socket needs to ask the store whether *its* voter voted.
    Voted {
        /// The poll voted in.
        poll_id: PollId,
        /// Who voted, as a one-way tag of their voter id.
        voter: VoterTag,
    },
}

impl ResultsEvent {
    /// The poll this event is about.
    pub fn poll_id(&self) -> PollId {
        match self {
            Self::Updated { results } => results.poll_id,
            Self::Resync { poll_id } | Self::Voted { poll_id, .. } => *poll_id,
        }
    }
}

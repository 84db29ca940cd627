//! [`Entry`]: one line of the journal, one change to the store.

use polling_core::{Invite, InviteNonce, Marks, Poll, PollId, VoteReceipt, VoterId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::hex::HexHash;

/// One change, as a line of JSON: `{"op":"cast","voter":...,"receipt":...}`.
///
/// Each says what happened, already checked: replaying a journal applies
/// its entries without checking them again, so the store after a restart
/// is the store before it.
///
/// A ballot of a secret poll is two entries written together, a
/// [`Participated`](Entry::Participated) then a
/// [`SecretBallot`](Entry::SecretBallot), neither naming the other: the
/// first holds the voter's keyed hash and no marks, the second the marks
/// and the minute and no voter. (Their order in the file still ties them,
/// as a database's write-ahead log ties the rows of one transaction; see
/// the [journal's docs](crate::journal).)
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
    /// Invites were added to an invite-only poll.
    InvitesAdded {
        /// The poll they admit to.
        poll_id: PollId,
        /// The invites, not revoked (whether one is used is not stored: a
        /// ballot under its voter id tells).
        invites: Vec<InviteLine>,
    },
    /// An invite was revoked (the first time; revoking again writes nothing).
    InviteRevoked {
        /// The poll of the invite.
        poll_id: PollId,
        /// The invite's voter id.
        voter: VoterId,
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// A voter took part in a secret poll: always followed by its
    /// [`SecretBallot`](Entry::SecretBallot), the two written at once.
    Participated {
        /// The poll voted in.
        poll_id: PollId,
        /// The voter's [`VoterHash`](polling_core::domain::VoterHash) in
        /// this poll, in hexadecimal: never their id, never their marks.
        voter_hash: HexHash,
    },
    /// A secret poll's ballot, without its voter.
    SecretBallot {
        /// The poll voted in.
        poll_id: PollId,
        /// What was marked.
        marks: Marks,
        /// The minute it was cast in, nothing finer.
        #[serde(with = "time::serde::rfc3339")]
        cast_minute: OffsetDateTime,
    },
}

/// An [`Invite`] as the journal keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InviteLine {
    /// The voter id its code votes as.
    voter: VoterId,
    /// The nonce its code is made from (with the poll's token).
    nonce: String,
    /// When it was issued.
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

impl From<&Invite> for InviteLine {
    fn from(invite: &Invite) -> Self {
        Self {
            voter: invite.voter.clone(),
            nonce: invite.nonce.as_str().to_owned(),
            created_at: invite.created_at,
        }
    }
}

impl From<InviteLine> for Invite {
    fn from(line: InviteLine) -> Self {
        Self {
            nonce: InviteNonce::from_stored(line.nonce),
            voter: line.voter,
            created_at: line.created_at,
            revoked_at: None,
            used: false,
        }
    }
}

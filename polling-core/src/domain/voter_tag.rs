//! [`VoterTag`]: a voter's public stand-in, for events that say who voted.

use serde::{Deserialize, Serialize};

use super::VoterId;

/// A one-way tag of a [`VoterId`]: the first 16 bytes of the SHA-256 of a
/// domain-separated id, as 32 lowercase hex digits.
///
/// A voter id is a bearer secret (it is the voter's cookie), so events that
/// travel through the broadcaster say who voted by tag only
/// ([`ResultsEvent::Voted`](crate::ResultsEvent::Voted)): whoever holds a
/// voter id can tell its tag, nobody can go back from a tag to the id.
///
/// # Example
///
/// ```
/// use polling_core::{VoterId, VoterTag};
///
/// let voter = VoterId::generate();
/// assert_eq!(VoterTag::of(&voter), VoterTag::of(&voter));
/// assert_ne!(VoterTag::of(&voter), VoterTag::of(&VoterId::generate()));
/// assert_ne!(VoterTag::of(&voter).as_str(), voter.as_str());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VoterTag(String);

impl VoterTag {
    /// The tag of `voter`.
    pub fn of(voter: &VoterId) -> Self {
        Self(super::token::digest_hex::<16>(&[
            b"polling voter tag\0",
            voter.as_str().as_bytes(),
        ]))
    }

    /// The tag as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

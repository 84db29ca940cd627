//! Identifiers: [`PollId`], [`OptionId`] and [`VoterId`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Identifies a poll.
///
/// Poll ids are UUIDv7: they sort by creation time, so the newest-first listing
/// can page with the last id of a page as its cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PollId(Uuid);

impl PollId {
    /// A new, time-ordered poll id.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    /// Wraps an existing UUID (as read back from a database).
    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The UUID behind this id.
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for PollId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// The text was not a poll id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a poll id")]
pub struct ParseIdError;

impl FromStr for PollId {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Only the canonical hyphenated form: one poll, one URL.
        if s.len() != 36 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ParseIdError);
        }
        Uuid::try_parse(s).map(Self).map_err(|_| ParseIdError)
    }
}

/// Identifies one option within its poll: its position, starting at 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OptionId(u32);

impl OptionId {
    /// The option at `index` in its poll.
    pub const fn new(index: u32) -> Self {
        Self(index)
    }

    /// The position of the option in its poll.
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The raw number, as sent over the wire.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for OptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Identifies a voter: an opaque token the server hands out (in a cookie) and
/// the store keys ballots by. One ballot per voter per poll.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VoterId(String);

impl VoterId {
    /// The longest voter id accepted.
    pub const MAX_LEN: usize = 64;

    /// A new random voter id (128 bits, 32 lowercase hex digits).
    pub fn generate() -> Self {
        Self(crate::domain::token::random_hex::<16>())
    }

    /// The voter id every replica derives from the same unguessable `seed`
    /// (32 lowercase hex digits of its SHA-256, like a [generated](Self::generate) one).
    ///
    /// The server uses it for a first contact without a cookie that its
    /// trusted proxy stamped with a request id: when the proxy retries that
    /// request on another replica (the first one's reply was lost), the
    /// retry is the same voter, and its ballot a replay, not a second vote.
    /// The seed must be unguessable (nginx's `$request_id` is 128 random
    /// bits), or a client could predict someone else's id.
    ///
    /// # Example
    ///
    /// ```
    /// use polling_core::VoterId;
    ///
    /// let a = VoterId::derived_from("4f1c0d3e9a7b2c5d8e6f0a1b2c3d4e5f");
    /// assert_eq!(a, VoterId::derived_from("4f1c0d3e9a7b2c5d8e6f0a1b2c3d4e5f"));
    /// assert_ne!(a, VoterId::derived_from("another request"));
    /// assert_eq!(a.as_str().len(), 32);
    /// ```
    pub fn derived_from(seed: &str) -> Self {
        Self(crate::domain::token::digest_hex::<16>(&[
            b"polling voter id\0",
            seed.as_bytes(),
        ]))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for VoterId {
    type Error = ParseIdError;

    /// Accepts 1 to 64 ASCII letters, digits, `-` or `_`.
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let valid = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(s))
        } else {
            Err(ParseIdError)
        }
    }
}

impl FromStr for VoterId {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::try_from(s.to_owned())
    }
}

impl From<VoterId> for String {
    fn from(id: VoterId) -> Self {
        id.0
    }
}

impl fmt::Display for VoterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_ids_round_trip_through_text() {
        let id = PollId::generate();
        assert_eq!(id.to_string().parse::<PollId>(), Ok(id));
    }

    #[test]
    fn poll_ids_sort_by_creation() {
        let first = PollId::generate();
        let second = PollId::generate();
        assert!(first < second);
    }

    #[test]
    fn non_canonical_poll_ids_are_refused() {
        let id = PollId::generate();
        let simple = id.as_uuid().simple().to_string();
        assert_eq!(simple.parse::<PollId>(), Err(ParseIdError));
        let upper = "01A211A8-C7F3-7273-8FC5-C9BE1BB93985";
        assert!(upper.to_lowercase().parse::<PollId>().is_ok());
        assert_eq!(upper.parse::<PollId>(), Err(ParseIdError));
        assert_eq!("not-an-id".parse::<PollId>(), Err(ParseIdError));
        assert_eq!("".parse::<PollId>(), Err(ParseIdError));
    }

    #[test]
    fn voter_ids_accept_only_a_safe_alphabet() {
        assert!("abc-DEF_123".parse::<VoterId>().is_ok());
        assert!("".parse::<VoterId>().is_err());
        assert!("a b".parse::<VoterId>().is_err());
        assert!("é".parse::<VoterId>().is_err());
        assert!("x".repeat(65).parse::<VoterId>().is_err());
        assert_eq!(VoterId::generate().as_str().len(), 32);
    }
}

//! Secret polls: who voted and what was voted, kept apart.
//!
//! A poll created with `secret: true` records each ballot twice, in one
//! atomic step, with nothing that links the two records:
//!
//! * a **participation**: the poll and a [`VoterHash`] of the voter, so that
//!   one voter still casts one ballot (a second one is
//!   [`PollError::AlreadyVoted`](crate::PollError::AlreadyVoted), whatever
//!   it marks: the store cannot tell whether it is the same ballot);
//! * a **ballot**: the poll, its marks and the minute it was cast in
//!   ([`secret_minute`]), under a random key, never the voter, never a
//!   finer time, never a sequence number or a version.
//!
//! The voter's receipt is therefore not stored:
//! [`PollStore::ballot`](crate::PollStore::ballot) is `None` for every voter
//! of a secret poll and [`PollStore::has_voted`](crate::PollStore::has_voted)
//! says whether they voted. Changing a vote would need the very link that is
//! not kept, so a secret poll never allows it
//! ([`PollError::SecretVoteChange`](crate::PollError::SecretVoteChange)).
//!
//! # Example
//!
//! ```
//! use polling_core::domain::{secret_minute, VoterHash};
//! use polling_core::{PollId, VoterId};
//! use time::macros::datetime;
//!
//! let (poll, voter) = (PollId::generate(), VoterId::generate());
//! assert_eq!(VoterHash::of(poll, &voter), VoterHash::of(poll, &voter));
//! assert_ne!(VoterHash::of(poll, &voter), VoterHash::of(PollId::generate(), &voter));
//! assert_eq!(
//!     secret_minute(datetime!(2026-12-07 14:05:59.9 UTC)),
//!     datetime!(2026-12-07 14:05 UTC)
//! );
//! ```

use std::fmt;

use time::OffsetDateTime;

use super::token::hmac_sha256;
use super::{PollId, VoterId};

/// The keyed hash of a voter in one secret poll: HMAC-SHA256 of the voter
/// id, keyed by the poll id (with a label of its own, so the digest is no
/// other hash this code makes).
///
/// What a secret poll's participation record holds instead of the voter
/// id: the same voter gives the same hash in the same poll (one ballot per
/// voter), and another in every other poll, so participations cannot be
/// joined across polls, nor looked up in a table of plain SHA-256 digests of
/// cookies. The key is the poll id, which is not secret: whoever holds a
/// voter's cookie can compute the hash and see that they took part (never
/// what they chose; see `SECURITY.md`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VoterHash([u8; 32]);

impl VoterHash {
    /// The hash of `voter` in poll `poll`.
    pub fn of(poll: PollId, voter: &VoterId) -> Self {
        let label = b"polling secret poll voter v1 ";
        let mut key = [0u8; 29 + 16];
        key[..label.len()].copy_from_slice(label);
        key[label.len()..].copy_from_slice(poll.as_uuid().as_bytes());
        Self(hmac_sha256(&key, &[voter.as_str().as_bytes()]))
    }

    /// Wraps a stored hash (as read back from a database).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes of the hash.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The hash in lowercase hexadecimal (64 digits).
    pub fn to_hex(&self) -> String {
        use fmt::Write as _;
        self.0.iter().fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
    }
}

/// Never the digest itself, so that it cannot reach a log line by a `{:?}`.
impl fmt::Debug for VoterHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VoterHash(..)")
    }
}

/// The time a secret poll keeps of a ballot: `t` in UTC, truncated to the
/// minute. Receipts and stored ballots of secret polls carry nothing finer.
pub fn secret_minute(t: OffsetDateTime) -> OffsetDateTime {
    super::anonymous_ballot::truncate_to_minute(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voter(id: &str) -> VoterId {
        VoterId::try_from(id.to_owned()).unwrap()
    }

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        // Split, as the invite codes hash their parts.
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            VoterHash::from_bytes(mac).to_hex(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_hash_is_keyed_by_the_poll_and_never_the_plain_digest() {
        let poll = PollId::from_uuid(uuid::Uuid::nil());
        let hash = VoterHash::of(poll, &voter("ada"));
        assert_eq!(hash, VoterHash::of(poll, &voter("ada")));
        assert_ne!(hash, VoterHash::of(poll, &voter("bob")));
        let plain: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(b"ada").into();
        assert_ne!(hash.as_bytes(), &plain, "never the plain digest");
        assert_eq!(hash.to_hex().len(), 64);
        assert_eq!(format!("{hash:?}"), "VoterHash(..)");
    }

    #[test]
    fn each_poll_hashes_a_voter_differently() {
        let ada = voter("ada");
        assert_ne!(
            VoterHash::of(PollId::generate(), &ada),
            VoterHash::of(PollId::generate(), &ada)
        );
    }
}

//! Invite codes: [`InviteCode`] (what a voter holds), [`InviteNonce`] and
//! [`Invite`] (what a store keeps).
//!
//! A code is never stored. Each invite is a random [`InviteNonce`]; its code
//! is the HMAC-SHA256 of the poll id and the nonce keyed with the poll's
//! manage token, cut to 128 bits and written in lowercase base32 (26
//! characters). So the owner, who presents the token, gets every code back
//! at any time, while the store (which keeps only the token's hash, the
//! nonce and the code's voter id) cannot make one.
//!
//! A code's [voter id](InviteCode::voter) is a one-way hash of the code
//! with the prefix `inv_`: the identity its ballot is kept under, so the
//! one-ballot-per-voter rule of the stores makes a code count once, a
//! replay of its ballot returns the original receipt and a change follows
//! the poll's `allow_vote_change`. Voter cookies never carry such an id (the
//! server refuses the prefix), so only the code votes as it.
//!
//! # Example
//!
//! ```
//! use polling_core::{Invite, InviteCode, ManageToken, PollId};
//!
//! let token = ManageToken::generate();
//! let poll = PollId::generate();
//! let (invite, code) = Invite::issue(&token, poll, polling_core::now());
//! assert_eq!(code.as_str().len(), 26);
//! assert_eq!(invite.code(&token, poll), code);
//! assert_eq!(invite.voter, code.voter());
//! assert!(invite.voter.is_invite());
//! assert_eq!(InviteCode::presented(code.as_str()), Some(code));
//! assert_eq!(InviteCode::presented("not a code"), None);
//! ```

use std::fmt;

use time::OffsetDateTime;

use super::token::{digest_hex, hmac_sha256, random_hex};
use super::{ManageToken, PollId, VoterId};

/// The most invite codes one request may ask for (at creation, or added later).
pub const MAX_INVITES_PER_REQUEST: u32 = 10_000;

/// The most invite codes one poll holds, revoked ones included: its list
/// and its CSV of links stay a few megabytes, and an owner cannot grow a
/// poll's table without end ([`PollStore::add_invites`](crate::PollStore::add_invites)
/// refuses past it).
pub const MAX_INVITES_PER_POLL: u32 = 100_000;

/// Whether a poll holding `held` invites has room for `adding` more:
/// [`TooManyInvites`](crate::PollError::TooManyInvites) if not. Each store
/// calls it while it holds the poll's lock, so that concurrent additions
/// never take a poll past [`MAX_INVITES_PER_POLL`].
///
/// ```
/// use polling_core::{invite_room, MAX_INVITES_PER_POLL};
///
/// assert!(invite_room(0, 10_000).is_ok());
/// assert!(invite_room(MAX_INVITES_PER_POLL as usize - 1, 1).is_ok());
/// assert_eq!(
///     invite_room(MAX_INVITES_PER_POLL as usize, 1).unwrap_err().code(),
///     "too_many_invites"
/// );
/// ```
///
/// # Errors
///
/// `TooManyInvites` when `held + adding` is more than [`MAX_INVITES_PER_POLL`].
pub fn invite_room(held: usize, adding: usize) -> crate::Result<()> {
    if held.saturating_add(adding) <= MAX_INVITES_PER_POLL as usize {
        Ok(())
    } else {
        Err(crate::PollError::TooManyInvites { held: held as u64 })
    }
}

/// The prefix of the voter id of an invite code.
const INVITE_VOTER_PREFIX: &str = "inv_";

/// The characters of a code: RFC 4648 base32, lowercase.
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The length of a code: 128 bits in base32.
const CODE_LEN: usize = 26;

/// The secret that lets one person vote once in an invite-only poll.
#[derive(Clone, PartialEq, Eq)]
pub struct InviteCode(String);

impl InviteCode {
    /// The code of invite `nonce` of poll `poll`, owned by `token`.
    pub fn derive(token: &ManageToken, poll: PollId, nonce: &InviteNonce) -> Self {
        let mac = hmac_sha256(
            token.as_str().as_bytes(),
            &[
                b"polling invite code\0",
                poll.as_uuid().as_bytes(),
                nonce.0.as_bytes(),
            ],
        );
        Self(base32(&mac[..16]))
    }

    /// A code a client presented, if it could be one: 26 characters of the
    /// lowercase base32 alphabet (upper case is taken as lower case).
    pub fn presented(code: &str) -> Option<Self> {
        let code = code.trim().to_ascii_lowercase();
        (code.len() == CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b)))
            .then_some(Self(code))
    }

    /// The code's text, for the owner and the vote link.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The voter id ballots cast with this code are kept under: `inv_` and
    /// 32 hex digits of a SHA-256 of the code.
    pub fn voter(&self) -> VoterId {
        let hash = digest_hex::<16>(&[b"polling invite voter\0", self.0.as_bytes()]);
        VoterId::try_from(format!("{INVITE_VOTER_PREFIX}{hash}"))
            .expect("36 characters of a voter id's alphabet")
    }
}

impl fmt::Debug for InviteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InviteCode(..)")
    }
}

impl VoterId {
    /// Whether this is the voter id of an [`InviteCode`].
    pub fn is_invite(&self) -> bool {
        self.as_str().starts_with(INVITE_VOTER_PREFIX)
    }
}

/// What a store keeps to tell one invite of a poll from another: 128 random
/// bits as 32 hex digits. Not a secret: without the manage token it makes
/// no code.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InviteNonce(String);

impl InviteNonce {
    /// A new random nonce.
    pub fn generate() -> Self {
        Self(random_hex::<16>())
    }

    /// Wraps a nonce read back from storage.
    pub fn from_stored(nonce: impl Into<String>) -> Self {
        Self(nonce.into())
    }

    /// The hex text, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One invite of a poll, as a store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invite {
    /// Tells this invite from the poll's others; makes its code with the token.
    pub nonce: InviteNonce,
    /// The voter id of its code: whom its ballot is kept under.
    pub voter: VoterId,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When the owner revoked it, if they did: its code votes no more.
    pub revoked_at: Option<OffsetDateTime>,
    /// Whether a ballot was cast with its code (set by the store on reading).
    pub used: bool,
}

impl Invite {
    /// A new invite of poll `poll` owned by `token`, issued `now`, with its code.
    pub fn issue(token: &ManageToken, poll: PollId, now: OffsetDateTime) -> (Self, InviteCode) {
        let nonce = InviteNonce::generate();
        let code = InviteCode::derive(token, poll, &nonce);
        let invite = Self {
            nonce,
            voter: code.voter(),
            created_at: super::truncate_to_micros(now),
            revoked_at: None,
            used: false,
        };
        (invite, code)
    }

    /// This invite's code, made again from the owner's `token`.
    pub fn code(&self, token: &ManageToken, poll: PollId) -> InviteCode {
        InviteCode::derive(token, poll, &self.nonce)
    }

    /// Whether its code may vote: issued and not revoked.
    pub fn is_valid(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// `bytes` in lowercase base32 without padding.
fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32(b"f"), "my");
        assert_eq!(base32(b"fooba"), "mzxw6ytb");
        assert_eq!(base32(b"foobar"), "mzxw6ytboi");
    }

    #[test]
    fn codes_depend_on_the_token_the_poll_and_the_nonce() {
        let (token, poll) = (ManageToken::generate(), PollId::generate());
        let nonce = InviteNonce::generate();
        let code = InviteCode::derive(&token, poll, &nonce);
        assert_eq!(code, InviteCode::derive(&token, poll, &nonce));
        assert_ne!(
            code,
            InviteCode::derive(&ManageToken::generate(), poll, &nonce)
        );
        assert_ne!(code, InviteCode::derive(&token, PollId::generate(), &nonce));
        assert_ne!(
            code,
            InviteCode::derive(&token, poll, &InviteNonce::generate())
        );
        assert_ne!(
            code.voter(),
            InviteCode::derive(&token, poll, &InviteNonce::generate()).voter()
        );
    }

    #[test]
    fn presented_codes_are_checked_and_never_shown_in_debug() {
        let (_, code) = Invite::issue(&ManageToken::generate(), PollId::generate(), crate::now());
        assert_eq!(
            InviteCode::presented(&code.as_str().to_uppercase()),
            Some(code.clone())
        );
        assert_eq!(InviteCode::presented(&code.as_str()[1..]), None);
        assert_eq!(
            InviteCode::presented(&format!("{}1", &code.as_str()[1..])),
            None
        );
        assert!(!format!("{code:?}").contains(code.as_str()));
    }

    #[test]
    fn only_code_voters_are_invite_voters() {
        assert!(!VoterId::generate().is_invite());
        assert!(!VoterId::derived_from("seed").is_invite());
        let (invite, _) = Invite::issue(&ManageToken::generate(), PollId::generate(), crate::now());
        assert!(invite.voter.is_invite());
        assert!(invite.is_valid());
    }
}

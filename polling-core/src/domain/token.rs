//! The poll owner's secret: [`ManageToken`] and the only form stores keep, [`TokenHash`].

use std::fmt;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `N` random bytes from the operating system, as lowercase hex.
pub(crate) fn random_hex<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    // The OS random source failing is not a state a server can go on from.
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    hex(&bytes)
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts` under `key`: the code
/// of an invite, the hash a secret poll keeps of a voter.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes a key of any length: `new_from_slice` cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The first `N` bytes of the SHA-256 of `parts`, concatenated, as lowercase hex.
pub(crate) fn digest_hex<const N: usize>(parts: &[&[u8]]) -> String {
    let mut digest = Sha256::new();
    for part in parts {
        digest.update(part);
    }
    hex(&digest.finalize()[..N])
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// The secret that lets a poll's creator close or delete it.
///
/// It is shown once, when the poll is created; stores keep only its
/// [`TokenHash`].
#[derive(Clone, PartialEq, Eq)]
pub struct ManageToken(String);

impl ManageToken {
    /// A new random token (256 bits).
    pub fn generate() -> Self {
        Self(random_hex::<32>())
    }

    /// The longest presented token looked at; real ones are 64 hex digits,
    /// and hashing a client's megabyte to compare it is work for nothing.
    pub const MAX_PRESENTED_LEN: usize = 256;

    /// Wraps a token presented by a client (for checking against a hash).
    pub fn from_presented(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// A token a client presented, if it could be one: 1 to
    /// [`MAX_PRESENTED_LEN`](Self::MAX_PRESENTED_LEN) bytes. Every place that
    /// takes a manage token from a client (a header, a socket message)
    /// checks it this way.
    ///
    /// ```
    /// use polling_core::ManageToken;
    ///
    /// assert!(ManageToken::presented("").is_none());
    /// assert!(ManageToken::presented(&"x".repeat(257)).is_none());
    /// assert!(ManageToken::presented("0f3a").is_some());
    /// ```
    pub fn presented(token: &str) -> Option<Self> {
        (!token.is_empty() && token.len() <= Self::MAX_PRESENTED_LEN)
            .then(|| Self::from_presented(token))
    }

    /// The token's text, to hand to the creator.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hash stores keep instead of the token.
    pub fn hash(&self) -> TokenHash {
        TokenHash(hex(&Sha256::digest(self.0.as_bytes())))
    }
}

impl fmt::Debug for ManageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ManageToken(..)")
    }
}

/// The SHA-256 of a [`ManageToken`], as lowercase hex.
///
/// A token has 256 random bits, so a plain hash (no salt, no key stretching)
/// is enough: nobody can guess a preimage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl TokenHash {
    /// Wraps a hash read back from storage.
    pub fn from_stored(hash: impl Into<String>) -> Self {
        Self(hash.into())
    }

    /// The hex text, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `token` is the one this hash was made from.
    ///
    /// The comparison takes the same time wherever the digests differ. Timing
    /// would leak little anyway (a matching prefix of a SHA-256 digest does
    /// not help to find a token that hashes to it), but a constant-time
    /// compare costs nothing and leaves no argument to make.
    pub fn verifies(&self, token: &ManageToken) -> bool {
        constant_time_eq(token.hash().0.as_bytes(), self.0.as_bytes())
    }
}

/// Whether `a` and `b` are equal, in a time that depends on their lengths
/// only: every byte is looked at, and the differences are folded with `|`
/// rather than returned at the first one. Two lines of our own rather than a
/// dependency (`subtle`): the inputs are public-length hex digests, so there
/// is no length to hide and no branch left to remove.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_against_its_own_hash_only() {
        let token = ManageToken::generate();
        let other = ManageToken::generate();
        assert!(token.hash().verifies(&token));
        assert!(!token.hash().verifies(&other));
        assert_ne!(token, other);
        assert_eq!(token.as_str().len(), 64);
        assert_eq!(token.hash().as_str().len(), 64);
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let token = ManageToken::generate();
        assert!(!format!("{token:?}").contains(token.as_str()));
    }

    #[test]
    fn constant_time_eq_needs_every_byte_and_the_length_to_match() {
        assert!(constant_time_eq(b"abcd", b"abcd"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"abcd", b"abce"));
        assert!(!constant_time_eq(b"abcd", b"xbcd"));
        assert!(!constant_time_eq(b"abcd", b"abc"));
        let token = ManageToken::generate();
        let stored = TokenHash::from_stored(token.hash().as_str().to_uppercase());
        assert!(!stored.verifies(&token), "hex is compared byte for byte");
    }

    #[test]
    fn hex_encodes_every_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }
}

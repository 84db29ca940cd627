//! [`Fingerprint`]: what makes two requests "the same request".

use sha2::{Digest, Sha256};

/// The SHA-256 of a request's body: the same key sent with a body of another
/// fingerprint is a different request, refused rather than replayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of `body`.
    pub fn of(body: &[u8]) -> Self {
        Self(Sha256::digest(body).into())
    }

    /// A fingerprint as a store kept it.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes of the digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_bodies_have_equal_fingerprints() {
        assert_eq!(Fingerprint::of(b"{\"a\":1}"), Fingerprint::of(b"{\"a\":1}"));
        assert_ne!(Fingerprint::of(b"{\"a\":1}"), Fingerprint::of(b"{\"a\":2}"));
        let fp = Fingerprint::of(b"");
        assert_eq!(Fingerprint::from_bytes(*fp.as_bytes()), fp);
    }
}

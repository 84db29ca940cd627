//! The webhook signature: `X-Polling-Signature: sha256=<hex>`, the
//! HMAC-SHA256 of the request body under the secret both ends share (the
//! scheme GitHub's webhooks use).
//!
//! The receiver recomputes it over the body bytes exactly as they arrived,
//! before parsing them, and compares in constant time ([`verify`]).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header the signature travels in.
pub(crate) const SIGNATURE_HEADER: &str = "x-polling-signature";

/// What the signature starts with: the hash it was made with.
const SCHEME: &str = "sha256=";

/// The signature of `body` under `secret`: `sha256=` and 64 hex digits.
pub(crate) fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = keyed(secret);
    mac.update(body);
    format!("{SCHEME}{}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` is the signature of `body` under `secret`, compared in
/// constant time.
pub(crate) fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(Ok(sent)) = header.strip_prefix(SCHEME).map(hex::decode) else {
        return false;
    };
    let mut mac = keyed(secret);
    mac.update(body);
    mac.verify_slice(&sent).is_ok()
}

fn keyed(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of every length")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_secret_and_body() {
        let signature = sign(b"secret", b"{\"a\":1}");
        assert!(signature.starts_with("sha256="));
        assert_eq!(signature.len(), "sha256=".len() + 64);
        assert!(verify(b"secret", b"{\"a\":1}", &signature));
        assert!(!verify(b"other secret", b"{\"a\":1}", &signature));
        assert!(!verify(b"secret", b"{\"a\":2}", &signature));
        assert!(!verify(
            b"secret",
            b"{\"a\":1}",
            &signature.replace("sha256=", "sha1=")
        ));
        assert!(!verify(b"secret", b"{\"a\":1}", "sha256=not-hex"));
    }

    #[test]
    fn the_signature_is_rfc_4231_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}

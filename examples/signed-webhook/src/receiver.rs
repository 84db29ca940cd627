//! The receiving end of the webhooks, as the application getting them
//! writes it: take the raw body, check its signature over exactly those
//! bytes, only then parse it.

use bytes::Bytes;
use warp::http::StatusCode;
use warp::{Filter, Rejection};

use crate::event::VoteEvent;
use crate::signature::{verify, SIGNATURE_HEADER};

/// The most bytes a delivery's body may have: an event is a few hundred.
const BODY_LIMIT: u64 = 64 * 1024;

/// One delivery as it arrived, not yet trusted.
#[derive(Debug)]
pub(crate) struct Incoming {
    /// The `X-Polling-Signature` header, if any.
    signature: Option<String>,
    /// The body, byte for byte.
    body: Bytes,
}

impl Incoming {
    /// The event, if the body is signed with `secret`: else 401, and 400
    /// for a signed body that is no event.
    pub(crate) fn verify(&self, secret: &[u8]) -> Result<VoteEvent, StatusCode> {
        let signed = self
            .signature
            .as_deref()
            .is_some_and(|signature| verify(secret, &self.body, signature));
        if !signed {
            return Err(StatusCode::UNAUTHORIZED);
        }
        serde_json::from_slice(&self.body).map_err(|_| StatusCode::BAD_REQUEST)
    }
}

/// Takes every `POST` with its signature and raw body.
///
/// A receiver that may get a delivery twice (at least once: see
/// [`crate::delivery`]) keeps the `delivery` ids of the events it handled;
/// the `X-Polling-Delivery` header carries the same id, for logs before
/// the body is trusted.
pub(crate) fn incoming() -> impl Filter<Extract = (Incoming,), Error = Rejection> + Clone {
    warp::post()
        .and(warp::header::optional::<String>(SIGNATURE_HEADER))
        .and(warp::body::content_length_limit(BODY_LIMIT))
        .and(warp::body::bytes())
        .map(|signature, body| Incoming { signature, body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::sign;

    fn arrived(signature: Option<String>, body: &'static [u8]) -> Incoming {
        Incoming {
            signature,
            body: Bytes::from_static(body),
        }
    }

    #[test]
    fn only_a_body_signed_with_the_shared_secret_is_trusted() {
        let body: &[u8] = br#"{"not": "an event"}"#;
        let unsigned = arrived(None, body);
        assert_eq!(unsigned.verify(b"s").unwrap_err(), StatusCode::UNAUTHORIZED);
        let forged = arrived(Some(sign(b"other", body)), body);
        assert_eq!(forged.verify(b"s").unwrap_err(), StatusCode::UNAUTHORIZED);
        let altered = arrived(Some(sign(b"s", b"{}")), body);
        assert_eq!(altered.verify(b"s").unwrap_err(), StatusCode::UNAUTHORIZED);
        // Signed, but not an event: the sender's bug, not an attack.
        let signed = arrived(Some(sign(b"s", body)), body);
        assert_eq!(signed.verify(b"s").unwrap_err(), StatusCode::BAD_REQUEST);
    }
}

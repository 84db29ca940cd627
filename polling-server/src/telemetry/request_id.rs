//! Request ids: the caller's `X-Request-Id` when it is sane, else a new one.

use warp::http::{HeaderMap, HeaderValue};

/// The header carrying the request id, both ways.
pub(crate) const HEADER: &str = "x-request-id";

/// The request's id: its `X-Request-Id` if that is 1–128 visible ASCII
/// characters of `[A-Za-z0-9._:-]` (a proxy's or a client's, so one id
/// follows the request across services), else a random UUID in hex.
pub(crate) fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(HEADER)
        .filter(|value| is_sane(value.as_bytes()))
        .cloned()
        .unwrap_or_else(|| {
            let fresh = uuid::Uuid::new_v4().simple().to_string();
            HeaderValue::from_str(&fresh).unwrap_or_else(|_| HeaderValue::from_static("-"))
        })
}

fn is_sane(id: &[u8]) -> bool {
    (1..=128).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sane_incoming_id_is_kept() {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_static("edge-42.a:b_c"));
        assert_eq!(request_id(&headers), "edge-42.a:b_c");
    }

    #[test]
    fn missing_or_odd_ids_are_replaced_by_new_random_ones() {
        let mut headers = HeaderMap::new();
        let fresh = request_id(&headers);
        assert_eq!(fresh.len(), 32);
        assert_ne!(fresh, request_id(&headers));
        headers.insert(HEADER, HeaderValue::from_static("has space"));
        assert_ne!(request_id(&headers), "has space");
        let long = "x".repeat(129);
        headers.insert(HEADER, HeaderValue::from_str(&long).unwrap());
        assert_eq!(request_id(&headers).len(), 32);
    }
}

//! Request ids: the caller's `X-Request-Id` when it is sane, else a new one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

use warp::http::{HeaderMap, HeaderValue};

/// The header carrying the request id, both ways.
pub(crate) const HEADER: &str = "x-request-id";

/// The request's id: its `X-Request-Id` if that is 1–128 visible ASCII
/// characters of `[A-Za-z0-9._:-]` (a proxy's or a client's, so one id
/// follows the request across services), else a [fresh](fresh_id) one.
pub(crate) fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(HEADER)
        .filter(|value| is_sane(value.as_bytes()))
        .cloned()
        .unwrap_or_else(fresh_id)
}

/// 32 hex digits: 64 random bits drawn once per process, then a counter.
///
/// Unique within the process and, with overwhelming odds, across replicas,
/// which is all a request id needs; drawing 128 random bits for every
/// request cost a few percent of the vote throughput.
fn fresh_id() -> HeaderValue {
    static PROCESS: LazyLock<u64> = LazyLock::new(|| uuid::Uuid::new_v4().as_u64_pair().0);
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    HeaderValue::from_str(&format!("{:016x}{n:016x}", *PROCESS))
        .expect("hex digits are a valid header value")
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
    fn missing_or_odd_ids_are_replaced_by_fresh_ones() {
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

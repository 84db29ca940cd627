//! Request ids: the caller's `X-Request-Id` when it is sane, else a new
//! one, set by tower-http's request-id layers with our rules:
//! [`drop_insane_id`] first removes an id that is not sane, then
//! `SetRequestIdLayer` gives a request without one a [`FreshId`], and
//! `PropagateRequestIdLayer` returns it on the response.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

use tower_http::request_id::{MakeRequestId, RequestId};
use warp::http::header::HeaderName;
use warp::http::{HeaderValue, Request};

/// The header carrying the request id, both ways.
pub(crate) const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Removes `request`'s `X-Request-Id` unless it is 1–128 characters of
/// `[A-Za-z0-9._:-]`: a sane one (a proxy's or a client's) is kept, so one id
/// follows the request across services; anything else is replaced.
pub(crate) fn drop_insane_id<B>(mut request: Request<B>) -> Request<B> {
    if request
        .headers()
        .get(&HEADER)
        .is_some_and(|id| !is_sane(id.as_bytes()))
    {
        request.headers_mut().remove(&HEADER);
    }
    request
}

/// Makes the id of a request that came without a sane one: 32 hex digits,
/// 64 random bits drawn once per process, then a counter.
///
/// Unique within the process and, with overwhelming odds, across replicas,
/// which is all a request id needs; drawing 128 random bits for every
/// request cost a few percent of the vote throughput.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FreshId;

impl MakeRequestId for FreshId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        Some(RequestId::new(fresh_id()))
    }
}

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

    fn with_id(id: &str) -> Request<()> {
        Request::get("/").header(HEADER, id).body(()).unwrap()
    }

    #[test]
    fn a_sane_incoming_id_is_kept() {
        let request = drop_insane_id(with_id("edge-42.a:b_c"));
        assert_eq!(request.headers()[HEADER], "edge-42.a:b_c");
    }

    #[test]
    fn odd_ids_are_dropped_for_fresh_ones() {
        assert!(!drop_insane_id(with_id("has space"))
            .headers()
            .contains_key(HEADER));
        let long = "x".repeat(129);
        assert!(!drop_insane_id(with_id(&long))
            .headers()
            .contains_key(HEADER));
        let request = with_id("x");
        let fresh = FreshId.make_request_id(&request).unwrap();
        let again = FreshId.make_request_id(&request).unwrap();
        assert_eq!(fresh.header_value().len(), 32);
        assert_ne!(fresh.header_value(), again.header_value());
    }
}

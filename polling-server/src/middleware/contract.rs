//! [`ResponseContractLayer`]: the headers every response carries, and
//! what they are.

use tower::Layer;
use tower_http::set_header::{SetResponseHeader, SetResponseHeaderLayer};
use warp::http::header::{HeaderName, HeaderValue};

use warp::http::HeaderMap;

/// One header set on a response, replacing any the inner service set.
type Set<S> = SetResponseHeader<S, HeaderValue>;

/// The outermost layer of the accept loop: sets the
/// [security headers](SECURITY_HEADERS) and `X-Served-By` (the instance
/// name) on every response, each exactly once (an inner service's value is
/// replaced, never doubled), so that refusals made before the routes (429,
/// 503) carry them like the routes' own answers. `X-Request-Id` is set
/// just inside, by [`Observe`](super::ObserveLayer).
///
/// tower-http's [`SetResponseHeaderLayer`] sets each header: per request it
/// clones a `HeaderName` and a `HeaderValue` (a reference count, or nothing
/// for a static one) and allocates nothing of its own, where its
/// `SetMultipleResponseHeadersLayer` clones a boxed value maker per header
/// per request.
#[derive(Clone, Debug)]
pub(crate) struct ResponseContractLayer {
    /// `X-Served-By`.
    served_by: SetResponseHeaderLayer<HeaderValue>,
    /// One layer per security header.
    security: [SetResponseHeaderLayer<HeaderValue>; SECURITY_HEADERS.len()],
}

impl ResponseContractLayer {
    /// The contract of the server named `instance`.
    pub(crate) fn new(instance: &str) -> Self {
        let set = |name: &'static str, value: HeaderValue| {
            SetResponseHeaderLayer::overriding(HeaderName::from_static(name), value)
        };
        Self {
            served_by: set(SERVED_BY, served_by(instance)),
            security: SECURITY_HEADERS
                .map(|(name, value)| set(name, HeaderValue::from_static(value))),
        }
    }
}

impl<S> Layer<S> for ResponseContractLayer {
    type Service = Set<Set<Set<Set<Set<S>>>>>;

    fn layer(&self, inner: S) -> Self::Service {
        let [csp, sniff, frame, referrer] = &self.security;
        self.served_by
            .layer(csp.layer(sniff.layer(frame.layer(referrer.layer(inner)))))
    }
}

/// The header naming the server instance that answered.
pub(crate) const SERVED_BY: &str = "x-served-by";

/// The instance name as a header value; characters a header cannot carry
/// become `_`.
pub(crate) fn served_by(instance: &str) -> HeaderValue {
    let visible: String = instance
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    HeaderValue::from_str(visible.trim()).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// The security headers of every response, name and value: a strict
/// Content-Security-Policy (the browser app has no inline script or style),
/// no sniffing, no framing, no referrer sent to other sites.
pub(crate) const SECURITY_HEADERS: [(&str, &str); 4] = [
    (
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
];

/// [`SECURITY_HEADERS`] as a header map.
pub(crate) fn security_headers() -> HeaderMap {
    SECURITY_HEADERS
        .into_iter()
        .map(|(name, value)| {
            (
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            )
        })
        .collect()
}

//! The WebSocket handshake (RFC 6455 §4.2), done here rather than by
//! `warp::ws` so that each socket's buffers can be sized: tungstenite
//! allocates a 128 KiB read buffer per socket by default, which warp does not
//! let us change, and ten thousand idle browsers would hold over a GiB.

use std::future::Future;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use warp::http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, UPGRADE};
use warp::http::{HeaderMap, HeaderValue, StatusCode};
use warp::reply::Response;
use warp::Filter;

/// A server-side WebSocket over an upgraded HTTP/1.1 connection.
pub(super) type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// A valid WebSocket handshake request, ready to be accepted.
pub(super) struct Handshake {
    /// `Sec-WebSocket-Key`, to derive the accept key from.
    key: HeaderValue,
    /// Resolves to the raw connection once the 101 response is sent; `None`
    /// where hyper offers no upgrade (requests made in memory by
    /// `warp::test`), which then get the 101 answer and nothing more, as with
    /// `warp::ws`.
    on_upgrade: Option<OnUpgrade>,
}

/// Extracts the request's handshake, or `None` when it is not one (a plain
/// request, or a wrong version).
pub(super) fn handshake(
) -> impl Filter<Extract = (Option<Handshake>,), Error = std::convert::Infallible> + Clone {
    warp::header::headers_cloned()
        .and(warp::ext::optional::<OnUpgrade>())
        .map(|headers: HeaderMap, on_upgrade: Option<OnUpgrade>| {
            let wants_upgrade = has_token(&headers, CONNECTION.as_str(), "upgrade")
                && has_token(&headers, UPGRADE.as_str(), "websocket");
            let version_13 = headers
                .get("sec-websocket-version")
                .is_some_and(|v| v.as_bytes() == b"13");
            let key = headers.get("sec-websocket-key")?.clone();
            (wants_upgrade && version_13).then_some(Handshake { key, on_upgrade })
        })
}

impl Handshake {
    /// Answers 101 and, once the connection is switched, runs `serve` on the
    /// socket, configured with `config`.
    pub(super) fn accept<F, Fut>(self, config: WebSocketConfig, serve: F) -> Response
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let accept = derive_accept_key(self.key.as_bytes());
        match self.on_upgrade {
            Some(on_upgrade) => {
                tokio::spawn(async move {
                    match on_upgrade.await {
                        Ok(upgraded) => {
                            let io = TokioIo::new(upgraded);
                            let socket =
                                WebSocketStream::from_raw_socket(io, Role::Server, Some(config))
                                    .await;
                            serve(socket).await;
                        }
                        Err(error) => tracing::debug!(%error, "websocket upgrade failed"),
                    }
                });
            }
            None => tracing::debug!("a websocket handshake on a connection that cannot upgrade"),
        }
        let mut response = Response::default();
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&accept) {
            headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
        }
        response
    }
}

/// Whether the comma-separated header `name` lists `token` (without case).
fn has_token(headers: &HeaderMap, name: &str, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_key_is_rfc_6455s_example() {
        // RFC 6455 §1.3.
        assert_eq!(
            derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn connection_tokens_are_matched_in_lists_and_without_case() {
        let mut headers = HeaderMap::new();
        headers.insert(CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        assert!(has_token(&headers, "connection", "upgrade"));
        assert!(!has_token(&headers, "connection", "close"));
    }
}

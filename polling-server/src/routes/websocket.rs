//! The WebSocket handshake (RFC 6455 §4.2), done here rather than by
//! `warp::ws` so that each socket's buffers can be sized: tungstenite
//! allocates a 128 KiB read buffer per socket by default, which warp does not
//! let us change, and ten thousand idle browsers would hold over a GiB; and
//! [`Frames`], the socket as the hub's frames, unsplit.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::{Sink, Stream};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use polling_realtime::{ClientFrame, ServerFrame};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
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
    /// Answers 101; with it, the connection to be switched, unless hyper
    /// offers no upgrade (a request made in memory).
    ///
    /// The caller spawns the task that awaits [`Upgrade::socket`] and serves
    /// it: one future from the upgrade to the socket's end, holding what the
    /// socket is served with once.
    pub(super) fn accept(self) -> (Response, Option<Upgrade>) {
        let accept = derive_accept_key(self.key.as_bytes());
        let upgrade = self.on_upgrade.map(|on_upgrade| Upgrade { on_upgrade });
        if upgrade.is_none() {
            tracing::debug!("a websocket handshake on a connection that cannot upgrade");
        }
        let mut response = Response::default();
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&accept) {
            headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
        }
        (response, upgrade)
    }
}

/// A connection being switched to a WebSocket once its 101 is sent.
pub(super) struct Upgrade {
    /// Resolves to the raw connection.
    on_upgrade: OnUpgrade,
}

impl Upgrade {
    /// The socket, once the connection is switched, with `config`'s buffers
    /// and limits; `None` if it failed.
    pub(super) async fn socket(self, config: WebSocketConfig) -> Option<Socket> {
        match self.on_upgrade.await {
            Ok(upgraded) => Some(
                WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await,
            ),
            Err(error) => {
                tracing::debug!(%error, "websocket upgrade failed");
                None
            }
        }
    }
}

/// The WebSocket as the hub's frames: [`ServerFrame`]s in, [`ClientFrame`]s
/// out, unsplit (a split socket keeps a lock and a place per half).
pub(super) struct Frames(pub(super) Socket);

impl Sink<ServerFrame> for Frames {
    type Error = tungstenite::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.get_mut().0).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, frame: ServerFrame) -> Result<(), Self::Error> {
        Pin::new(&mut self.get_mut().0).start_send(to_message(frame))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.get_mut().0).poll_close(cx)
    }
}

impl Stream for Frames {
    type Item = Result<ClientFrame, tungstenite::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.get_mut().0)
            .poll_next(cx)
            .map(|message| message.map(|message| message.map(to_frame)))
    }
}

fn to_message(frame: ServerFrame) -> Message {
    match frame {
        ServerFrame::Text(text) => Message::text(text),
        ServerFrame::Ping(payload) => Message::Ping(payload.into()),
        ServerFrame::Close { code, reason } => Message::Close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        })),
    }
}

fn to_frame(message: Message) -> ClientFrame {
    match message {
        Message::Text(text) => ClientFrame::Text(text.as_str().to_owned()),
        Message::Binary(bytes) => ClientFrame::Binary(bytes.to_vec()),
        Message::Ping(payload) => ClientFrame::Ping(payload.to_vec()),
        Message::Pong(payload) => ClientFrame::Pong(payload.to_vec()),
        Message::Close(_) => ClientFrame::Close,
        Message::Frame(frame) => ClientFrame::Binary(frame.into_payload().to_vec()),
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

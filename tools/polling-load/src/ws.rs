//! The watchers: WebSocket clients on a poll's live results, as a browser
//! holds them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use super::client::{results_shown, Shown};
use super::screen::Screen;
use super::stats::{Errors, Feed};

/// Watches `url` with an `Origin` of `origin` until `stop` turns true,
/// recording every version it receives in `feed`, and reconnecting after a
/// close or an error (each counted). Sends on `ready` after its first
/// message. Returns the errors.
pub(crate) async fn watch(
    url: String,
    origin: String,
    feed: Arc<Feed>,
    ready: mpsc::Sender<()>,
    stop: watch::Receiver<bool>,
) -> Errors {
    watch_with(
        url,
        origin,
        move |shown, at| feed.hold(shown.version, at),
        ready,
        stop,
    )
    .await
}

/// [`watch()`], keeping on `screen` the last results the socket showed.
pub(crate) async fn watch_screen(
    url: String,
    origin: String,
    screen: Arc<Screen>,
    ready: mpsc::Sender<()>,
    stop: watch::Receiver<bool>,
) -> Errors {
    watch_with(url, origin, move |shown, _| screen.show(shown), ready, stop).await
}

/// [`watch()`], handing every results message to `show` with the instant it
/// arrived.
async fn watch_with(
    url: String,
    origin: String,
    show: impl Fn(Shown, Instant),
    ready: mpsc::Sender<()>,
    mut stop: watch::Receiver<bool>,
) -> Errors {
    let mut errors = Errors::default();
    let mut ready = Some(ready);
    while !*stop.borrow() {
        let request = match url.as_str().into_client_request() {
            Ok(mut request) => {
                if let Ok(origin) = HeaderValue::from_str(&origin) {
                    request.headers_mut().insert("Origin", origin);
                }
                request
            }
            Err(e) => {
                errors.add(format!("ws request: {e}"));
                return errors;
            }
        };
        let connected = tokio::select! {
            connected = tokio_tungstenite::connect_async(request) => connected,
            _ = stop.changed() => break,
        };
        let mut socket = match connected {
            Ok((socket, _)) => socket,
            Err(e) => {
                errors.add(format!("ws connect: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        loop {
            let message = tokio::select! {
                message = socket.next() => message,
                _ = stop.changed() => {
                    let _ = socket.close(None).await;
                    return errors;
                }
            };
            let at = Instant::now();
            match message {
                Some(Ok(Message::Text(text))) => {
                    if let Some(shown) = results_shown(text.as_bytes()) {
                        show(shown, at);
                        if let Some(ready) = ready.take() {
                            let _ = ready.send(()).await;
                        }
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let code =
                        frame.map_or_else(|| "none".into(), |f| u16::from(f.code).to_string());
                    errors.add(format!("ws closed ({code})"));
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    errors.add(format!("ws error: {e}"));
                    break;
                }
                None => {
                    errors.add("ws ended");
                    break;
                }
            }
        }
    }
    errors
}

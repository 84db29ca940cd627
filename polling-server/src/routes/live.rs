//! Live results over WebSocket: `GET /api/polls/{id}/live`.
//!
//! Refusals come before the upgrade, as JSON errors: 426 without a
//! WebSocket handshake, 403 for a foreign `Origin`, 404 for an unknown poll,
//! 503 when the store is down or the socket cap is reached. The socket itself
//! is [`polling_realtime::serve_socket`]: a `snapshot`, then coalesced
//! `results`.

use futures_util::{future, SinkExt, StreamExt};
use polling_core::PollId;
use polling_realtime::{serve_socket, Admission, ClientFrame, ServerFrame, SocketConfig};
use warp::filters::ws::{Message, WebSocket, Ws};
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::{parse_poll_id, with_app};
use crate::app::App;
use crate::error::ApiError;

pub(super) fn routes(app: &App) -> BoxedFilter<(Response,)> {
    let handshake = warp::ws().map(Some).or(warp::any().map(|| None)).unify();
    warp::path!("api" / "polls" / String / "live")
        .and(warp::get())
        .and(with_app(app))
        .and(warp::header::optional::<String>("origin"))
        .and(warp::header::optional::<String>("host"))
        .and(handshake)
        .and_then(live)
        .boxed()
}

async fn live(
    raw_id: String,
    app: App,
    origin: Option<String>,
    host: Option<String>,
    handshake: Option<Ws>,
) -> Result<Response, Rejection> {
    let poll_id = parse_poll_id(&raw_id)?;
    let Some(handshake) = handshake else {
        return Err(ApiError::UpgradeRequired.into());
    };
    if !app
        .allowed_origins
        .permits(origin.as_deref(), host.as_deref())
    {
        tracing::info!(?origin, poll_id = %poll_id, "live socket refused: foreign origin");
        return Err(ApiError::ForeignOrigin.into());
    }
    app.store.get(poll_id).await.map_err(ApiError::from)?;
    let admission = app.hub.try_admit().map_err(|_| ApiError::TooManySockets)?;
    // The library's own limit (64 MiB by default) comes down near ours, so a
    // client cannot make the server buffer a large message; it stays a little
    // above, so a message just over ours gets a clean 1009 close from the hub.
    let limit = app
        .socket_config
        .max_incoming_message_bytes
        .saturating_mul(4);
    let config = app.socket_config.clone();
    Ok(handshake
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| serve(admission, poll_id, socket, config))
        .into_response())
}

/// Runs one socket, mapping warp's messages to the hub's frames.
async fn serve(admission: Admission, poll_id: PollId, socket: WebSocket, config: SocketConfig) {
    let (sink, stream) = socket.split();
    let sink = sink.with(|frame| future::ready(Ok::<_, warp::Error>(to_message(frame))));
    let stream = stream.map(|message| message.map(to_frame));
    let end = serve_socket(admission, poll_id, sink, stream, &config).await;
    tracing::debug!(poll_id = %poll_id, ?end, "live socket ended");
}

fn to_message(frame: ServerFrame) -> Message {
    match frame {
        ServerFrame::Text(text) => Message::text(text),
        ServerFrame::Ping(payload) => Message::ping(payload),
        ServerFrame::Close { code, reason } => Message::close_with(code, reason),
    }
}

fn to_frame(message: Message) -> ClientFrame {
    if message.is_close() {
        ClientFrame::Close
    } else if message.is_ping() {
        ClientFrame::Ping(message.into_bytes().to_vec())
    } else if message.is_pong() {
        ClientFrame::Pong(message.into_bytes().to_vec())
    } else if message.is_text() {
        ClientFrame::Text(message.to_str().unwrap_or_default().to_owned())
    } else {
        ClientFrame::Binary(message.into_bytes().to_vec())
    }
}

//! Live results over WebSocket: `GET /api/polls/{id}/live`.
//!
//! Refusals come before the upgrade, as JSON errors: 426 without a
//! WebSocket handshake, 403 for a foreign `Origin`, 404 for an unknown poll,
//! 503 when the store is down, or `too_many_sockets` when the socket cap or
//! the client's share of it (`--max-sockets-per-client`, counted by the
//! client address behind trusted proxies, an IPv6 client by its /64) is
//! reached. The socket itself
//! is [`polling_realtime::serve_gated_duplex`]: a `snapshot`, then coalesced
//! `results`; or, when the poll's visibility hides the counts from the voter
//! of the handshake's cookie, `hidden` until they may be shown (see
//! [`VoterGate`]).

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use polling_core::PollId;
use polling_realtime::{serve_gated_duplex, Admission, AdmitError, SocketConfig, VoterGate};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use warp::filters::BoxedFilter;
use warp::http::HeaderMap;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::websocket::{handshake, Frames, Handshake, Upgrade};
use super::{parse_poll_id, with_app};
use crate::app::App;
use crate::error::ApiError;
use crate::extract::{voter, Voter};
use crate::http::client_addr::{client_key, PeerAddr};
use crate::http::route;

pub(super) fn routes(app: &App) -> BoxedFilter<(Response,)> {
    route::on_poll(&route::LIVE)
        .and(with_app(app))
        .and(warp::header::optional::<String>("origin"))
        .and(warp::header::optional::<String>("host"))
        .and(voter(app))
        .and(client(app))
        .and(handshake())
        .and_then(live)
        .boxed()
}

/// The client the per-client socket cap counts by: the peer, or behind a
/// trusted proxy the client it names, an IPv6 one by its /64. `None` for a
/// request made in memory (no peer), which only the hub's cap holds.
fn client(
    app: &App,
) -> impl Filter<Extract = (Option<IpAddr>,), Error = std::convert::Infallible> + Clone {
    let proxies = app.parts.limits.trusted_proxies.clone();
    warp::ext::optional::<PeerAddr>()
        .and(warp::header::headers_cloned())
        .map(move |peer: Option<PeerAddr>, headers: HeaderMap| {
            peer.map(|peer| client_key(proxies.client_ip(peer.0.ip(), &headers)))
        })
}

async fn live(
    raw_id: String,
    app: App,
    origin: Option<String>,
    host: Option<String>,
    voter: Voter,
    client: Option<IpAddr>,
    handshake: Option<Handshake>,
) -> Result<Response, Rejection> {
    let poll_id = parse_poll_id(&raw_id)?;
    let Some(handshake) = handshake else {
        return Err(ApiError::UpgradeRequired.into());
    };
    if !app
        .parts
        .allowed_origins
        .permits(origin.as_deref(), host.as_deref())
    {
        tracing::info!(?origin, poll_id = %poll_id, "live socket refused: foreign origin");
        return Err(ApiError::ForeignOrigin.into());
    }
    let poll = app.parts.store.get(poll_id).await.map_err(ApiError::from)?;
    app.parts.visibilities.remember(&poll);
    let admitted = match client {
        Some(client) => app.parts.hub.try_admit_from(client),
        None => app.parts.hub.try_admit(),
    };
    let admission = admitted.map_err(|error| {
        if error == AdmitError::ClientFull {
            tracing::info!(poll_id = %poll_id, ?client, "live socket refused: the client holds its share of sockets");
        }
        ApiError::TooManySockets
    })?;
    let config = app.parts.socket_config.clone();
    let gate = VoterGate::new(
        app.parts.store.clone(),
        app.parts.visibilities.clone(),
        poll_id,
        voter.id,
    );
    let live = Live {
        admission,
        poll_id,
        gate,
        config,
    };
    let (response, upgrade) = handshake.accept();
    if let Some(upgrade) = upgrade {
        tokio::spawn(serve(live, upgrade));
    }
    Ok(response)
}

/// The WebSocket library's buffers and limits for one socket.
///
/// Clients send almost nothing, so the read buffer is small (the library's
/// default is 128 KiB per socket, allocated up front). Messages are written
/// as they come, not gathered. The library's message limit (64 MiB by
/// default) comes down near ours, so a client cannot make the server buffer
/// a large message; it stays a little above, so a message just over ours
/// gets a clean 1009 close from the hub.
fn socket_buffers(config: &SocketConfig) -> WebSocketConfig {
    let limit = config.max_incoming_message_bytes.saturating_mul(4);
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(WRITE_BUFFER_LIMIT)
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit))
}

/// Each socket's read buffer, in bytes: a client's pong or close frame
/// fits (a close's reason is at most 123 bytes); the library grows it for a
/// larger frame (up to the limits below) and reads it in as many chunks.
/// 1 KiB of it was a seventh of an idle socket's memory (fan-out bench:
/// 5.67 KiB per socket, 4.92 KiB with 256 B).
const READ_BUFFER: usize = 128;
/// The most bytes a socket's write buffer may hold when its peer does not
/// read: a few results messages; beyond that a send fails and the hub drops
/// the socket.
const WRITE_BUFFER_LIMIT: usize = 64 * 1024;

/// What one socket is served with, besides the socket itself.
struct Live {
    /// Its place in the hub.
    admission: Admission,
    /// The poll it watches.
    poll_id: PollId,
    /// Whether it may see the counts.
    gate: VoterGate,
    /// Its limits and timers, shared by every socket.
    config: Arc<SocketConfig>,
}

/// Runs one socket once its connection is switched, mapping the library's
/// messages to the hub's frames.
///
/// One future from the upgrade to the socket's end, each thing held once
/// and used in place: an `async fn` keeps room for each argument for its
/// whole life, even once moved out, and ten thousand idle sockets keep ten
/// thousand of these futures (see `--bench fanout`'s memory per socket).
// Not an `async fn`: that would copy `live` into a second place.
#[allow(clippy::manual_async_fn)]
fn serve(live: Live, upgrade: Upgrade) -> impl Future<Output = ()> + Send {
    async move {
        let Some(socket) = upgrade.socket(socket_buffers(&live.config)).await else {
            return;
        };
        let end = serve_gated_duplex(
            live.admission,
            live.poll_id,
            &live.gate,
            Frames(socket),
            &live.config,
        )
        .await;
        tracing::debug!(poll_id = %live.poll_id, ?end, "live socket ended");
    }
}

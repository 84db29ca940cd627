//! Live poll results over WebSocket: a per-process [`Hub`] between a
//! [`Broadcaster`](polling_core::Broadcaster) and any number of sockets.
//!
//! | piece | what |
//! |---|---|
//! | [`Hub`] | one per process; one upstream subscription per watched poll, shared by its sockets; admission caps (in all, per client); shutdown |
//! | [`serve_socket`] | the loop of one socket, generic over a `Sink` of [`ServerFrame`]s and a `Stream` of [`ClientFrame`]s |
//! | [`serve_gated_socket`], [`CountsGate`], [`VoterGate`] | the same for a poll whose visibility may hide its counts from the socket (a voter's socket: [`VoterGate`], deciding by [`polling_core::access`]) |
//! | [`serve_gated_duplex`] | the same for a socket that is one `Sink` and `Stream` (a WebSocket unsplit), kept in place: the least memory per socket |
//! | [`SnapshotSource`] | where a socket's first results come from (the cached results path) |
//! | [`protocol`] | the messages (`snapshot`, `results`, `hidden`; `recheck`, `manage`) and [close codes](protocol::close_code) |
//! | [`SocketConfig`], [`HubConfig`] | ping/pong timing (one clock per hub and cadence pings every socket: no timer per socket), incoming limits, the socket cap |
//! | [`HubStats`] | sockets, polls, messages sent, changes skipped by coalescing |
//!
//! # Metrics
//!
//! Besides [`HubStats`], the hub and its sockets record through the
//! [`metrics`] facade, under the names of
//! [`polling_core::metrics`]: the gauge
//! [`LIVE_SOCKETS`](polling_core::metrics::LIVE_SOCKETS) (up on
//! [`Hub::try_admit`], down when the [`Admission`] is dropped), the counters
//! [`LIVE_MESSAGES_SENT_TOTAL`](polling_core::metrics::LIVE_MESSAGES_SENT_TOTAL)
//! and [`LIVE_MESSAGES_SKIPPED_TOTAL`](polling_core::metrics::LIVE_MESSAGES_SKIPPED_TOTAL),
//! and [`LIVE_SOCKETS_CLOSED_TOTAL`](polling_core::metrics::LIVE_SOCKETS_CLOSED_TOTAL)
//! by [`SocketEnd::reason`].
//!
//! Each socket gets a `snapshot` first, then a `results` message per change.
//! Per poll the hub keeps only the newest results (by
//! [version](polling_core::Results::version)), and each socket sends the
//! newest when it is ready: a slow socket skips versions, never stalls the
//! others and never holds more than one pending message, and no socket ever
//! sends a version older than one it sent. When the broadcaster signals a
//! [`Resync`](polling_core::ResultsEvent::Resync), the hub reads fresh
//! results from the [`SnapshotSource`] and every socket sends a new
//! `snapshot`.
//!
//! A poll whose visibility hides its counts from some sockets is served with
//! [`serve_gated_socket`] and a [`CountsGate`] (for a voter's socket, [`VoterGate`]): such a
//! socket gets a `hidden` message instead, and its `snapshot` the moment the
//! gate opens (see [`protocol`]). A hidden socket asks its gate only when the
//! answer may have changed (the poll's closing time, a resync, its own
//! voter's [`Voted`](polling_core::ResultsEvent::Voted) event under
//! `after_vote`, the client's throttled `recheck`), never on someone else's
//! vote: ten thousand hidden sockets on a hot poll cost the store nothing per
//! vote.
//!
//! [`Hub::try_admit_from`] caps the sockets one client may hold
//! ([`HubConfig::max_sockets_per_client`]), so that one client cannot take
//! every place of [`HubConfig::max_sockets`].
//!
//! This crate knows no HTTP framework: the server maps its WebSocket messages
//! onto [`ClientFrame`] and [`ServerFrame`] (and caps the library's message
//! size, see [`SocketConfig`]).
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//!
//! use futures_util::{sink, stream, StreamExt};
//! use polling_core::memory::{LocalBroadcaster, MemoryStore};
//! use polling_core::{Broadcaster, ManageToken, NewPoll, Poll, PollDraft, PollStore, ResultsEvent};
//! use polling_realtime::{serve_socket, ClientFrame, Hub, ServerFrame, ServerMessage, SocketConfig};
//! use tokio::sync::mpsc;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> polling_core::Result<()> {
//! let store = MemoryStore::new();
//! let draft = PollDraft {
//!     question: "Lunch?".into(),
//!     options: vec!["Pizza".into(), "Salad".into()],
//!     ..PollDraft::default()
//! };
//! let now = polling_core::now();
//! let poll = Poll::open(NewPoll::new(draft, now)?, ManageToken::generate().hash(), now);
//! store.create(&poll).await?;
//!
//! let broadcaster = Arc::new(LocalBroadcaster::new());
//! let source = {
//!     let store = store.clone();
//!     move |id| {
//!         let store = store.clone();
//!         async move { store.results(id).await }
//!     }
//! };
//! let hub = Hub::new(broadcaster.clone(), source);
//!
//! // A socket, made of channels: the server adapts its WebSocket instead.
//! let (to_client, mut client_inbox) = mpsc::channel::<ServerFrame>(8);
//! let sink = sink::unfold(to_client, |tx, frame| async move {
//!     tx.send(frame).await.map(|()| tx)
//! });
//! let (client_outbox, from_client) = mpsc::channel::<ClientFrame>(8);
//! let incoming = stream::unfold(from_client, |mut rx| async move {
//!     rx.recv().await.map(|frame| (Ok::<_, std::convert::Infallible>(frame), rx))
//! });
//!
//! let admission = hub.try_admit().expect("below the socket cap");
//! let socket = tokio::spawn({
//!     let config = SocketConfig::default();
//!     async move { serve_socket(admission, poll.id, Box::pin(sink), incoming, &config).await }
//! });
//!
//! // First the snapshot...
//! let first = client_inbox.recv().await.and_then(|frame| frame.message());
//! assert!(matches!(first, Some(ServerMessage::Snapshot { ref results }) if results.version == 0));
//!
//! // ...then every change the socket has time for.
//! let ballot = polling_core::Ballot::new(
//!     poll.id,
//!     polling_core::VoterId::generate(),
//!     vec![polling_core::OptionId::new(0)],
//! )?;
//! let outcome = store.cast(&ballot).await?;
//! broadcaster.publish(&ResultsEvent::Updated { results: outcome.results }).await?;
//! let next = client_inbox.recv().await.and_then(|frame| frame.message());
//! assert!(matches!(next, Some(ServerMessage::Results { ref results }) if results.version == 1));
//!
//! client_outbox.send(ClientFrame::Close).await.unwrap();
//! socket.await.unwrap();
//! # Ok(())
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

// The README (the crate's page on crates.io) compiles and runs as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod clock;
mod config;
mod duplex;
mod gate;
mod hub;
mod poll_feed;
pub mod protocol;
mod snapshot;
mod socket;
mod stats;
mod voters;

pub use config::{HubConfig, SocketConfig};
pub use gate::{AlwaysVisible, CountsAccess, CountsGate, VoterGate};
pub use hub::{Admission, AdmitError, Hub};
pub use protocol::{close_code, ClientFrame, ClientMessage, ServerFrame, ServerMessage};
pub use snapshot::SnapshotSource;
pub use socket::{serve_gated_duplex, serve_gated_socket, serve_socket, SocketEnd};
pub use stats::HubStats;

//! [`serve_socket`]: the loop serving one live results socket.

use std::fmt;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use polling_core::metrics::{reason, LIVE_SOCKETS_CLOSED_TOTAL};
use polling_core::{PollError, PollId, Visibility};
use tokio::sync::watch;
use tokio::time::{self, Instant};

use crate::clock::Cadence;
use crate::config::SocketConfig;
use crate::duplex::Pair;
use crate::gate::{AlwaysVisible, CountsAccess, CountsGate};
use crate::hub::{Admission, Hub};
use crate::poll_feed::{Latest, PollFeed, Published};
use crate::protocol::{
    close_code, ClientFrame, ClientMessage, MessageKind, ServerFrame, ServerMessage,
};
use crate::voters::VoterWatch;

/// The longest a socket waits to send its close frame and close its sink.
const CLOSE_BUDGET: Duration = Duration::from_secs(1);

/// Why [`serve_socket`] returned; for logs and metrics.
#[derive(Debug)]
#[non_exhaustive]
pub enum SocketEnd {
    /// The client sent a close frame.
    ClientClosed,
    /// The client's stream ended or failed without a close frame.
    ClientGone,
    /// No frame came within the pong timeout after a ping: a dead peer. No
    /// close frame was sent.
    PongTimeout,
    /// A send did not complete within the send timeout: a stalled peer. No
    /// close frame was sent.
    Stalled,
    /// A send failed: the connection is gone.
    SendFailed,
    /// The hub shut down; closed with [`close_code::GOING_AWAY`].
    Shutdown,
    /// The client sent frames too fast; closed with
    /// [`close_code::POLICY_VIOLATION`].
    Flood,
    /// The client sent a frame too large; closed with
    /// [`close_code::MESSAGE_TOO_BIG`].
    TooBig,
    /// The poll does not exist (any more); closed with
    /// [`close_code::POLL_NOT_FOUND`].
    PollNotFound,
    /// The results could not be read; closed with
    /// [`close_code::INTERNAL_ERROR`].
    SnapshotFailed(PollError),
}

/// Serves one socket watching `poll`, until the client leaves, misbehaves,
/// dies or the hub shuts down; then closes `sink` and drops the admission.
///
/// `sink` and `stream` are the two halves of the WebSocket, mapped onto this
/// crate's [`ServerFrame`] and [`ClientFrame`]; in tests, channels. What is
/// sent:
///
/// 1. a `snapshot` with the current results (the newer of the
///    [`SnapshotSource`](crate::SnapshotSource)'s and the hub's), or a close
///    frame when they cannot be read (see [`close_code`]);
/// 2. a `results` message whenever newer results arrived and the socket is
///    ready to send: a socket busy sending skips to the newest (coalescing),
///    never sends a version older than one it sent, and never holds more
///    than one pending message;
/// 3. a fresh `snapshot` after the hub resynced the poll;
/// 4. a ping every [`ping_interval`](SocketConfig::ping_interval).
///
/// What the client sends is ignored, except that any frame proves it alive,
/// a close frame ends the loop, and too many or too large frames close the
/// socket with 1008 or 1009. See the [crate example](crate).
pub fn serve_socket<'a, Si, St, E>(
    admission: Admission,
    poll: PollId,
    sink: Si,
    stream: St,
    config: &'a SocketConfig,
) -> impl Future<Output = SocketEnd> + use<'a, Si, St, E>
where
    Si: Sink<ServerFrame>,
    Si::Error: fmt::Display,
    St: Stream<Item = Result<ClientFrame, E>>,
    E: fmt::Display,
{
    serve_gated_socket(admission, poll, &AlwaysVisible, sink, stream, config)
}

/// [`serve_socket`] for a poll whose visibility may hide its counts from this
/// socket: `gate` says whether it may see them.
///
/// A socket that may not gets `{"type":"hidden",…}` instead of the first
/// `snapshot`, then nothing about the counts until it may: then a
/// `snapshot`, and `results` as usual. While hidden it asks `gate` again
/// only when the answer may have changed (see [`CountsGate`] for when, and
/// the throttle): never because someone else voted, so a hot hidden poll
/// costs the gate's store nothing per vote. Once visible, it never asks
/// again. See [`protocol`](crate::protocol).
///
/// If the gate fails on the first ask, the socket closes with
/// [`close_code::INTERNAL_ERROR`], as when the results cannot be read; later
/// failures keep the counts hidden until the next ask.
pub fn serve_gated_socket<'a, G, Si, St, E>(
    admission: Admission,
    poll: PollId,
    gate: &'a G,
    sink: Si,
    stream: St,
    config: &'a SocketConfig,
) -> impl Future<Output = SocketEnd> + use<'a, G, Si, St, E>
where
    G: CountsGate + ?Sized,
    Si: Sink<ServerFrame>,
    Si::Error: fmt::Display,
    St: Stream<Item = Result<ClientFrame, E>>,
    E: fmt::Display,
{
    serve_gated_duplex(admission, poll, gate, Pair::new(sink, stream), config)
}

/// [`serve_gated_socket`] for a socket that is one object, both the
/// [`Sink`] of [`ServerFrame`]s and the [`Stream`] of [`ClientFrame`]s, as a
/// WebSocket is before it is split: it is kept in place, in the returned
/// future, where the halves of a split socket each need a place of their
/// own. Ten thousand idle sockets are mostly ten thousand of these futures.
pub fn serve_gated_duplex<'a, G, Io, E>(
    admission: Admission,
    poll: PollId,
    gate: &'a G,
    io: Io,
    config: &'a SocketConfig,
) -> impl Future<Output = SocketEnd> + use<'a, G, Io, E>
where
    G: CountsGate + ?Sized,
    Io: Sink<ServerFrame> + Stream<Item = Result<ClientFrame, E>> + Unpin,
    <Io as Sink<ServerFrame>>::Error: fmt::Display,
    E: fmt::Display,
{
    // Made before the future, which then holds each part once, in place.
    let mut socket = Socket {
        hub: admission.hub().clone(),
        poll,
        io,
        config,
        last_version: 0,
        seq: 0,
        generation: 0,
        sink_stuck: false,
        gate: GateState {
            gate,
            hidden: None,
            last_ask: None,
            ask_at: None,
            token: None,
            access_due: false,
            reveal_at: None,
        },
    };
    async move {
        let end = socket.run().await;
        if !socket.sink_stuck {
            // Best effort, briefly: the peer may be gone already.
            let budget = socket.config.send_timeout.min(CLOSE_BUDGET);
            let _ = time::timeout(budget, async {
                if let Some((code, reason)) = end.close_frame() {
                    socket.io.send(ServerFrame::close(code, reason)).await?;
                }
                SinkExt::<ServerFrame>::close(&mut socket.io).await
            })
            .await;
        }
        tracing::debug!(poll = %socket.poll, ?end, "live socket ended");
        metrics::counter!(LIVE_SOCKETS_CLOSED_TOTAL, reason::LABEL => end.reason()).increment(1);
        drop(admission);
        end
    }
}

impl SocketEnd {
    /// This end in snake_case (`client_closed`, `pong_timeout`, ...): the
    /// `reason` label of
    /// [`LIVE_SOCKETS_CLOSED_TOTAL`](polling_core::metrics::LIVE_SOCKETS_CLOSED_TOTAL),
    /// one of [`polling_core::metrics::reason`].
    pub fn reason(&self) -> &'static str {
        match self {
            Self::ClientClosed => reason::CLIENT_CLOSED,
            Self::ClientGone => reason::CLIENT_GONE,
            Self::PongTimeout => reason::PONG_TIMEOUT,
            Self::Stalled => reason::STALLED,
            Self::SendFailed => reason::SEND_FAILED,
            Self::Shutdown => reason::SHUTDOWN,
            Self::Flood => reason::FLOOD,
            Self::TooBig => reason::TOO_BIG,
            Self::PollNotFound => reason::POLL_NOT_FOUND,
            Self::SnapshotFailed(_) => reason::SNAPSHOT_FAILED,
        }
    }

    /// The close frame to send for this end, if any.
    fn close_frame(&self) -> Option<(u16, &'static str)> {
        match self {
            Self::Shutdown => Some((close_code::GOING_AWAY, "going away")),
            Self::Flood => Some((close_code::POLICY_VIOLATION, "too many messages")),
            Self::TooBig => Some((close_code::MESSAGE_TOO_BIG, "message too big")),
            Self::PollNotFound => Some((close_code::POLL_NOT_FOUND, "poll not found")),
            Self::SnapshotFailed(_) => Some((close_code::INTERNAL_ERROR, "results unavailable")),
            Self::ClientClosed
            | Self::ClientGone
            | Self::PongTimeout
            | Self::Stalled
            | Self::SendFailed => None,
        }
    }
}

/// The state of one socket.
struct Socket<'a, Io, G: ?Sized> {
    /// The hub serving it.
    hub: Hub,
    /// The poll watched.
    poll: PollId,
    /// Frames to and from the client.
    io: Io,
    /// The limits and timers.
    config: &'a SocketConfig,
    /// The version of the last results sent: nothing older is ever sent.
    last_version: u64,
    /// The feed's [`Latest::seq`] last seen, to count skipped changes.
    seq: u64,
    /// The feed's [`Latest::generation`] of the last snapshot sent.
    generation: u64,
    /// A send failed or was abandoned: the sink is not used again.
    sink_stuck: bool,
    /// Whether the socket may see the counts, and when to ask again.
    gate: GateState<'a, G>,
}

/// What a socket knows of its [`CountsGate`]: when it last asked, what it was told, what it must ask next.
struct GateState<'a, G: ?Sized> {
    /// Says whether the socket may see the counts.
    gate: &'a G,
    /// `Some(rule)` while the counts are hidden from the socket.
    hidden: Option<Visibility>,
    /// When the gate was last asked.
    last_ask: Option<Instant>,
    /// When to ask again, prompted by an event or a client message
    /// (throttled).
    ask_at: Option<Instant>,
    /// The last manage token the client presented and the gate has not
    /// checked yet: checked at `ask_at`.
    token: Option<String>,
    /// Whether the gate's [`access`](CountsGate::access) is to be asked at
    /// `ask_at` (else only the token is checked).
    access_due: bool,
    /// When the counts are due to show by themselves.
    reveal_at: Option<Instant>,
}

/// Past `reveal_in`, the margin before asking again, so that the poll is
/// closed by every clock's reckoning.
const REVEAL_MARGIN: Duration = Duration::from_millis(50);

impl<G: CountsGate + ?Sized> GateState<'_, G> {
    /// Asks the gate; whether the socket may see the counts now. An error
    /// keeps them hidden.
    async fn ask(&mut self, poll: PollId) -> Result<bool, PollError> {
        self.last_ask = Some(Instant::now());
        self.ask_at = None;
        self.access_due = false;
        match self.gate.access().await? {
            CountsAccess::Hidden {
                visibility,
                reveal_in,
            } => {
                self.hidden = Some(visibility);
                self.reveal_at = reveal_in
                    .filter(|d| !d.is_zero())
                    .map(|d| Instant::now() + d + REVEAL_MARGIN);
                Ok(false)
            }
            _ => {
                tracing::debug!(%poll, "live socket may see the counts");
                self.hidden = None;
                self.reveal_at = None;
                Ok(true)
            }
        }
    }

    /// The earlier of [`ask_at`](Self::ask_at) and
    /// [`reveal_at`](Self::reveal_at): one timer serves both.
    fn next_timer(&self) -> Option<Instant> {
        match (self.ask_at, self.reveal_at) {
            (Some(ask), Some(reveal)) => Some(ask.min(reveal)),
            (ask, reveal) => ask.or(reveal),
        }
    }

    /// Whether a vote of the socket's voter may open the gate: hidden under
    /// a rule a vote lifts (`after_vote`, not `after_close`).
    fn opens_on_vote(&self) -> bool {
        self.hidden
            .is_some_and(|visibility| visibility.may_see(true, false))
            && self.gate.voter().is_some()
    }

    /// Asks the gate again later, no sooner than the recheck interval after
    /// the last ask.
    fn ask_soon(&mut self, interval: Duration) {
        self.access_due = true;
        self.check_soon(interval);
    }

    /// Acts at the next throttled moment (checks the token presented, and
    /// asks if [`ask_soon`](Self::ask_soon) wanted it), no sooner than the
    /// recheck interval after the last ask.
    fn check_soon(&mut self, interval: Duration) {
        let now = Instant::now();
        let next = self.last_ask.map_or(now, |last| last + interval).max(now);
        self.ask_at = Some(self.ask_at.map_or(next, |at| at.min(next)));
    }
}

impl<Io, E, G> Socket<'_, Io, G>
where
    G: CountsGate + ?Sized,
    Io: Sink<ServerFrame> + Stream<Item = Result<ClientFrame, E>> + Unpin,
    <Io as Sink<ServerFrame>>::Error: fmt::Display,
    E: fmt::Display,
{
    async fn run(&mut self) -> SocketEnd {
        if self.hub.is_shut_down() {
            return SocketEnd::Shutdown;
        }
        let feed = self.hub.join(self.poll);
        let mut latest = feed.watch();
        // Boxed: only the first messages need it, and it is the largest
        // part of the socket's state.
        let voter = match Box::pin(self.open(&feed, &mut latest)).await {
            Ok(voter) => voter,
            Err(end) => return end,
        };
        self.watch(&feed, &mut latest, voter).await
    }

    /// Sends the first message (a snapshot, or `hidden`); the voter's watch
    /// when a vote of theirs may open the gate.
    async fn open(
        &mut self,
        feed: &PollFeed,
        latest: &mut watch::Receiver<Latest>,
    ) -> Result<Option<VoterWatch>, SocketEnd> {
        // Read the snapshot only once upstream events flow, so none is missed.
        let (hub, poll) = (self.hub.clone(), self.poll);
        let mut shutdown = self.hub.shutdown_signal();
        let snapshot = tokio::select! {
            _ = shutdown.wait_for(|down| *down) => return Err(SocketEnd::Shutdown),
            snapshot = async {
                feed.ready().await;
                hub.source().snapshot(poll).await
            } => snapshot,
        };
        match snapshot {
            Ok(results) => feed.offer(results),
            Err(PollError::NotFound) => return Err(SocketEnd::PollNotFound),
            Err(error) => {
                tracing::warn!(poll = %self.poll, %error, "cannot read results for a live socket");
                return Err(SocketEnd::SnapshotFailed(error));
            }
        }
        // Hear who votes before the first ask, so that the voter's vote cannot
        // fall between the ask and the subscription.
        let mut voter = self.gate.gate.voter().map(|tag| feed.hear(tag));
        // The feed now holds the snapshot or newer results.
        let first = latest.borrow_and_update().clone();
        match self.gate.ask(self.poll).await {
            Ok(true) => {
                self.deliver(&first, true).await?;
            }
            Ok(false) => {
                if first.gone {
                    return Err(SocketEnd::PollNotFound);
                }
                self.seq = first.seq;
                self.generation = first.generation;
                self.send_hidden().await?;
            }
            Err(PollError::NotFound) => return Err(SocketEnd::PollNotFound),
            Err(error) => {
                tracing::warn!(poll = %self.poll, %error, "cannot tell whether a live socket may see the counts");
                return Err(SocketEnd::SnapshotFailed(error));
            }
        }

        if !self.gate.opens_on_vote() {
            // Visible, or under a rule no vote lifts: nothing to wait on.
            voter = None;
        }
        Ok(voter)
    }

    /// Serves the socket once its first message is sent, until it ends.
    async fn watch(
        &mut self,
        feed: &PollFeed,
        latest: &mut watch::Receiver<Latest>,
        mut voter: Option<VoterWatch>,
    ) -> SocketEnd {
        // One clock per cadence pings every socket of the hub: no timer of
        // its own per socket.
        let mut beats = self.hub.beats(Cadence {
            ping_interval: self.config.ping_interval,
            pong_timeout: self.config.pong_timeout,
        });
        // A shutdown before this subscription is in the beat already, and
        // marked seen: `changed` would not tell it.
        let beat = *beats.borrow_and_update();
        if beat.shutdown {
            return SocketEnd::Shutdown;
        }
        let mut pinged = beat.pings;
        // The ping whose answer is awaited: any frame is one.
        let mut unanswered: Option<u64> = None;
        let mut window = RateWindow::new(Instant::now());

        loop {
            // Unbiased: a stream of results must not starve the client's
            // frames (its pongs) or the pings.
            tokio::select! {
                changed = latest.changed() => {
                    if changed.is_err() {
                        // The feed is alive while we hold it; be safe anyway.
                        return SocketEnd::ClientGone;
                    }
                    let state = latest.borrow_and_update().clone();
                    if self.gate.hidden.is_some() && !state.gone {
                        // Someone's vote tells this socket nothing: its own
                        // comes as a `Voted` event. A resync (a close, or
                        // events missed, the voter's own perhaps) may.
                        self.seq = state.seq;
                        if state.generation != self.generation {
                            self.generation = state.generation;
                            self.gate.ask_soon(self.config.recheck_interval);
                        }
                    } else if let Err(end) = self.deliver(&state, false).await {
                        return end;
                    }
                }
                () = voted(&mut voter), if voter.is_some() => {
                    if self.gate.opens_on_vote() {
                        // This socket's voter voted, on any replica.
                        self.gate.ask_soon(self.config.recheck_interval);
                    } else {
                        // Visible, or under a rule no vote lifts.
                        voter = None;
                    }
                }
                () = sleep_until(self.gate.next_timer()), if self.gate.next_timer().is_some() => {
                    let now = Instant::now();
                    let outcome = if self.gate.ask_at.is_some_and(|at| at <= now) {
                        // Boxed, as below: rare, and larger than an idle
                        // socket's state.
                        Box::pin(self.recheck(feed, latest)).await
                    } else if self.gate.reveal_at.is_some_and(|at| at <= now) {
                        self.gate.reveal_at = None;
                        Box::pin(self.ask_and_reveal(feed, latest)).await
                    } else {
                        Ok(())
                    };
                    if let Err(end) = outcome {
                        return end;
                    }
                }
                frame = self.io.next() => {
                    let frame = match frame {
                        None => return SocketEnd::ClientGone,
                        Some(Err(error)) => {
                            tracing::debug!(poll = %self.poll, %error, "live socket read failed");
                            return SocketEnd::ClientGone;
                        }
                        Some(Ok(frame)) => frame,
                    };
                    // Any frame proves the peer alive.
                    unanswered = None;
                    if frame == ClientFrame::Close {
                        return SocketEnd::ClientClosed;
                    }
                    if frame.len() > self.config.max_incoming_message_bytes {
                        return SocketEnd::TooBig;
                    }
                    if !window.admit(Instant::now(), self.config.max_incoming_per_sec) {
                        return SocketEnd::Flood;
                    }
                    self.answer(&frame);
                }
                changed = beats.changed() => {
                    if changed.is_err() {
                        // The hub keeps its clocks while we hold it; be safe.
                        return SocketEnd::Shutdown;
                    }
                    let beat = *beats.borrow_and_update();
                    if beat.shutdown {
                        return SocketEnd::Shutdown;
                    }
                    if unanswered.is_some_and(|ping| beat.deadlines >= ping) {
                        return SocketEnd::PongTimeout;
                    }
                    if beat.pings > pinged {
                        pinged = beat.pings;
                        if let Err(end) = self.send(ServerFrame::Ping(Vec::new())).await {
                            return end;
                        }
                        unanswered.get_or_insert(beat.pings);
                    }
                }
            }
        }
    }

    /// Acts on a client's `recheck` or `manage` message while the counts are
    /// hidden, through the throttle: a flood is answered once per
    /// [`recheck_interval`](SocketConfig::recheck_interval) (for the last
    /// token presented); ignores anything else.
    fn answer(&mut self, frame: &ClientFrame) {
        let ClientFrame::Text(text) = frame else {
            return;
        };
        if self.gate.hidden.is_none() {
            return;
        }
        match ClientMessage::parse(text) {
            Some(ClientMessage::Recheck) => self.gate.ask_soon(self.config.recheck_interval),
            Some(ClientMessage::Manage { token }) => {
                self.gate.token = Some(token);
                self.gate.check_soon(self.config.recheck_interval);
            }
            _ => {}
        }
    }

    /// Checks the manage token presented since the last ask, if any, else
    /// asks the gate; sends a snapshot if the counts may be shown now.
    async fn recheck(
        &mut self,
        feed: &PollFeed,
        latest: &mut watch::Receiver<Latest>,
    ) -> Result<(), SocketEnd> {
        let Some(token) = self.gate.token.take() else {
            return self.ask_and_reveal(feed, latest).await;
        };
        self.gate.last_ask = Some(Instant::now());
        self.gate.ask_at = None;
        match self.gate.gate.manages(&token).await {
            Ok(true) => {
                self.gate.hidden = None;
                self.gate.access_due = false;
                self.gate.reveal_at = None;
                return self.reveal(feed, latest).await;
            }
            Ok(false) => {
                tracing::debug!(poll = %self.poll, "live socket presented a wrong manage token");
            }
            Err(error) => {
                tracing::warn!(poll = %self.poll, %error, "cannot check a live socket's manage token");
            }
        }
        if self.gate.access_due {
            // The ask that was due too, at the next throttled moment.
            self.gate.check_soon(self.config.recheck_interval);
        }
        Ok(())
    }

    /// Asks the gate again; sends a snapshot if the counts may be shown now.
    async fn ask_and_reveal(
        &mut self,
        feed: &PollFeed,
        latest: &mut watch::Receiver<Latest>,
    ) -> Result<(), SocketEnd> {
        match self.gate.ask(self.poll).await {
            Ok(true) => self.reveal(feed, latest).await,
            Ok(false) => Ok(()),
            Err(PollError::NotFound) => Err(SocketEnd::PollNotFound),
            Err(error) => {
                tracing::warn!(poll = %self.poll, %error, "cannot tell whether a live socket may see the counts");
                self.gate.ask_soon(self.config.recheck_interval);
                Ok(())
            }
        }
    }

    /// Sends the current results as a snapshot: the counts were hidden and
    /// may be shown now. They are read afresh first: the change that opened
    /// the gate (this socket's own vote) may not have reached the hub yet,
    /// and the first counts a voter sees should include their vote.
    async fn reveal(
        &mut self,
        feed: &PollFeed,
        latest: &mut watch::Receiver<Latest>,
    ) -> Result<(), SocketEnd> {
        match self.hub.source().snapshot(self.poll).await {
            Ok(results) => feed.offer(results),
            Err(PollError::NotFound) => return Err(SocketEnd::PollNotFound),
            Err(error) => {
                // What the hub holds will do; newer results follow as usual.
                tracing::warn!(poll = %self.poll, %error, "cannot read fresh results for a live socket");
            }
        }
        let state = latest.borrow_and_update().clone();
        self.deliver(&state, true).await
    }

    /// Tells the client that the counts are hidden, and by which rule.
    async fn send_hidden(&mut self) -> Result<(), SocketEnd> {
        let Some(visibility) = self.gate.hidden else {
            return Ok(());
        };
        self.send(ServerFrame::Text(
            ServerMessage::Hidden { visibility }.to_json(),
        ))
        .await
    }

    /// Sends what `state` holds if the client needs it: a snapshot when
    /// `first` or after a resync, results when newer than the last sent.
    async fn deliver(&mut self, state: &Latest, first: bool) -> Result<(), SocketEnd> {
        if state.gone {
            return Err(SocketEnd::PollNotFound);
        }
        let Some(current) = state.current.as_ref() else {
            return Ok(());
        };
        let kind = if first || state.generation != self.generation {
            MessageKind::Snapshot
        } else if current.version() > self.last_version {
            MessageKind::Results
        } else {
            self.seq = state.seq;
            return Ok(());
        };
        if !first {
            // Changes between the last one seen and this one were never sent.
            let skipped = state.seq.saturating_sub(self.seq).saturating_sub(1);
            self.hub.counters().skipped(skipped);
        }
        self.seq = state.seq;
        self.generation = state.generation;
        self.last_version = self.last_version.max(current.version());
        self.send_results(kind, current).await
    }

    async fn send_results(
        &mut self,
        kind: MessageKind,
        current: &Arc<Published>,
    ) -> Result<(), SocketEnd> {
        self.send(ServerFrame::Text(kind.encode(&current.json)))
            .await?;
        self.hub.counters().sent();
        Ok(())
    }

    /// Sends `frame`, giving up after the send timeout or on shutdown.
    ///
    /// Most sends complete at once (the socket's buffer has room): those are
    /// tried first, without arming a timer, which matters when one vote
    /// sends to ten thousand sockets.
    async fn send(&mut self, frame: ServerFrame) -> Result<(), SocketEnd> {
        let poll = self.poll;
        let failed = |error: <Io as Sink<ServerFrame>>::Error| {
            tracing::debug!(poll = %poll, %error, "live socket send failed");
            SocketEnd::SendFailed
        };
        let mut sending = pin!(self.io.send(frame));
        let immediate = (&mut sending)
            .now_or_never()
            .map(|sent| sent.map_err(failed));
        let sent = match immediate {
            Some(sent) => sent,
            None => {
                let mut shutdown = self.hub.shutdown_signal();
                tokio::select! {
                    sent = &mut sending => sent.map_err(failed),
                    () = time::sleep(self.config.send_timeout) => Err(SocketEnd::Stalled),
                    _ = shutdown.wait_for(|down| *down) => Err(SocketEnd::Shutdown),
                }
            }
        };
        self.sink_stuck |= sent.is_err();
        sent
    }
}

/// Resolves when the socket's voter votes, or never without a watch.
async fn voted(voter: &mut Option<VoterWatch>) {
    match voter {
        Some(voter) => voter.voted().await,
        None => std::future::pending().await,
    }
}

/// Sleeps until `deadline`, or forever without one. Boxed: most sockets
/// never set one, and a timer inline would take room in every socket's
/// state (no allocation for the forever).
fn sleep_until(deadline: Option<Instant>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    match deadline {
        Some(deadline) => Box::pin(time::sleep_until(deadline)),
        None => Box::pin(std::future::pending()),
    }
}

/// Counts a client's frames per second.
#[derive(Debug)]
struct RateWindow {
    /// When the current one-second window began.
    start: Instant,
    /// Frames in the current window.
    count: u32,
}

impl RateWindow {
    fn new(now: Instant) -> Self {
        Self {
            start: now,
            count: 0,
        }
    }

    /// Counts one frame at `now`; whether it is within `max` per second.
    fn admit(&mut self, now: Instant, max: u32) -> bool {
        if now.duration_since(self.start) >= std::time::Duration::from_secs(1) {
            self.start = now;
            self.count = 0;
        }
        self.count = self.count.saturating_add(1);
        self.count <= max
    }
}

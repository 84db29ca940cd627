//! [`serve_socket`]: the loop serving one live results socket.

use std::fmt;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use polling_core::metrics::{reason, LIVE_SOCKETS_CLOSED_TOTAL};
use polling_core::{PollError, PollId, Visibility};
use tokio::sync::watch;
use tokio::time::{self, Instant};

use crate::config::SocketConfig;
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
pub async fn serve_socket<Si, St, E>(
    admission: Admission,
    poll: PollId,
    sink: Si,
    stream: St,
    config: &SocketConfig,
) -> SocketEnd
where
    Si: Sink<ServerFrame>,
    Si::Error: fmt::Display,
    St: Stream<Item = Result<ClientFrame, E>>,
    E: fmt::Display,
{
    serve_gated_socket(admission, poll, &AlwaysVisible, sink, stream, config).await
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
pub async fn serve_gated_socket<G, Si, St, E>(
    admission: Admission,
    poll: PollId,
    gate: &G,
    sink: Si,
    stream: St,
    config: &SocketConfig,
) -> SocketEnd
where
    G: CountsGate + ?Sized,
    Si: Sink<ServerFrame>,
    Si::Error: fmt::Display,
    St: Stream<Item = Result<ClientFrame, E>>,
    E: fmt::Display,
{
    let mut socket = Socket {
        hub: admission.hub().clone(),
        poll,
        sink: pin!(sink),
        stream: pin!(stream),
        config,
        shutdown: admission.hub().shutdown_signal(),
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
    let end = socket.run().await;
    if !socket.sink_stuck {
        // Best effort, briefly: the peer may be gone already.
        let budget = config.send_timeout.min(CLOSE_BUDGET);
        let _ = time::timeout(budget, async {
            if let Some((code, reason)) = end.close_frame() {
                socket.sink.send(ServerFrame::close(code, reason)).await?;
            }
            socket.sink.as_mut().close().await
        })
        .await;
    }
    tracing::debug!(%poll, ?end, "live socket ended");
    metrics::counter!(LIVE_SOCKETS_CLOSED_TOTAL, reason::LABEL => end.reason()).increment(1);
    drop(admission);
    end
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
struct Socket<'a, Si, St, G: ?Sized> {
    /// The hub serving it.
    hub: Hub,
    /// The poll watched.
    poll: PollId,
    /// Frames to the client.
    sink: Pin<&'a mut Si>,
    /// Frames from the client.
    stream: Pin<&'a mut St>,
    /// The limits and timers.
    config: &'a SocketConfig,
    /// Becomes `true` when the hub shuts down.
    shutdown: watch::Receiver<bool>,
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

impl<Si, St, E, G> Socket<'_, Si, St, G>
where
    G: CountsGate + ?Sized,
    Si: Sink<ServerFrame>,
    Si::Error: fmt::Display,
    St: Stream<Item = Result<ClientFrame, E>>,
    E: fmt::Display,
{
    async fn run(&mut self) -> SocketEnd {
        if *self.shutdown.borrow_and_update() {
            return SocketEnd::Shutdown;
        }
        let feed = self.hub.join(self.poll);
        let mut latest = feed.watch();

        // Read the snapshot only once upstream events flow, so none is missed.
        let (hub, poll) = (self.hub.clone(), self.poll);
        let snapshot = tokio::select! {
            _ = self.shutdown.changed() => return SocketEnd::Shutdown,
            snapshot = async {
                feed.ready().await;
                hub.source().snapshot(poll).await
            } => snapshot,
        };
        match snapshot {
            Ok(results) => feed.offer(results),
            Err(PollError::NotFound) => return SocketEnd::PollNotFound,
            Err(error) => {
                tracing::warn!(poll = %self.poll, %error, "cannot read results for a live socket");
                return SocketEnd::SnapshotFailed(error);
            }
        }
        // Hear who votes before the first ask, so that the voter's vote cannot
        // fall between the ask and the subscription.
        let mut voter = self.gate.gate.voter().map(|tag| feed.hear(tag));
        // The feed now holds the snapshot or newer results.
        let first = latest.borrow_and_update().clone();
        match self.gate.ask(self.poll).await {
            Ok(true) => {
                if let Err(end) = self.deliver(&first, true).await {
                    return end;
                }
            }
            Ok(false) => {
                if first.gone {
                    return SocketEnd::PollNotFound;
                }
                self.seq = first.seq;
                self.generation = first.generation;
                if let Err(end) = self.send_hidden().await {
                    return end;
                }
            }
            Err(PollError::NotFound) => return SocketEnd::PollNotFound,
            Err(error) => {
                tracing::warn!(poll = %self.poll, %error, "cannot tell whether a live socket may see the counts");
                return SocketEnd::SnapshotFailed(error);
            }
        }

        if !self.gate.opens_on_vote() {
            // Visible, or under a rule no vote lifts: nothing to wait on.
            voter = None;
        }

        let mut ping = time::interval_at(
            Instant::now() + self.config.ping_interval,
            self.config.ping_interval,
        );
        ping.set_missed_tick_behavior(time::MissedTickBehavior::Delay);
        let mut pong_deadline: Option<Instant> = None;
        let mut window = RateWindow::new(Instant::now());

        loop {
            // Unbiased: a stream of results must not starve the client's
            // frames (its pongs) or the pings.
            tokio::select! {
                _ = self.shutdown.changed() => return SocketEnd::Shutdown,
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
                () = sleep_until(self.gate.ask_at), if self.gate.ask_at.is_some() => {
                    if let Err(end) = self.recheck(&feed, &mut latest).await {
                        return end;
                    }
                }
                () = sleep_until(self.gate.reveal_at), if self.gate.reveal_at.is_some() => {
                    self.gate.reveal_at = None;
                    if let Err(end) = self.ask_and_reveal(&feed, &mut latest).await {
                        return end;
                    }
                }
                frame = self.stream.next() => {
                    let frame = match frame {
                        None => return SocketEnd::ClientGone,
                        Some(Err(error)) => {
                            tracing::debug!(poll = %self.poll, %error, "live socket read failed");
                            return SocketEnd::ClientGone;
                        }
                        Some(Ok(frame)) => frame,
                    };
                    // Any frame proves the peer alive.
                    pong_deadline = None;
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
                _ = ping.tick() => {
                    if let Err(end) = self.send(ServerFrame::Ping(Vec::new())).await {
                        return end;
                    }
                    if pong_deadline.is_none() {
                        pong_deadline = Some(Instant::now() + self.config.pong_timeout);
                    }
                }
                () = sleep_until(pong_deadline), if pong_deadline.is_some() => {
                    return SocketEnd::PongTimeout;
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
        let failed = |error: Si::Error| {
            tracing::debug!(poll = %poll, %error, "live socket send failed");
            SocketEnd::SendFailed
        };
        let mut sending = pin!(self.sink.send(frame));
        let immediate = (&mut sending)
            .now_or_never()
            .map(|sent| sent.map_err(failed));
        let sent = match immediate {
            Some(sent) => sent,
            None => tokio::select! {
                sent = &mut sending => sent.map_err(failed),
                () = time::sleep(self.config.send_timeout) => Err(SocketEnd::Stalled),
                _ = self.shutdown.wait_for(|down| *down) => Err(SocketEnd::Shutdown),
            },
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

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => time::sleep_until(deadline).await,
        None => std::future::pending().await,
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

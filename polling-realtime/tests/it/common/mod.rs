//! Shared fixtures: a hub over a counting in-process broadcaster, a results
//! source the test controls, and sockets made of channels.

#![allow(dead_code, unreachable_pub)]

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{sink, stream, Sink, StreamExt};
use polling_core::memory::LocalBroadcaster;
use polling_core::testing::results_at;
use polling_core::{Broadcaster, EventStream, PollError, PollId, Results, ResultsEvent};
use polling_realtime::{
    serve_gated_socket, AlwaysVisible, ClientFrame, CountsGate, Hub, HubConfig, ServerFrame,
    ServerMessage, SocketConfig, SocketEnd,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A [`LocalBroadcaster`] that counts subscriptions made and alive.
#[derive(Clone, Debug, Default)]
pub struct CountingBroadcaster {
    inner: LocalBroadcaster,
    subscribes: Arc<AtomicUsize>,
    live: Arc<AtomicUsize>,
    failures: Arc<AtomicUsize>,
}

impl CountingBroadcaster {
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: LocalBroadcaster::with_capacity(capacity),
            ..Self::default()
        }
    }

    /// Makes the next `count` calls of `subscribe` fail.
    pub fn fail_next_subscribes(&self, count: usize) {
        self.failures.store(count, Ordering::SeqCst);
    }

    /// Calls of `subscribe` so far.
    pub fn subscribes(&self) -> usize {
        self.subscribes.load(Ordering::SeqCst)
    }

    /// Event streams not yet dropped.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }
}

/// Counts a stream alive until dropped.
struct Live(Arc<AtomicUsize>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Broadcaster for CountingBroadcaster {
    async fn publish(&self, event: &ResultsEvent) -> polling_core::Result<()> {
        self.inner.publish(event).await
    }

    async fn subscribe(&self, poll: PollId) -> polling_core::Result<EventStream> {
        self.subscribes.fetch_add(1, Ordering::SeqCst);
        let failing = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(PollError::unavailable("subscribe failed"));
        }
        let events = self.inner.subscribe(poll).await?;
        self.live.fetch_add(1, Ordering::SeqCst);
        let live = Live(Arc::clone(&self.live));
        Ok(events
            .map(move |event| {
                let _alive = &live;
                event
            })
            .boxed())
    }
}

/// What the results source answers.
#[derive(Clone, Debug)]
pub enum Stored {
    Present(Results),
    Missing,
    Down,
}

/// A hub over a [`CountingBroadcaster`] and a source the test sets.
pub struct Fixture {
    pub hub: Hub,
    pub broadcaster: CountingBroadcaster,
    pub stored: Arc<Mutex<Stored>>,
    pub poll: PollId,
}

impl Fixture {
    pub fn new() -> Self {
        Self::with_config(HubConfig::default())
    }

    pub fn with_config(config: HubConfig) -> Self {
        let broadcaster = CountingBroadcaster::new(1024);
        let poll = PollId::generate();
        let stored = Arc::new(Mutex::new(Stored::Present(results_at(poll, 0))));
        let source = {
            let stored = Arc::clone(&stored);
            move |_poll: PollId| {
                let stored = stored.lock().unwrap().clone();
                async move {
                    match stored {
                        Stored::Present(results) => Ok(results),
                        Stored::Missing => Err(PollError::NotFound),
                        Stored::Down => Err(PollError::unavailable("down")),
                    }
                }
            }
        };
        let hub = Hub::with_config(Arc::new(broadcaster.clone()), source, config);
        Self {
            hub,
            broadcaster,
            stored,
            poll,
        }
    }

    pub fn set_stored(&self, stored: Stored) {
        *self.stored.lock().unwrap() = stored;
    }

    /// Stores results at `version` and publishes them, as a vote would.
    pub async fn vote_to(&self, version: u64) {
        let results = results_at(self.poll, version);
        self.set_stored(Stored::Present(results.clone()));
        self.publish(version).await;
    }

    /// Publishes results at `version` without storing them.
    pub async fn publish(&self, version: u64) {
        let results = results_at(self.poll, version);
        self.broadcaster
            .publish(&ResultsEvent::Updated { results })
            .await
            .unwrap();
    }

    /// Publishes that `voter` voted, as the vote path does after its results.
    pub async fn voted(&self, voter: &polling_core::VoterTag) {
        self.broadcaster
            .publish(&ResultsEvent::Voted {
                poll_id: self.poll,
                voter: voter.clone(),
            })
            .await
            .unwrap();
    }

    pub async fn resync(&self) {
        self.broadcaster
            .publish(&ResultsEvent::Resync { poll_id: self.poll })
            .await
            .unwrap();
    }

    /// `count` sockets with room for 16 frames each, past their first
    /// snapshot (at version 0).
    pub async fn connect_many(&self, count: usize) -> Vec<Client> {
        let mut clients = Vec::new();
        for _ in 0..count {
            let mut client = self.connect(SocketConfig::default(), 16);
            assert_eq!(client.next().await, ("snapshot", 0));
            clients.push(client);
        }
        clients
    }

    /// A socket on the fixture's poll whose client side has room for
    /// `capacity` frames.
    pub fn connect(&self, config: SocketConfig, capacity: usize) -> Client {
        self.connect_gated(config, capacity, Arc::new(AlwaysVisible))
    }

    /// A socket on the fixture's poll whose counts `gate` may hide.
    pub fn connect_gated(
        &self,
        config: SocketConfig,
        capacity: usize,
        gate: Arc<dyn CountsGate>,
    ) -> Client {
        let (to_client, inbox) = mpsc::channel::<ServerFrame>(capacity);
        let sink = sink::unfold(to_client, |tx, frame| async move {
            tx.send(frame).await.map(|()| tx)
        });
        self.connect_with(config, Box::pin(sink), inbox, gate)
    }

    /// A socket whose sink never takes a frame.
    pub fn connect_stuck(&self, config: SocketConfig) -> Client {
        let (_, inbox) = mpsc::channel(1);
        self.connect_with(config, Stuck, inbox, Arc::new(AlwaysVisible))
    }

    fn connect_with<Si>(
        &self,
        config: SocketConfig,
        sink: Si,
        inbox: mpsc::Receiver<ServerFrame>,
        gate: Arc<dyn CountsGate>,
    ) -> Client
    where
        Si: Sink<ServerFrame> + Send + 'static,
        Si::Error: std::fmt::Display,
    {
        let (outbox, from_client) = mpsc::channel::<Result<ClientFrame, String>>(64);
        let incoming = stream::unfold(from_client, |mut rx| async move {
            rx.recv().await.map(|frame| (frame, rx))
        });
        let admission = self.hub.try_admit().expect("admitted");
        let poll = self.poll;
        let task = tokio::spawn(async move {
            serve_gated_socket(admission, poll, &*gate, sink, Box::pin(incoming), &config).await
        });
        Client {
            inbox,
            outbox,
            task,
        }
    }
}

/// A sink that is never ready.
pub struct Stuck;

impl Sink<ServerFrame> for Stuck {
    type Error = String;

    fn poll_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), String>> {
        Poll::Pending
    }

    fn start_send(self: Pin<&mut Self>, _item: ServerFrame) -> Result<(), String> {
        unreachable!("never ready")
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), String>> {
        Poll::Pending
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), String>> {
        Poll::Pending
    }
}

/// The client side of a socket.
pub struct Client {
    /// Frames the server sent.
    pub inbox: mpsc::Receiver<ServerFrame>,
    /// Frames for the server.
    pub outbox: mpsc::Sender<Result<ClientFrame, String>>,
    /// The socket's loop.
    pub task: JoinHandle<SocketEnd>,
}

impl Client {
    /// The next frame, within a generous bound (longer than the default
    /// ping interval, for tests with paused time).
    pub async fn frame(&mut self) -> Option<ServerFrame> {
        tokio::time::timeout(Duration::from_secs(60), self.inbox.recv())
            .await
            .expect("a frame within 60 s")
    }

    /// The next message, skipping pings.
    pub async fn message(&mut self) -> ServerMessage {
        loop {
            match self.frame().await {
                Some(ServerFrame::Ping(_)) => continue,
                Some(frame) => {
                    return frame
                        .message()
                        .unwrap_or_else(|| panic!("a message, got {frame:?}"))
                }
                None => panic!("the socket ended"),
            }
        }
    }

    /// The next message's kind and version.
    pub async fn next(&mut self) -> (&'static str, u64) {
        kind_and_version(&self.message().await)
    }

    /// The close code of the next non-ping frame.
    pub async fn close_code(&mut self) -> u16 {
        loop {
            match self.frame().await {
                Some(ServerFrame::Ping(_)) => continue,
                Some(ServerFrame::Close { code, .. }) => return code,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }

    pub async fn send(&self, frame: ClientFrame) {
        self.outbox.send(Ok(frame)).await.unwrap();
    }

    /// How the socket's loop ended.
    pub async fn end(self) -> SocketEnd {
        tokio::time::timeout(Duration::from_secs(60), self.task)
            .await
            .expect("the socket ends")
            .unwrap()
    }
}

pub fn kind_and_version(message: &ServerMessage) -> (&'static str, u64) {
    match message {
        ServerMessage::Snapshot { results } => ("snapshot", results.version),
        ServerMessage::Results { results } => ("results", results.version),
        other => panic!("expected counts, got {other:?}"),
    }
}

/// Waits (yielding, within a bound) until `condition` holds.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let wait = async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within 5 s"));
}

//! Sockets whose counts a [`CountsGate`] hides: a `hidden` message and no
//! counts until the gate opens, then a `snapshot`; what makes a socket ask
//! again (a results change, throttled; a resync; `recheck`; `manage`; the
//! reveal time).

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::{Client, Fixture};
use polling_core::{PollError, Visibility};
use polling_realtime::{
    close_code, ClientFrame, ClientMessage, CountsAccess, CountsGate, ServerFrame, ServerMessage,
    SocketConfig,
};
use tokio::time::Instant;

/// A gate the test opens, counting how often it is asked.
#[derive(Debug)]
struct TestGate {
    visibility: Visibility,
    open: AtomicBool,
    /// Opens by itself at this instant, and says so as `reveal_in`.
    opens_at: Mutex<Option<Instant>>,
    failing: AtomicBool,
    /// Answers `NotFound`: the poll was deleted.
    gone: AtomicBool,
    asks: AtomicUsize,
    token: &'static str,
}

impl TestGate {
    fn hidden(visibility: Visibility) -> Arc<Self> {
        Arc::new(Self {
            visibility,
            open: AtomicBool::new(false),
            opens_at: Mutex::new(None),
            failing: AtomicBool::new(false),
            gone: AtomicBool::new(false),
            asks: AtomicUsize::new(0),
            token: "the-token",
        })
    }

    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    fn asks(&self) -> usize {
        self.asks.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl CountsGate for TestGate {
    async fn access(&self) -> polling_core::Result<CountsAccess> {
        self.asks.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(PollError::unavailable("store down"));
        }
        if self.gone.load(Ordering::SeqCst) {
            return Err(PollError::NotFound);
        }
        let opens_at = *self.opens_at.lock().unwrap();
        let due = opens_at.is_some_and(|at| Instant::now() >= at);
        if self.open.load(Ordering::SeqCst) || due {
            return Ok(CountsAccess::Visible);
        }
        Ok(CountsAccess::Hidden {
            visibility: self.visibility,
            reveal_in: opens_at.map(|at| at - Instant::now()),
        })
    }

    async fn manages(&self, token: &str) -> polling_core::Result<bool> {
        Ok(token == self.token)
    }
}

fn hidden(visibility: Visibility) -> ServerMessage {
    ServerMessage::Hidden { visibility }
}

/// Asserts no frame but pings arrives within `wait`.
async fn assert_quiet(client: &mut Client, wait: Duration) {
    let deadline = Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, client.inbox.recv()).await {
            Err(_) => return,
            Ok(Some(ServerFrame::Ping(_))) => continue,
            Ok(other) => panic!("expected nothing, got {other:?}"),
        }
    }
}

fn text(message: &ClientMessage) -> ClientFrame {
    ClientFrame::Text(message.to_json())
}

#[tokio::test]
async fn a_hidden_socket_gets_no_counts_until_a_change_finds_the_gate_open() {
    let fixture = Fixture::new();
    let gate = TestGate::hidden(Visibility::AfterVote);
    let mut client = fixture.connect_gated(SocketConfig::default(), 16, gate.clone());
    assert_eq!(client.message().await, hidden(Visibility::AfterVote));

    fixture.vote_to(1).await;
    fixture.vote_to(2).await;
    assert_quiet(&mut client, Duration::from_millis(400)).await;

    // This socket's voter votes: the change makes it ask, and it may see.
    gate.open();
    fixture.vote_to(3).await;
    assert_eq!(client.next().await, ("snapshot", 3));
    fixture.vote_to(4).await;
    assert_eq!(client.next().await, ("results", 4));
    let asks = gate.asks();
    fixture.vote_to(5).await;
    assert_eq!(client.next().await, ("results", 5));
    assert_eq!(gate.asks(), asks, "once visible, the socket stops asking");
}

#[tokio::test]
async fn recheck_asks_at_once_and_shows_the_counts() {
    let fixture = Fixture::new();
    let gate = TestGate::hidden(Visibility::AfterVote);
    let config = SocketConfig::default().recheck_interval(Duration::from_secs(30));
    let mut client = fixture.connect_gated(config, 16, gate.clone());
    assert_eq!(client.message().await, hidden(Visibility::AfterVote));

    client.send(text(&ClientMessage::Recheck)).await;
    assert_quiet(&mut client, Duration::from_millis(200)).await;
    gate.open();
    client.send(text(&ClientMessage::Recheck)).await;
    assert_eq!(client.next().await, ("snapshot", 0));
}

#[tokio::test]
async fn the_revealing_snapshot_is_read_afresh_so_it_holds_the_vote_that_opened_the_gate() {
    let fixture = Fixture::new();
    let gate = TestGate::hidden(Visibility::AfterVote);
    let mut client = fixture.connect_gated(SocketConfig::default(), 16, gate.clone());
    assert_eq!(client.message().await, hidden(Visibility::AfterVote));

    // The vote is stored, its event not yet delivered to this hub.
    fixture.set_stored(common::Stored::Present(polling_core::testing::results_at(
        fixture.poll,
        1,
    )));
    gate.open();
    client.send(text(&ClientMessage::Recheck)).await;
    assert_eq!(client.next().await, ("snapshot", 1));
    fixture.publish(1).await;
    fixture.vote_to(2).await;
    assert_eq!(
        client.next().await,
        ("results", 2),
        "the late event is not sent again"
    );
}

#[tokio::test]
async fn the_right_manage_token_shows_the_counts_and_a_wrong_one_does_not() {
    let fixture = Fixture::new();
    let gate = TestGate::hidden(Visibility::AfterClose);
    let mut client = fixture.connect_gated(SocketConfig::default(), 16, gate.clone());
    assert_eq!(client.message().await, hidden(Visibility::AfterClose));

    let wrong = ClientMessage::Manage {
        token: "guess".into(),
    };
    client.send(text(&wrong)).await;
    assert_quiet(&mut client, Duration::from_millis(200)).await;
    let right = ClientMessage::Manage {
        token: "the-token".into(),
    };
    client.send(text(&right)).await;
    assert_eq!(client.next().await, ("snapshot", 0));
    fixture.vote_to(1).await;
    assert_eq!(
        client.next().await,
        ("results", 1),
        "the owner sees every change"
    );
}

#[tokio::test]
async fn rechecks_prompted_by_changes_are_throttled() {
    let fixture = Fixture::new();
    let gate = TestGate::hidden(Visibility::AfterVote);
    let config = SocketConfig::default().recheck_interval(Duration::from_millis(200));
    let mut client = fixture.connect_gated(config, 16, gate.clone());
    assert_eq!(client.message().await, hidden(Visibility::AfterVote));
    assert_eq!(gate.asks(), 1);

    let start = Instant::now();
    for version in 1..=50 {
        fixture.vote_to(version).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    let elapsed = start.elapsed().as_millis();
    let asks = gate.asks();
    let most = 2 + usize::try_from(elapsed / 200).unwrap();
    assert!(
        (2..=most).contains(&asks),
        "50 changes in {elapsed} ms: asked {asks} times, at most {most}"
    );
    assert_quiet(&mut client, Duration::from_millis(50)).await;
}

#[tokio::test]
async fn a_resync_such_as_a_close_makes_a_hidden_socket_ask_again() {
    let fixture = Fixture::new();
    let gate = TestGate::hidden(Visibility::AfterClose);
    let mut client = fixture.connect_gated(SocketConfig::default(), 16, gate.clone());
    assert_eq!(client.message().await, hidden(Visibility::AfterClose));
    gate.open();
    fixture.resync().await;
    assert_eq!(client.next().await, ("snapshot", 0));
}

#[tokio::test]
async fn a_socket_asks_again_when_the_counts_are_due() {
    let fixture = Fixture::new();
    let gate = TestGate::hidden(Visibility::AfterClose);
    *gate.opens_at.lock().unwrap() = Some(Instant::now() + Duration::from_millis(300));
    let mut client = fixture.connect_gated(SocketConfig::default(), 16, gate.clone());
    assert_eq!(client.message().await, hidden(Visibility::AfterClose));
    assert_eq!(client.next().await, ("snapshot", 0), "no change needed");
    assert_eq!(gate.asks(), 2);
}

#[tokio::test]
async fn a_gate_failing_at_first_closes_with_1011_and_later_keeps_counts_hidden() {
    let fixture = Fixture::new();
    let gate = TestGate::hidden(Visibility::AfterVote);
    gate.failing.store(true, Ordering::SeqCst);
    let mut client = fixture.connect_gated(SocketConfig::default(), 16, gate.clone());
    assert_eq!(client.close_code().await, close_code::INTERNAL_ERROR);

    let gate = TestGate::hidden(Visibility::AfterVote);
    let config = SocketConfig::default().recheck_interval(Duration::from_millis(50));
    let mut client = fixture.connect_gated(config, 16, gate.clone());
    assert_eq!(client.message().await, hidden(Visibility::AfterVote));
    gate.failing.store(true, Ordering::SeqCst);
    gate.open();
    fixture.vote_to(1).await;
    assert_quiet(&mut client, Duration::from_millis(200)).await;
    gate.failing.store(false, Ordering::SeqCst);
    assert_eq!(
        client.next().await,
        ("snapshot", 1),
        "asked again after the failure"
    );
}

#[tokio::test]
async fn a_gate_finding_the_poll_gone_closes_with_4404() {
    let fixture = Fixture::new();
    let gate = TestGate::hidden(Visibility::AfterVote);
    let mut client = fixture.connect_gated(SocketConfig::default(), 16, gate.clone());
    assert_eq!(client.message().await, hidden(Visibility::AfterVote));
    gate.gone.store(true, Ordering::SeqCst);
    client.send(text(&ClientMessage::Recheck)).await;
    assert_eq!(client.close_code().await, close_code::POLL_NOT_FOUND);

    let gate = TestGate::hidden(Visibility::AfterVote);
    gate.gone.store(true, Ordering::SeqCst);
    let mut client = fixture.connect_gated(SocketConfig::default(), 16, gate);
    assert_eq!(client.close_code().await, close_code::POLL_NOT_FOUND);
}

//! Sockets whose counts a [`CountsGate`] hides: a `hidden` message and no
//! counts until the gate opens, then a `snapshot`; what makes a socket ask
//! again (its own voter's `Voted` event; a resync; `recheck`; `manage`; the
//! reveal time; all throttled) and what never does (anyone else's vote).

use crate::common;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{Client, Fixture};
use async_trait::async_trait;
use polling_core::{PollError, Visibility, VoterId, VoterTag};
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
    /// Calls of `manages`.
    token_checks: AtomicUsize,
    token: &'static str,
    /// The socket's voter.
    voter: VoterTag,
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
            token_checks: AtomicUsize::new(0),
            token: "the-token",
            voter: VoterTag::of(&VoterId::generate()),
        })
    }

    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    fn asks(&self) -> usize {
        self.asks.load(Ordering::SeqCst)
    }

    fn token_checks(&self) -> usize {
        self.token_checks.load(Ordering::SeqCst)
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
        self.token_checks.fetch_add(1, Ordering::SeqCst);
        Ok(token == self.token)
    }

    fn voter(&self) -> Option<&VoterTag> {
        Some(&self.voter)
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
async fn an_after_vote_socket_opens_on_its_voters_vote_and_nobody_elses_costs_an_ask() {
    let fixture = Fixture::new();
    let gate = TestGate::hidden(Visibility::AfterVote);
    let mut client = fixture.connect_gated(SocketConfig::default(), 16, gate.clone());
    assert_eq!(client.message().await, hidden(Visibility::AfterVote));
    assert_eq!(gate.asks(), 1);

    // Others vote: results change, `Voted` events for other voters.
    for version in 1..=20 {
        fixture.vote_to(version).await;
        fixture.voted(&VoterTag::of(&VoterId::generate())).await;
    }
    assert_quiet(&mut client, Duration::from_millis(400)).await;
    assert_eq!(gate.asks(), 1, "nobody else's vote makes the socket ask");

    // This socket's voter votes (on any replica): its event opens the gate.
    gate.open();
    fixture.vote_to(21).await;
    fixture.voted(&gate.voter).await;
    assert_eq!(client.next().await, ("snapshot", 21));
    assert_eq!(gate.asks(), 2);
    fixture.vote_to(22).await;
    assert_eq!(client.next().await, ("results", 22));
    let asks = gate.asks();
    fixture.vote_to(23).await;
    assert_eq!(client.next().await, ("results", 23));
    assert_eq!(gate.asks(), asks, "once visible, the socket stops asking");
}

#[tokio::test]
async fn an_after_close_socket_asks_on_no_vote_at_all() {
    let fixture = Fixture::new();
    let gate = TestGate::hidden(Visibility::AfterClose);
    let mut client = fixture.connect_gated(SocketConfig::default(), 16, gate.clone());
    assert_eq!(client.message().await, hidden(Visibility::AfterClose));
    for version in 1..=20 {
        fixture.vote_to(version).await;
    }
    // Not even its own voter's: a vote never lifts `after_close`.
    fixture.voted(&gate.voter).await;
    assert_quiet(&mut client, Duration::from_millis(400)).await;
    assert_eq!(gate.asks(), 1);
}

#[tokio::test]
async fn events_lost_by_a_lagging_feed_make_a_hidden_socket_ask_once() {
    let fixture = Fixture::new();
    let gate = TestGate::hidden(Visibility::AfterVote);
    let mut client = fixture.connect_gated(SocketConfig::default(), 16, gate.clone());
    assert_eq!(client.message().await, hidden(Visibility::AfterVote));
    // More votes at once than the broadcaster keeps for the poll's feed: it
    // resyncs, and the voter's own vote may be among the events it lost.
    gate.open();
    for _ in 0..2_000 {
        fixture.voted(&VoterTag::of(&VoterId::generate())).await;
    }
    assert_eq!(client.next().await, ("snapshot", 0));
    assert_eq!(gate.asks(), 2);
}

#[tokio::test]
async fn recheck_asks_within_the_interval_and_shows_the_counts() {
    let fixture = Fixture::new();
    let gate = TestGate::hidden(Visibility::AfterVote);
    let config = SocketConfig::default().recheck_interval(Duration::from_millis(100));
    let mut client = fixture.connect_gated(config, 16, gate.clone());
    assert_eq!(client.message().await, hidden(Visibility::AfterVote));

    client.send(text(&ClientMessage::Recheck)).await;
    assert_quiet(&mut client, Duration::from_millis(200)).await;
    assert_eq!(gate.asks(), 2);
    gate.open();
    client.send(text(&ClientMessage::Recheck)).await;
    assert_eq!(client.next().await, ("snapshot", 0));
}

#[tokio::test]
async fn a_flood_of_recheck_and_manage_messages_is_answered_once_per_interval() {
    let fixture = Fixture::new();
    let gate = TestGate::hidden(Visibility::AfterVote);
    let interval = Duration::from_millis(200);
    // Room for the flood: this test is about the gate, not the frame cap.
    let config = SocketConfig::default()
        .recheck_interval(interval)
        .max_incoming_per_sec(1_000);
    let mut client = fixture.connect_gated(config, 16, gate.clone());
    assert_eq!(client.message().await, hidden(Visibility::AfterVote));
    let start = Instant::now();
    for i in 0..100 {
        let message = if i % 2 == 0 {
            ClientMessage::Recheck
        } else {
            ClientMessage::Manage {
                token: format!("guess-{i}"),
            }
        };
        client.send(text(&message)).await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    tokio::time::sleep(interval * 2).await;
    let elapsed = start.elapsed().as_millis();
    let most = 2 + usize::try_from(elapsed / interval.as_millis()).unwrap();
    let asked = gate.asks() - 1 + gate.token_checks();
    assert!(
        asked <= most,
        "100 messages in {elapsed} ms: {asked} asks and token checks, at most {most}"
    );
    assert!(gate.token_checks() >= 1, "the last token is checked");
    assert_quiet(&mut client, Duration::from_millis(50)).await;
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
async fn rechecks_prompted_by_the_voters_events_are_throttled() {
    let fixture = Fixture::new();
    let gate = TestGate::hidden(Visibility::AfterVote);
    let config = SocketConfig::default().recheck_interval(Duration::from_millis(200));
    let mut client = fixture.connect_gated(config, 16, gate.clone());
    assert_eq!(client.message().await, hidden(Visibility::AfterVote));
    assert_eq!(gate.asks(), 1);

    // A replayed or forged stream of this voter's events.
    let start = Instant::now();
    for _ in 1..=50 {
        fixture.voted(&gate.voter).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    let elapsed = start.elapsed().as_millis();
    let asks = gate.asks();
    let most = 2 + usize::try_from(elapsed / 200).unwrap();
    assert!(
        (2..=most).contains(&asks),
        "50 events in {elapsed} ms: asked {asks} times, at most {most}"
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
    fixture.voted(&gate.voter).await;
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

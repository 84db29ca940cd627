//! What the hub and its sockets record through the `metrics` facade, read
//! back from a `TestRecorder` installed for each test alone.

use crate::common::{eventually, Fixture};
use polling_core::metrics::{
    reason, LIVE_MESSAGES_SENT_TOTAL, LIVE_MESSAGES_SKIPPED_TOTAL, LIVE_SOCKETS,
    LIVE_SOCKETS_CLOSED_TOTAL,
};
use polling_core::testing::TestRecorder;
use polling_realtime::{ClientFrame, SocketConfig, SocketEnd};

fn closed(recorder: &TestRecorder, why: &str) -> u64 {
    recorder.counter(LIVE_SOCKETS_CLOSED_TOTAL, &[(reason::LABEL, why)])
}

#[test]
fn the_sockets_gauge_goes_up_on_admission_and_back_down_when_sockets_end() {
    let recorder = TestRecorder::new();
    let gauge = || recorder.gauge(LIVE_SOCKETS, &[]);
    recorder.block_on(async {
        let fixture = Fixture::new();
        let mut clients = fixture.connect_many(3).await;
        assert_eq!(gauge(), Some(3.0));
        assert_eq!(
            recorder.counter(LIVE_MESSAGES_SENT_TOTAL, &[]),
            3,
            "the snapshots"
        );

        fixture.vote_to(1).await;
        for client in &mut clients {
            assert_eq!(client.next().await, ("results", 1));
        }
        assert_eq!(recorder.counter(LIVE_MESSAGES_SENT_TOTAL, &[]), 6);

        let mut clients = clients.into_iter();
        let first = clients.next().unwrap();
        first.send(ClientFrame::Close).await;
        assert!(matches!(first.end().await, SocketEnd::ClientClosed));
        assert_eq!(gauge(), Some(2.0));

        let second = clients.next().unwrap();
        let task = second.task;
        drop((second.inbox, second.outbox));
        assert!(matches!(task.await.unwrap(), SocketEnd::ClientGone));

        fixture.hub.shutdown();
        let third = clients.next().unwrap();
        assert!(matches!(third.end().await, SocketEnd::Shutdown));
        eventually("every socket is gone", || fixture.hub.stats().sockets == 0).await;
        assert_eq!(gauge(), Some(0.0));
    });

    assert_eq!(closed(&recorder, reason::CLIENT_CLOSED), 1);
    assert_eq!(closed(&recorder, reason::CLIENT_GONE), 1);
    assert_eq!(closed(&recorder, reason::SHUTDOWN), 1);
    assert_eq!(recorder.counter_total(LIVE_SOCKETS_CLOSED_TOTAL), 3);
}

#[test]
fn skipped_and_sent_messages_match_the_hub_stats() {
    let recorder = TestRecorder::new();
    let stats = recorder.block_on(async {
        let fixture = Fixture::new();
        let mut client = fixture.connect(SocketConfig::default(), 1);
        assert_eq!(client.next().await, ("snapshot", 0));
        for version in 1..=50 {
            fixture.vote_to(version).await;
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
        }
        while client.next().await != ("results", 50) {}
        fixture.hub.stats()
    });

    assert!(stats.skipped > 0, "the slow socket skipped versions");
    assert_eq!(
        recorder.counter(LIVE_MESSAGES_SKIPPED_TOTAL, &[]),
        stats.skipped
    );
    assert_eq!(
        recorder.counter(LIVE_MESSAGES_SENT_TOTAL, &[]),
        stats.messages_sent
    );
}

#[test]
fn every_socket_end_has_a_distinct_reason() {
    let ends = [
        SocketEnd::ClientClosed,
        SocketEnd::ClientGone,
        SocketEnd::PongTimeout,
        SocketEnd::Stalled,
        SocketEnd::SendFailed,
        SocketEnd::Shutdown,
        SocketEnd::Flood,
        SocketEnd::TooBig,
        SocketEnd::PollNotFound,
        SocketEnd::SnapshotFailed(polling_core::PollError::unavailable("down")),
    ];
    let reasons: Vec<_> = ends.iter().map(SocketEnd::reason).collect();
    assert_eq!(reasons, reason::ALL);
}

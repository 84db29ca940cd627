//! What sockets receive: snapshot first, rising versions, coalescing, sharing
//! and resyncs.

use std::time::Duration;

use crate::common::{eventually, Fixture, Stored};
use polling_core::testing::results_at;
use polling_realtime::{ServerMessage, SocketConfig, SocketEnd};

#[tokio::test]
async fn a_socket_gets_a_snapshot_first_then_results_with_rising_versions() {
    let fixture = Fixture::new();
    fixture.set_stored(Stored::Present(results_at(fixture.poll, 2)));
    let mut client = fixture.connect(SocketConfig::default(), 16);

    let first = client.message().await;
    assert_eq!(
        first,
        ServerMessage::Snapshot {
            results: results_at(fixture.poll, 2)
        }
    );
    for version in 3..=5 {
        fixture.vote_to(version).await;
        assert_eq!(client.next().await, ("results", version));
    }
    assert_eq!(fixture.hub.stats().messages_sent, 4);
}

#[tokio::test]
async fn versions_not_newer_than_the_last_sent_are_never_sent() {
    let fixture = Fixture::new();
    let mut client = fixture.connect(SocketConfig::default(), 16);
    assert_eq!(client.next().await, ("snapshot", 0));

    fixture.publish(3).await;
    assert_eq!(client.next().await, ("results", 3));
    for stale in [1, 2, 3] {
        fixture.publish(stale).await;
    }
    fixture.publish(4).await;
    assert_eq!(
        client.next().await,
        ("results", 4),
        "1, 2 and 3 again were dropped"
    );
}

#[tokio::test]
async fn a_snapshot_older_than_the_hubs_results_is_never_sent() {
    let fixture = Fixture::new();
    let mut first = fixture.connect(SocketConfig::default(), 16);
    assert_eq!(first.next().await, ("snapshot", 0));
    // The source (a lagging cache, say) still says 0; the hub has seen 7.
    fixture.publish(7).await;
    assert_eq!(first.next().await, ("results", 7));

    let mut second = fixture.connect(SocketConfig::default(), 16);
    assert_eq!(second.next().await, ("snapshot", 7));
}

#[tokio::test]
async fn a_slow_socket_skips_to_the_newest_version_and_the_skips_are_counted() {
    let fixture = Fixture::new();
    // Room for one frame: while the test does not read, sends wait.
    let mut client = fixture.connect(SocketConfig::default(), 1);
    assert_eq!(client.next().await, ("snapshot", 0));

    for version in 1..=100 {
        fixture.vote_to(version).await;
        // Let the hub and the socket run: the socket's sink is full.
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
    }

    let mut versions = Vec::new();
    while versions.last() != Some(&100) {
        let (kind, version) = client.next().await;
        assert_eq!(kind, "results");
        versions.push(version);
    }
    assert!(
        versions.len() <= 3,
        "coalesced to a couple of messages: {versions:?}"
    );
    assert!(
        versions.windows(2).all(|w| w[0] < w[1]),
        "rising: {versions:?}"
    );
    let stats = fixture.hub.stats();
    assert_eq!(
        stats.skipped,
        100 - versions.len() as u64,
        "every version not sent was counted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_never_reads_does_not_delay_another_socket() {
    let fixture = Fixture::new();
    let config = SocketConfig::default().send_timeout(Duration::from_secs(60));
    // Room for one frame that nobody takes: the snapshot fills it.
    let mut stalled = fixture.connect(config.clone(), 1);
    let mut stuck = fixture.connect_stuck(config.clone());
    let mut reader = fixture.connect(config, 16);
    assert_eq!(reader.next().await, ("snapshot", 0));

    for version in 1..=50 {
        fixture.vote_to(version).await;
        assert_eq!(reader.next().await, ("results", version));
    }

    // The stalled socket held its snapshot and one more message at most,
    // then sends the newest.
    assert_eq!(stalled.next().await, ("snapshot", 0));
    let mut versions = Vec::new();
    while versions.last() != Some(&50) {
        versions.push(stalled.next().await.1);
    }
    assert!(
        versions.len() <= 2,
        "at most one pending result: {versions:?}"
    );
    assert!(
        stuck.inbox.try_recv().is_err(),
        "the stuck socket took nothing"
    );
    assert!(
        !stuck.task.is_finished(),
        "still waiting within its send timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_of_one_poll_share_one_upstream_subscription_until_the_last_leaves() {
    let fixture = Fixture::new();
    let mut clients = fixture.connect_many(5).await;
    assert_eq!(fixture.broadcaster.subscribes(), 1);
    assert_eq!(fixture.broadcaster.live(), 1);
    assert_eq!(fixture.hub.stats().polls, 1);

    fixture.vote_to(1).await;
    for client in &mut clients {
        assert_eq!(client.next().await, ("results", 1));
    }

    let last = clients.pop().unwrap();
    for client in clients {
        client.send(polling_realtime::ClientFrame::Close).await;
        assert!(matches!(client.end().await, SocketEnd::ClientClosed));
    }
    assert_eq!(fixture.broadcaster.live(), 1, "one socket still watches");
    last.send(polling_realtime::ClientFrame::Close).await;
    last.end().await;
    eventually("the upstream subscription is dropped", || {
        fixture.broadcaster.live() == 0
    })
    .await;
    assert_eq!(fixture.hub.stats().polls, 0);
    assert_eq!(fixture.hub.stats().sockets, 0);

    let mut again = fixture.connect(SocketConfig::default(), 16);
    assert_eq!(again.next().await, ("snapshot", 1));
    assert_eq!(fixture.broadcaster.subscribes(), 2, "a new subscription");
}

#[tokio::test]
async fn a_resync_sends_every_socket_a_fresh_snapshot() {
    let fixture = Fixture::new();
    let mut clients = fixture.connect_many(3).await;
    // Votes the hub never heard of, then a resync.
    fixture.set_stored(Stored::Present(results_at(fixture.poll, 5)));
    fixture.resync().await;
    for client in &mut clients {
        assert_eq!(client.next().await, ("snapshot", 5));
    }

    // A resync whose source is behind what was sent keeps the newer results.
    fixture.publish(9).await;
    for client in &mut clients {
        assert_eq!(client.next().await, ("results", 9));
    }
    fixture.resync().await;
    for client in &mut clients {
        assert_eq!(client.next().await, ("snapshot", 9));
    }
}

#[tokio::test]
async fn a_poll_deleted_before_a_resync_closes_its_sockets_with_4404() {
    let fixture = Fixture::new();
    let mut client = fixture.connect(SocketConfig::default(), 16);
    assert_eq!(client.next().await, ("snapshot", 0));
    fixture.set_stored(Stored::Missing);
    fixture.resync().await;
    assert_eq!(client.close_code().await, 4404);
    assert!(matches!(client.end().await, SocketEnd::PollNotFound));
}

#[tokio::test]
async fn an_unknown_poll_closes_with_4404() {
    let fixture = Fixture::new();
    fixture.set_stored(Stored::Missing);
    let mut client = fixture.connect(SocketConfig::default(), 16);
    assert_eq!(client.close_code().await, 4404);
    assert!(matches!(client.end().await, SocketEnd::PollNotFound));
}

#[tokio::test]
async fn unreadable_results_close_with_1011() {
    let fixture = Fixture::new();
    fixture.set_stored(Stored::Down);
    let mut client = fixture.connect(SocketConfig::default(), 16);
    assert_eq!(client.close_code().await, 1011);
    assert!(matches!(client.end().await, SocketEnd::SnapshotFailed(_)));
}

#[tokio::test(start_paused = true)]
async fn a_failed_upstream_subscription_is_retried_and_followed_by_a_snapshot() {
    let fixture = Fixture::new();
    fixture.broadcaster.fail_next_subscribes(2);
    let mut client = fixture.connect(SocketConfig::default(), 16);
    assert_eq!(
        client.next().await,
        ("snapshot", 0),
        "served without events"
    );

    // Votes missed while unsubscribed come with the snapshot after the retry.
    fixture.set_stored(Stored::Present(results_at(fixture.poll, 3)));
    assert_eq!(client.next().await, ("snapshot", 3));
    assert_eq!(fixture.broadcaster.subscribes(), 3);
    fixture.vote_to(4).await;
    assert_eq!(client.next().await, ("results", 4));
}

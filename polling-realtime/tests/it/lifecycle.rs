//! How sockets live and end: ping/pong, client limits, stalls, shutdown and
//! the admission cap.

use std::time::Duration;

use crate::common::{eventually, Fixture};
use polling_realtime::{AdmitError, ClientFrame, HubConfig, ServerFrame, SocketConfig, SocketEnd};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn pings_are_sent_on_the_interval_and_pongs_keep_the_socket_open() {
    let fixture = Fixture::new();
    let mut client = fixture.connect(SocketConfig::default(), 16);
    assert_eq!(client.next().await, ("snapshot", 0));
    let start = Instant::now();

    for round in 1..=3 {
        assert_eq!(client.frame().await, Some(ServerFrame::Ping(Vec::new())));
        assert_eq!(start.elapsed(), SocketConfig::DEFAULT_PING_INTERVAL * round);
        client.send(ClientFrame::Pong(Vec::new())).await;
    }
    assert!(!client.task.is_finished());
}

#[tokio::test(start_paused = true)]
async fn a_socket_without_pong_is_dropped_after_the_pong_timeout() {
    let fixture = Fixture::new();
    let mut client = fixture.connect(SocketConfig::default(), 16);
    assert_eq!(client.next().await, ("snapshot", 0));
    let start = Instant::now();

    assert_eq!(client.frame().await, Some(ServerFrame::Ping(Vec::new())));
    assert_eq!(client.frame().await, None, "dropped without a close frame");
    assert_eq!(
        start.elapsed(),
        SocketConfig::DEFAULT_PING_INTERVAL + SocketConfig::DEFAULT_PONG_TIMEOUT
    );
    assert!(matches!(client.end().await, SocketEnd::PongTimeout));
    assert_eq!(fixture.hub.stats().sockets, 0);
}

#[tokio::test(start_paused = true)]
async fn a_client_flood_closes_with_policy_violation() {
    let fixture = Fixture::new();
    let config = SocketConfig::default().max_incoming_per_sec(5);
    let mut client = fixture.connect(config, 16);
    assert_eq!(client.next().await, ("snapshot", 0));

    // Within the limit, client messages are ignored.
    for second in 0..3 {
        for _ in 0..5 {
            client
                .send(ClientFrame::Text(format!("hello {second}")))
                .await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    fixture.vote_to(1).await;
    assert_eq!(client.next().await, ("results", 1));

    for _ in 0..6 {
        client.send(ClientFrame::Binary(vec![0; 8])).await;
    }
    assert_eq!(client.close_code().await, 1008);
    assert!(matches!(client.end().await, SocketEnd::Flood));
}

#[tokio::test]
async fn a_client_message_over_the_size_cap_closes_with_message_too_big() {
    let fixture = Fixture::new();
    let mut client = fixture.connect(SocketConfig::default(), 16);
    assert_eq!(client.next().await, ("snapshot", 0));
    let cap = SocketConfig::DEFAULT_MAX_INCOMING_MESSAGE_BYTES;

    client.send(ClientFrame::Text("x".repeat(cap))).await;
    client.send(ClientFrame::Text("x".repeat(cap + 1))).await;
    assert_eq!(client.close_code().await, 1009);
    assert!(matches!(client.end().await, SocketEnd::TooBig));
}

#[tokio::test]
async fn a_client_close_ends_the_socket() {
    let fixture = Fixture::new();
    let mut client = fixture.connect(SocketConfig::default(), 16);
    assert_eq!(client.next().await, ("snapshot", 0));
    client.send(ClientFrame::Close).await;
    assert!(matches!(client.end().await, SocketEnd::ClientClosed));
}

#[tokio::test(start_paused = true)]
async fn a_socket_whose_peer_stops_reading_is_dropped_after_the_send_timeout() {
    let fixture = Fixture::new();
    let mut client = fixture.connect(SocketConfig::default(), 1);
    assert_eq!(client.next().await, ("snapshot", 0));
    fixture.vote_to(1).await; // fills the client's room
    eventually("results 1 are sent", || {
        fixture.hub.stats().messages_sent == 2
    })
    .await;
    fixture.vote_to(2).await; // waits for room that never comes
    let start = Instant::now();

    let end = client.end().await;
    assert!(matches!(end, SocketEnd::Stalled), "{end:?}");
    assert_eq!(start.elapsed(), SocketConfig::DEFAULT_SEND_TIMEOUT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_shutdown_closes_every_socket_with_going_away_and_refuses_new_ones() {
    let fixture = Fixture::new();
    let clients = fixture.connect_many(3).await;
    // One socket stalled in a send is ended too.
    let stuck =
        fixture.connect_stuck(SocketConfig::default().send_timeout(Duration::from_millis(500)));

    let start = std::time::Instant::now();
    fixture.hub.shutdown();
    for mut client in clients {
        assert_eq!(client.close_code().await, 1001);
        assert!(matches!(client.end().await, SocketEnd::Shutdown));
    }
    assert!(matches!(stuck.end().await, SocketEnd::Shutdown));
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "a stuck sink is waited for no longer than its send timeout"
    );
    assert_eq!(
        fixture.hub.try_admit().unwrap_err(),
        AdmitError::ShuttingDown
    );
    assert_eq!(fixture.hub.stats().sockets, 0);
}

#[tokio::test]
async fn admission_is_refused_beyond_the_cap_until_a_socket_leaves() {
    let fixture = Fixture::with_config(HubConfig::with_max_sockets(2));
    let mut first = fixture.connect(SocketConfig::default(), 16);
    let _second = fixture.hub.try_admit().unwrap();
    assert_eq!(fixture.hub.try_admit().unwrap_err(), AdmitError::Full);
    assert_eq!(fixture.hub.stats().sockets, 2);

    assert_eq!(first.next().await, ("snapshot", 0));
    first.send(ClientFrame::Close).await;
    first.end().await;
    assert_eq!(fixture.hub.stats().sockets, 1);
    assert!(fixture.hub.try_admit().is_ok(), "the place was freed");
}

#[tokio::test]
async fn one_client_may_hold_only_its_share_of_the_sockets_and_others_are_unaffected() {
    let fixture = Fixture::with_config(HubConfig::with_max_sockets(10).max_sockets_per_client(3));
    let hall: std::net::IpAddr = "203.0.113.7".parse().unwrap();
    let other: std::net::IpAddr = "198.51.100.2".parse().unwrap();
    let mut held: Vec<_> = (0..3)
        .map(|_| fixture.hub.try_admit_from(hall).unwrap())
        .collect();
    assert_eq!(
        fixture.hub.try_admit_from(hall).unwrap_err(),
        AdmitError::ClientFull
    );
    assert_eq!(fixture.hub.sockets_of(hall), 3);
    assert!(fixture.hub.try_admit_from(other).is_ok(), "another client");
    held.pop();
    assert_eq!(fixture.hub.sockets_of(hall), 2);
    let again = fixture.hub.try_admit_from(hall);
    assert!(again.is_ok(), "a place of the client was freed");
    drop((held, again));
    assert_eq!(
        fixture.hub.sockets_of(hall),
        0,
        "forgotten with its last socket"
    );

    // A refusal by the hub's own cap gives the client's place back.
    let full = Fixture::with_config(HubConfig::with_max_sockets(1).max_sockets_per_client(5));
    let _only = full.hub.try_admit_from(other).unwrap();
    assert_eq!(full.hub.try_admit_from(hall).unwrap_err(), AdmitError::Full);
    assert_eq!(full.hub.sockets_of(hall), 0);
}

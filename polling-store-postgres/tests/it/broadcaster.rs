//! `PgBroadcaster`: the polling-core conformance suite, then what only
//! `LISTEN`/`NOTIFY` has: one listening connection per broadcaster, replicas
//! on one database, a listening connection terminated by the server, events
//! too large for a `NOTIFY`, and shutdown.
//!
//! Each test has a fresh database (`#[sqlx::test]`): notifications are per
//! database, so no other test's events or connections show up.

use std::time::Duration;

use futures_util::StreamExt;
use polling_core::testing::events::{publish, receive, subscribe, updated};
use polling_core::testing::{eventually, results_at};
use polling_core::{Broadcaster, OptionCount, OptionId, PollId, ResultsEvent};
use polling_store_postgres::{PgBroadcaster, PgBroadcasterConfig, LISTENER_APPLICATION_NAME};
use sqlx::PgPool;

mod conformance {
    use polling_store_postgres::PgBroadcaster;
    use sqlx::PgPool;

    polling_core::broadcaster_conformance_tests!(
        #[sqlx::test] pool: PgPool => PgBroadcaster::new(&pool)
    );
}

const WITHIN: Duration = Duration::from_secs(5);

/// Reconnects within milliseconds, so the tests need not wait.
fn fast_config() -> PgBroadcasterConfig {
    PgBroadcasterConfig {
        reconnect_min_delay: Duration::from_millis(10),
        reconnect_max_delay: Duration::from_millis(100),
        ..PgBroadcasterConfig::default()
    }
}

/// The backend pids of the listening connections on the test's database.
async fn listening_backends(pool: &PgPool) -> Vec<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = $1 ORDER BY pid",
    )
    .bind(LISTENER_APPLICATION_NAME)
    .fetch_all(pool)
    .await
    .expect("read pg_stat_activity")
}

#[sqlx::test]
async fn many_subscribers_across_polls_share_one_listening_connection(pool: PgPool) {
    let broadcaster = PgBroadcaster::new(&pool);
    let polls: Vec<PollId> = (0..3).map(|_| PollId::generate()).collect();
    let mut streams = Vec::new();
    for &poll in &polls {
        for _ in 0..4 {
            streams.push((poll, subscribe(&broadcaster, poll).await));
        }
    }
    assert_eq!(listening_backends(&pool).await.len(), 1, "one connection");
    assert_eq!(broadcaster.connections_established(), 1);
    assert!(broadcaster.is_listening());
    broadcaster
        .check()
        .await
        .expect("the broadcaster is healthy");

    for &poll in &polls {
        publish(&broadcaster, &updated(poll, 1)).await;
    }
    for (poll, events) in &mut streams {
        assert_eq!(receive(events, "each stream").await, updated(*poll, 1));
    }
}

#[sqlx::test]
async fn events_published_on_one_replica_reach_subscribers_on_another(pool: PgPool) {
    let (a, b) = (PgBroadcaster::new(&pool), PgBroadcaster::new(&pool));
    let poll = PollId::generate();
    let mut on_a = subscribe(&a, poll).await;
    let mut on_b = subscribe(&b, poll).await;
    for version in 1..=3 {
        publish(&a, &updated(poll, version)).await;
    }
    for version in 1..=3 {
        assert_eq!(
            receive(&mut on_b, "on b").await,
            updated(poll, version),
            "on B"
        );
        assert_eq!(
            receive(&mut on_a, "on a").await,
            updated(poll, version),
            "on A"
        );
    }
    assert_eq!(listening_backends(&pool).await.len(), 2, "one per replica");
}

#[sqlx::test]
async fn a_terminated_listening_connection_is_replaced_with_a_resync_and_later_events_arrive(
    pool: PgPool,
) {
    let broadcaster = PgBroadcaster::with_config(&pool, &fast_config());
    let (poll, other) = (PollId::generate(), PollId::generate());
    let mut events = subscribe(&broadcaster, poll).await;
    let mut of_other = subscribe(&broadcaster, other).await;
    let before = listening_backends(&pool).await;
    assert_eq!(before.len(), 1);

    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(before[0])
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(terminated);

    assert_eq!(
        receive(&mut events, "events").await,
        ResultsEvent::Resync { poll_id: poll },
        "the subscriber is told it may have missed events"
    );
    assert_eq!(
        receive(&mut of_other, "of other").await,
        ResultsEvent::Resync { poll_id: other }
    );
    assert_eq!(broadcaster.connections_established(), 2);
    assert!(broadcaster.is_listening());
    let after = listening_backends(&pool).await;
    assert_eq!(after.len(), 1, "still one listening connection");
    assert_ne!(after, before, "a new backend");

    publish(&broadcaster, &updated(poll, 1)).await;
    publish(&broadcaster, &updated(other, 1)).await;
    assert_eq!(receive(&mut events, "events").await, updated(poll, 1));
    assert_eq!(receive(&mut of_other, "of other").await, updated(other, 1));
}

#[sqlx::test]
async fn the_broadcaster_is_unhealthy_until_its_connection_is_back(pool: PgPool) {
    let config = PgBroadcasterConfig {
        // Long enough to see the connection down.
        reconnect_min_delay: Duration::from_millis(500),
        ..fast_config()
    };
    let broadcaster = PgBroadcaster::with_config(&pool, &config);
    let poll = PollId::generate();
    let mut events = subscribe(&broadcaster, poll).await;
    broadcaster.check().await.expect("healthy at first");

    let pid = listening_backends(&pool).await[0];
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&pool)
        .await
        .unwrap();
    eventually(WITHIN, "the loss is noticed", || async {
        broadcaster.check().await.is_err().then_some(())
    })
    .await;
    assert_eq!(
        receive(&mut events, "events").await,
        ResultsEvent::Resync { poll_id: poll }
    );
    broadcaster.check().await.expect("healthy again");
}

#[sqlx::test]
async fn an_event_too_large_for_a_notify_arrives_as_a_resync(pool: PgPool) {
    let broadcaster = PgBroadcaster::new(&pool);
    let poll = PollId::generate();
    let mut events = subscribe(&broadcaster, poll).await;
    let mut results = results_at(poll, 1);
    results.counts = (0..2000)
        .map(|i| OptionCount {
            option_id: OptionId::new(i),
            votes: u64::from(i),
        })
        .collect();
    publish(&broadcaster, &ResultsEvent::Updated { results }).await;
    assert_eq!(
        receive(&mut events, "events").await,
        ResultsEvent::Resync { poll_id: poll },
        "a notice to re-read instead of a refused NOTIFY"
    );
    publish(&broadcaster, &updated(poll, 2)).await;
    assert_eq!(receive(&mut events, "events").await, updated(poll, 2));
}

#[sqlx::test]
async fn a_malformed_notification_is_skipped(pool: PgPool) {
    let broadcaster = PgBroadcaster::new(&pool);
    let poll = PollId::generate();
    let mut events = subscribe(&broadcaster, poll).await;
    let channel = format!("polling:poll:{poll}");
    for payload in [
        "not json",
        &serde_json::to_string(&updated(PollId::generate(), 1)).unwrap(),
    ] {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&channel)
            .bind(payload)
            .execute(&pool)
            .await
            .unwrap();
    }
    publish(&broadcaster, &updated(poll, 1)).await;
    assert_eq!(
        receive(&mut events, "events").await,
        updated(poll, 1),
        "garbage and another poll's event on this poll's channel are skipped"
    );
}

#[sqlx::test]
async fn dropping_the_broadcaster_closes_its_listening_connection(pool: PgPool) {
    let broadcaster = PgBroadcaster::new(&pool);
    let mut events = subscribe(&broadcaster, PollId::generate()).await;
    assert_eq!(listening_backends(&pool).await.len(), 1);
    drop(broadcaster);
    assert_eq!(
        tokio::time::timeout(WITHIN, events.next()).await,
        Ok(None),
        "the stream ends"
    );
    eventually(WITHIN, "the listening connection is closed", || async {
        listening_backends(&pool).await.is_empty().then_some(())
    })
    .await;
}

#[sqlx::test]
async fn events_published_at_once_all_arrive_each_polls_in_order_of_publish(pool: PgPool) {
    let broadcaster = PgBroadcaster::new(&pool);
    let polls: Vec<PollId> = (0..3).map(|_| PollId::generate()).collect();
    let mut streams = Vec::new();
    for &poll in &polls {
        streams.push(subscribe(&broadcaster, poll).await);
    }
    // Each poll's events from a task of its own, the three tasks at once, as
    // ballots on three polls commit together: they share statements.
    let publishers: Vec<_> = polls
        .iter()
        .map(|&poll| {
            let broadcaster = broadcaster.clone();
            tokio::spawn(async move {
                for version in 1..=40 {
                    publish(&broadcaster, &updated(poll, version)).await;
                }
            })
        })
        .collect();
    // And 60 more at once, each its own caller, on a fourth poll nobody watches.
    let unwatched = PollId::generate();
    let events: Vec<ResultsEvent> = (1..=60).map(|v| updated(unwatched, v)).collect();
    let at_once = futures_util::future::join_all(events.iter().map(|e| broadcaster.publish(e)));
    assert!(at_once.await.iter().all(Result::is_ok));
    for publisher in publishers {
        publisher.await.expect("a publisher panicked");
    }
    for (poll, events) in polls.iter().zip(&mut streams) {
        for version in 1..=40 {
            assert_eq!(
                receive(events, "each stream").await,
                updated(*poll, version)
            );
        }
    }
}

//! The conformance cases of [`Broadcaster`].
//!
//! Each case takes a fresh broadcaster and panics when it breaks the contract
//! written on [`Broadcaster`]. Receives wait at most [`RECEIVE_TIMEOUT`], so
//! a broken backend fails instead of hanging; "receives nothing" checks wait
//! [`QUIET_PERIOD`], after a later event to the subscriber's own poll has
//! already arrived. Run them all with
//! [`broadcaster_conformance_tests!`](crate::broadcaster_conformance_tests);
//! see the [module docs](super).
//!
//! No case publishes more than 20 events to one poll before reading them, so a
//! backend buffering at least that many never needs a
//! [`Resync`](ResultsEvent::Resync) here; one that does fails.

use std::time::Duration;

use futures_util::StreamExt;

use super::events::{publish, receive, subscribe, updated};
use crate::broadcaster::{Broadcaster, EventStream};
use crate::domain::{PollId, ResultsEvent};

/// How long a case waits for an event it expects.
pub const RECEIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a case waits to be sure an event it must not get doesn't come.
pub const QUIET_PERIOD: Duration = Duration::from_millis(200);

/// Generates one test per case of [`testing::broadcaster`](crate::testing::broadcaster).
///
/// Used like [`store_conformance_tests!`](crate::store_conformance_tests);
/// `make` must give a broadcaster no other test publishes to (fresh poll ids
/// make that easy for a shared backend).
///
/// # Example
///
/// ```
/// polling_core::broadcaster_conformance_tests!(
///     #[tokio::test(flavor = "multi_thread")] => polling_core::memory::LocalBroadcaster::new()
/// );
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! broadcaster_conformance_tests {
    (#[$attr:meta] $($arg:ident : $ty:ty),* $(,)? => $make:expr $(,)?) => {
        $crate::__conformance_tests!(broadcaster, #[$attr] ($($arg: $ty),*) => $make;
            a_subscriber_receives_a_published_event,
            subscribers_receive_only_their_polls_events,
            every_subscriber_receives_every_event,
            publishing_without_subscribers_succeeds,
            events_arrive_in_publish_order,
            a_dropped_subscriber_breaks_nothing,
        );
    };
}

/// Fails if `events` yields anything within [`QUIET_PERIOD`].
async fn assert_quiet(events: &mut EventStream, what: &str) {
    if let Ok(item) = tokio::time::timeout(QUIET_PERIOD, events.next()).await {
        panic!("{what}: expected no more events, got {item:?}");
    }
}

/// An event published after `subscribe` returned reaches the subscriber, equal.
pub async fn a_subscriber_receives_a_published_event<B: Broadcaster>(broadcaster: B) {
    let poll = PollId::generate();
    let mut events = subscribe(&broadcaster, poll).await;
    let event = updated(poll, 1);
    publish(&broadcaster, &event).await;
    assert_eq!(
        receive(&mut events, "the subscriber").await,
        event,
        "the event received"
    );
}

/// A subscriber of poll A gets A's events and none of poll B's.
pub async fn subscribers_receive_only_their_polls_events<B: Broadcaster>(broadcaster: B) {
    let (a, b) = (PollId::generate(), PollId::generate());
    let mut of_a = subscribe(&broadcaster, a).await;
    let mut of_b = subscribe(&broadcaster, b).await;

    // Each subscriber's own event is published after the other poll's, so a
    // leaking backend delivering in order shows the foreign event first.
    publish(&broadcaster, &updated(b, 1)).await;
    publish(&broadcaster, &updated(a, 1)).await;
    publish(&broadcaster, &updated(b, 2)).await;

    assert_eq!(
        receive(&mut of_a, "A's subscriber").await,
        updated(a, 1),
        "A's subscriber got another poll's event"
    );
    assert_eq!(
        receive(&mut of_b, "B's subscriber").await,
        updated(b, 1),
        "B's first event"
    );
    assert_eq!(
        receive(&mut of_b, "B's subscriber").await,
        updated(b, 2),
        "B's subscriber got another poll's event"
    );
    tokio::join!(
        assert_quiet(&mut of_a, "A's subscriber"),
        assert_quiet(&mut of_b, "B's subscriber"),
    );
}

/// Three subscribers of one poll each receive all five events.
pub async fn every_subscriber_receives_every_event<B: Broadcaster>(broadcaster: B) {
    let poll = PollId::generate();
    let mut subscribers = Vec::new();
    for _ in 0..3 {
        subscribers.push(subscribe(&broadcaster, poll).await);
    }
    let sent: Vec<ResultsEvent> = (1..=5).map(|v| updated(poll, v)).collect();
    for event in &sent {
        publish(&broadcaster, event).await;
    }
    for (i, events) in subscribers.iter_mut().enumerate() {
        for event in &sent {
            let what = format!("subscriber {i}");
            assert_eq!(
                &receive(events, &what).await,
                event,
                "{what} must receive every event"
            );
        }
    }
}

/// Publishing to a poll nobody listens to succeeds, and a later subscriber
/// still gets the events published after it subscribed.
pub async fn publishing_without_subscribers_succeeds<B: Broadcaster>(broadcaster: B) {
    let poll = PollId::generate();
    publish(&broadcaster, &updated(poll, 1)).await;
    publish(&broadcaster, &updated(PollId::generate(), 1)).await;

    let mut events = subscribe(&broadcaster, poll).await;
    publish(&broadcaster, &updated(poll, 2)).await;
    // Delivering the event from before the subscription is allowed, not required.
    let mut event = receive(&mut events, "a late subscriber").await;
    if event == updated(poll, 1) {
        event = receive(&mut events, "a late subscriber").await;
    }
    assert_eq!(
        event,
        updated(poll, 2),
        "a late subscriber gets the events after it subscribed"
    );
}

/// Twenty events published one after another by one publisher arrive in that
/// order. One of them is a published [`Resync`](ResultsEvent::Resync), which
/// travels like any other event.
pub async fn events_arrive_in_publish_order<B: Broadcaster>(broadcaster: B) {
    let poll = PollId::generate();
    let mut events = subscribe(&broadcaster, poll).await;
    let mut sent: Vec<ResultsEvent> = (1..=19).map(|v| updated(poll, v)).collect();
    sent.insert(10, ResultsEvent::Resync { poll_id: poll });
    for event in &sent {
        publish(&broadcaster, event).await;
    }
    let mut received = Vec::with_capacity(sent.len());
    for _ in 0..sent.len() {
        received.push(receive(&mut events, "the subscriber").await);
    }
    assert_eq!(received, sent, "events must arrive in publish order");
}

/// Dropping a subscriber leaves publishing working for the others, and
/// subscribing again to the same poll works.
pub async fn a_dropped_subscriber_breaks_nothing<B: Broadcaster>(broadcaster: B) {
    let poll = PollId::generate();
    let mut stays = subscribe(&broadcaster, poll).await;
    let leaves = subscribe(&broadcaster, poll).await;
    drop(leaves);
    publish(&broadcaster, &updated(poll, 1)).await;
    assert_eq!(
        receive(&mut stays, "the remaining subscriber").await,
        updated(poll, 1)
    );
    drop(stays);

    // Now nobody listens to the poll.
    publish(&broadcaster, &updated(poll, 2)).await;

    let mut again = subscribe(&broadcaster, poll).await;
    publish(&broadcaster, &updated(poll, 3)).await;
    let mut event = receive(&mut again, "a resubscriber").await;
    if event == updated(poll, 2) {
        // Published before the subscription: allowed, not required.
        event = receive(&mut again, "a resubscriber").await;
    }
    // A subscription that had to be made again (a loaded machine, a
    // reconnect) may say `Resync` instead of the events it may have lost:
    // the contract's other way of telling the subscriber.
    let resync = ResultsEvent::Resync { poll_id: poll };
    assert!(
        event == updated(poll, 3) || event == resync,
        "a resubscriber gets later events, or a resync: {event:?}"
    );
}

//! Helpers for the tests of a [`Broadcaster`]: the conformance cases use
//! them, and so do a backend's own tests.
//!
//! Each panics with a message saying what failed, so a test reads as its
//! steps.
//!
//! # Example
//!
//! ```
//! use polling_core::memory::LocalBroadcaster;
//! use polling_core::testing::events::{publish, receive, subscribe, updated};
//! use polling_core::PollId;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let broadcaster = LocalBroadcaster::new();
//! let poll = PollId::generate();
//! let mut events = subscribe(&broadcaster, poll).await;
//! publish(&broadcaster, &updated(poll, 1)).await;
//! assert_eq!(receive(&mut events, "the first vote").await, updated(poll, 1));
//! # }
//! ```

use futures_util::StreamExt;

use super::broadcaster::RECEIVE_TIMEOUT;
use super::results_at;
use crate::broadcaster::{Broadcaster, EventStream};
use crate::domain::{PollId, ResultsEvent};

/// The `Updated` event of `poll` at `version` (with [`results_at`]).
pub fn updated(poll: PollId, version: u64) -> ResultsEvent {
    ResultsEvent::Updated {
        results: results_at(poll, version),
    }
}

/// Subscribes to `poll`, panicking if that fails.
pub async fn subscribe<B: Broadcaster>(broadcaster: &B, poll: PollId) -> EventStream {
    broadcaster
        .subscribe(poll)
        .await
        .unwrap_or_else(|e| panic!("subscribe to poll {poll} failed: {e:?}"))
}

/// Publishes `event`, panicking if that fails.
pub async fn publish<B: Broadcaster>(broadcaster: &B, event: &ResultsEvent) {
    broadcaster
        .publish(event)
        .await
        .unwrap_or_else(|e| panic!("publish of {event:?} failed: {e:?}"));
}

/// The next event of `events`, failing after [`RECEIVE_TIMEOUT`] or if the
/// stream ends; `what` names the awaited event in the panic.
pub async fn receive(events: &mut EventStream, what: &str) -> ResultsEvent {
    match tokio::time::timeout(RECEIVE_TIMEOUT, events.next()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("{what}: the event stream ended while the broadcaster lives"),
        Err(_) => panic!("{what}: no event within {RECEIVE_TIMEOUT:?}"),
    }
}

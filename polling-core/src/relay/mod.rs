//! Building blocks of a [`Broadcaster`](crate::Broadcaster) that relays
//! events through a remote service, such as Redis Pub/Sub or PostgreSQL
//! `LISTEN`/`NOTIFY`, so that every replica sees every vote.
//!
//! Such a broadcaster publishes each event on a channel of its poll, and
//! keeps one connection per process that listens to the channels of the
//! polls with local subscribers. The parts every backend shares live here:
//!
//! * [`Subscriptions`]: the local subscribers of each poll, on a bounded
//!   queue per poll; a subscriber that falls behind gets a
//!   [`ResultsEvent::Resync`](crate::ResultsEvent::Resync) instead of the
//!   events it skipped.
//! * [`Reconcile`]: the command that makes the listening connection's
//!   channels match the polls with local subscribers.
//! * [`Backoff`]: the jittered, exponential delays between reconnect
//!   attempts.
//!
//! A backend adds its connection, its channel names and its payload format.

mod backoff;
mod reconcile;
mod subscriptions;

pub use backoff::Backoff;
pub use reconcile::Reconcile;
pub use subscriptions::Subscriptions;

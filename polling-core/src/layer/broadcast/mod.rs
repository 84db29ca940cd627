//! Publishing the results of every recorded vote.
//!
//! On a [`Ballot`](crate::Ballot) that was recorded, [`Broadcast`] publishes
//! the results the store returned as a
//! [`ResultsEvent::Updated`](crate::ResultsEvent::Updated), after the commit
//! and before answering (or, if the caller left before the commit, after it
//! all the same: see
//! [post-commit effects](super#post-commit-effects-belong-to-the-commit-not-to-the-caller)).
//! A failed publish is logged, counted in
//! [`BROADCAST_PUBLISH_ERRORS_TOTAL`](crate::metrics::BROADCAST_PUBLISH_ERRORS_TOTAL),
//! and never fails the vote:
//! the next vote's event (or a subscriber's snapshot) carries a higher
//! version. Results requests pass through untouched.
//!
//! [Announcing voters](BroadcastLayer::announcing_voters), it follows each
//! such event with a [`ResultsEvent::Voted`](crate::ResultsEvent::Voted)
//! naming the voter by a one-way [`VoterTag`](crate::VoterTag), for the
//! live sockets of `after_vote` polls.
//!
//! # Example
//!
//! ```
//! use polling_core::layer::BroadcastLayer;
//! use polling_core::memory::{LocalBroadcaster, MemoryStore};
//! use polling_core::service::PollService;
//! use tower::ServiceBuilder;
//!
//! let service = ServiceBuilder::new()
//!     .layer(BroadcastLayer::new(LocalBroadcaster::new()))
//!     .service(PollService::new(MemoryStore::new()));
//! # let _ = service;
//! ```

mod layer;
mod service;

pub use super::future::ResponseFuture;
pub use layer::BroadcastLayer;
pub use service::{AnnounceVoters, Broadcast};

//! The vote path and the results path as one [`tower::Service`] over a
//! [`PollStore`](crate::PollStore).
//!
//! [`PollService`] answers two kinds of request:
//!
//! | request | response |
//! |---|---|
//! | [`Ballot`](crate::Ballot) | [`CastOutcome`](crate::CastOutcome) |
//! | [`ResultsRequest`] | [`Results`](crate::Results) |
//!
//! The [layers](crate::layer) implement both too, so one stack serves both
//! paths.
//!
//! # Example
//!
//! ```
//! use polling_core::memory::{LocalBroadcaster, MemoryCache, MemoryStore};
//! use polling_core::layer::{BroadcastLayer, CacheLayer};
//! use polling_core::service::{PollService, ResultsRequest};
//! use polling_core::{Ballot, ManageToken, NewPoll, OptionId, Poll, PollDraft, PollStore, VoterId};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> polling_core::Result<()> {
//! let store = MemoryStore::new();
//! let draft = PollDraft {
//!     question: "Lunch?".into(),
//!     options: vec!["Pizza".into(), "Salad".into()],
//!     ..PollDraft::default()
//! };
//! let poll = Poll::open(NewPoll::new(draft, polling_core::now())?, ManageToken::generate().hash(), polling_core::now());
//! store.create(&poll).await?;
//!
//! let service = ServiceBuilder::new()
//!     .layer(CacheLayer::new(MemoryCache::new()))
//!     .layer(BroadcastLayer::new(LocalBroadcaster::new()))
//!     .service(PollService::new(store));
//!
//! let ballot = Ballot::new(poll.id, VoterId::generate(), vec![OptionId::new(0)])?;
//! let outcome = service.clone().oneshot(ballot).await?;
//! assert_eq!(outcome.results.version, 1);
//!
//! let results = service.oneshot(ResultsRequest::new(poll.id)).await?;
//! assert_eq!(results.total, 1);
//! # Ok(())
//! # }
//! ```

mod poll_service;
mod request;

pub use poll_service::PollService;
pub use request::ResultsRequest;

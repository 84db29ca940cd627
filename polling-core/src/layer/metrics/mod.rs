//! Counting and timing the vote and results paths.
//!
//! [`Metrics`] records, through the [`metrics`] facade, the
//! outcome and the duration of every request that passes it:
//!
//! | request | records |
//! |---|---|
//! | [`Ballot`](crate::Ballot) | [`VOTES_TOTAL`](crate::metrics::VOTES_TOTAL) by [`outcome`](crate::metrics::outcome), [`VOTE_DURATION_SECONDS`](crate::metrics::VOTE_DURATION_SECONDS) |
//! | [`ResultsRequest`](crate::service::ResultsRequest) | [`RESULTS_READ_DURATION_SECONDS`](crate::metrics::RESULTS_READ_DURATION_SECONDS), and [`RESULTS_READ_ERRORS_TOTAL`](crate::metrics::RESULTS_READ_ERRORS_TOTAL) by code when it fails |
//!
//! Responses and errors pass through unchanged. Put it outermost, so that it
//! sees what the caller sees: the time spent in every layer below and the
//! refusals of tower's limit layers (their errors count as `unavailable`).
//! Nothing is recorded until the application installs a recorder (the
//! server installs the Prometheus exporter).
//!
//! # Example
//!
//! ```
//! use polling_core::layer::{BroadcastLayer, CacheLayer, MetricsLayer};
//! use polling_core::memory::{LocalBroadcaster, MemoryCache, MemoryStore};
//! use polling_core::service::PollService;
//! use tower::ServiceBuilder;
//!
//! let service = ServiceBuilder::new()
//!     .layer(MetricsLayer::new())
//!     .layer(CacheLayer::new(MemoryCache::new()))
//!     .layer(BroadcastLayer::new(LocalBroadcaster::new()))
//!     .service(PollService::new(MemoryStore::new()));
//! # let _ = service;
//! ```

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::MetricsLayer;
pub use service::Metrics;

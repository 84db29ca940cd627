//! The [`tower::Layer`]s around the vote and results paths (DESIGN §3).
//!
//! | layer | on a ballot | on a results request |
//! |---|---|---|
//! | [`MetricsLayer`] | count by outcome, time | time, count errors |
//! | [`CacheLayer`] | after commit: `put` the returned results | read-through: cache, else inner then `put`; counts hits, misses and errors |
//! | [`BroadcastLayer`] | after commit: publish the returned results; counts failed publishes | passes through |
//!
//! A failing cache or broadcaster never fails a vote that committed: the
//! failure is logged and counted (see [`metrics`](crate::metrics)), and the
//! version rule heals it with the next vote.
//! Stack them in this order, outermost first: metrics, then (in the server)
//! tower's limit layers, then cache, then broadcast, then the
//! [`PollService`](crate::service::PollService):
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

pub mod broadcast;
pub mod cache;
mod future;
pub mod metrics;

pub use broadcast::{Broadcast, BroadcastLayer};
pub use cache::{Cache, CacheLayer};
pub use metrics::{Metrics, MetricsLayer};

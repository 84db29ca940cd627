//! The [`tower::Layer`]s around the vote and results paths (`ARCHITECTURE.md#tower-stack`).
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
//!
//! # Post-commit effects belong to the commit, not to the caller
//!
//! A vote the store commits updates the cache and reaches the broadcaster
//! exactly as if its caller had waited, whether the caller hung up, timed
//! out (tower's `Timeout` around these layers) or was shed. The vote-path
//! [`ResponseFuture`](cache::ResponseFuture) of [`Cache`] and [`Broadcast`]
//! finishes on drop: dropped before it completed, it
//! [abandons](crate::Ballot::abandon) its ballot (a store that has not yet
//! started recording it must then never record it) and moves the rest of
//! its work, the inner cast and its own `put` or publish, into a task on the
//! current tokio runtime. The outermost dropped future takes the whole chain
//! with it, so each effect still happens once. A future that completed, or
//! one on the results path, does nothing when dropped, and on the common
//! path nothing is spawned. Without a tokio runtime the ballot is only
//! abandoned.
//!
//! The detached work is no longer counted by the limits around these layers
//! (its caller's concurrency permit is gone); what bounds it is the store's
//! own queue and transaction.
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

pub use broadcast::{AnnounceVoters, Broadcast, BroadcastLayer};
pub use cache::{Cache, CacheLayer};
pub use metrics::{Metrics, MetricsLayer};

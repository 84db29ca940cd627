//! Read-through results caching, kept fresh by every vote.
//!
//! On a [`ResultsRequest`](crate::service::ResultsRequest), [`Cache`] answers
//! from the [`ResultsCache`](crate::ResultsCache) when it can, and otherwise
//! asks the inner service and caches what it returns. On a
//! [`Ballot`](crate::Ballot) that was recorded, it puts the results the store
//! returned, so the next read sees this vote, even if the caller left before
//! the commit (see [post-commit effects](super#post-commit-effects-belong-to-the-commit-not-to-the-caller)).
//! Cache failures are logged and never fail the request: reads fall through
//! to the inner service. When a
//! `put` fails, the cache may keep an older version than the store (a cache
//! cut off rather than emptied): this process then reads that poll from the
//! inner service, and refreshes the cache, until a `put` succeeds.
//!
//! It counts every results read by source (cache hit, miss or error) in
//! [`RESULTS_READS_TOTAL`](crate::metrics::RESULTS_READS_TOTAL), and failed
//! `get`s and `put`s in [`CACHE_ERRORS_TOTAL`](crate::metrics::CACHE_ERRORS_TOTAL),
//! through the [`metrics`] facade.
//!
//! # Example
//!
//! ```
//! use polling_core::layer::CacheLayer;
//! use polling_core::memory::{MemoryCache, MemoryStore};
//! use polling_core::service::PollService;
//! use tower::ServiceBuilder;
//!
//! let service = ServiceBuilder::new()
//!     .layer(CacheLayer::new(MemoryCache::new()))
//!     .service(PollService::new(MemoryStore::new()));
//! # let _ = service;
//! ```

mod layer;
mod service;
mod stale;

pub use super::future::ResponseFuture;
pub use layer::CacheLayer;
pub use service::Cache;

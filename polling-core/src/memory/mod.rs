//! In-process implementations: the embedded default, and the reference the
//! other backends are tested against.
//!
//! # Example
//!
//! ```
//! use polling_core::memory::{LocalBroadcaster, MemoryCache, MemoryStore};
//!
//! let store = MemoryStore::new();
//! let cache = MemoryCache::new();
//! let broadcaster = LocalBroadcaster::new();
//! # let _ = (store, cache, broadcaster);
//! ```

mod broadcaster;
mod cache;
mod idempotency;
mod store;

pub use broadcaster::LocalBroadcaster;
pub use cache::MemoryCache;
pub use idempotency::MemoryIdempotencyStore;
pub use store::MemoryStore;

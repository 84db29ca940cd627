//! The [`tower::Layer`]s around the vote and results paths (DESIGN §3).
//!
//! | layer | on a ballot | on a results request |
//! |---|---|---|
//! | [`CacheLayer`] | after commit: `put` the returned results | read-through: cache, else inner then `put` |
//! | [`BroadcastLayer`] | after commit: publish the returned results | passes through |
//!
//! A failing cache or broadcaster never fails a vote that committed: the
//! failure is logged, and the version rule heals it with the next vote.
//! Stack them in this order, outermost first: cache, then broadcast, then the
//! [`PollService`](crate::service::PollService) (see its module example).

pub mod broadcast;
pub mod cache;
mod future;

pub use broadcast::{Broadcast, BroadcastLayer};
pub use cache::{Cache, CacheLayer};

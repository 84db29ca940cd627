//! Redis backends of **polling**: a results cache and a Pub/Sub broadcaster
//! that every replica of a server shares.
//!
//! | type | implements | what |
//! |---|---|---|
//! | [`RedisResultsCache`] | [`ResultsCache`](polling_core::ResultsCache) | each poll's newest results, versioned by a Lua compare-and-set |
//! | [`RedisBroadcaster`] | [`Broadcaster`](polling_core::Broadcaster) | results events over one Pub/Sub channel per poll |
//! | [`RedisRateLimiter`] | — | token buckets for rate limits, checked and charged by a Lua script |
//! | [`RedisConfig`] | — | key prefix, time to live, timeouts, reconnect delays |
//!
//! Both keep working through a Redis outage as the layers want
//! (`ARCHITECTURE.md#failures`): every
//! Redis failure is a [`PollError::Unavailable`](polling_core::PollError),
//! returned quickly (a dead Redis costs a vote at most about two
//! [response timeouts](RedisConfig::response_timeout)), which the layers log
//! and count without failing the vote; and both reconnect on their own when
//! Redis is back, the broadcaster then sending its subscribers a
//! [`Resync`](polling_core::ResultsEvent::Resync).
//!
//! # Keys and channels
//!
//! Everything lives under the [key prefix](RedisConfig::with_key_prefix),
//! `polling:` unless set:
//!
//! | name | type | content |
//! |---|---|---|
//! | `{prefix}results:{poll_id}` | hash, expires | `v`: the version, `json`: the results |
//! | `{prefix}poll:{poll_id}` | Pub/Sub channel | `ResultsEvent`s as JSON |
//! | `{prefix}rate:{name}` | string, expires | a rate-limit bucket's next arrival, µs on Redis' clock |
//!
//! # Redis Cluster
//!
//! Past one Redis node, each type has a `connect_cluster` constructor that
//! takes seed nodes of a Redis Cluster (7 or later) instead of one URL. The
//! keys then carry hash tags (`{prefix}results:{<poll_id>}`,
//! `{prefix}poll:{<poll_id>}`, `{prefix}rate:{<shard>}{name}`), so that a
//! poll's cached results and its channel live on the shard owning the poll's
//! slot, polls spread over the shards, and each Lua script touches one slot;
//! live results use sharded Pub/Sub (`SPUBLISH`/`SSUBSCRIBE`). After a
//! failover the commands find the promoted master on their own and the
//! broadcaster resubscribes and resyncs its polls (see
//! [`RedisBroadcaster`](RedisBroadcaster#redis-cluster)).
//!
//! # Example
//!
//! The tower stack (`ARCHITECTURE.md#tower-stack`) with both Redis backends (any
//! [`PollStore`](polling_core::PollStore) below them):
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use polling_cache_redis::{RedisBroadcaster, RedisConfig, RedisResultsCache};
//! use polling_core::layer::{BroadcastLayer, CacheLayer};
//! use polling_core::memory::MemoryStore;
//! use polling_core::service::PollService;
//! use polling_core::{Broadcaster, PollId};
//! use tower::ServiceBuilder;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> polling_core::Result<()> {
//! let url = "redis://127.0.0.1:6379/";
//! let config = RedisConfig::new().with_key_prefix("myapp:");
//! let cache = RedisResultsCache::connect(url, &config).await?;
//! let broadcaster = RedisBroadcaster::connect(url, &config).await?;
//!
//! let service = ServiceBuilder::new()
//!     .layer(CacheLayer::new(cache))
//!     .layer(BroadcastLayer::new(broadcaster.clone()))
//!     .service(PollService::new(MemoryStore::new()));
//!
//! // Votes cast on any replica reach this subscriber.
//! let mut events = broadcaster.subscribe(PollId::generate()).await?;
//! # let _ = (service, events.next());
//! # Ok(())
//! # }
//! ```
//!
//! # Tests
//!
//! The integration tests need Redis and run with the `redis-tests` feature:
//! a server at `127.0.0.1:6379` (or `REDIS_URL`), and `redis-server` on
//! `PATH` for the tests that start and kill their own.

#![cfg_attr(docsrs, feature(doc_cfg))]

// The README (the crate's page on crates.io) compiles and runs as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod broadcaster;
mod config;
mod connection;
mod keys;
mod pubsub;
mod rate_limiter;
mod results_cache;
mod sharded_pubsub;

pub use broadcaster::RedisBroadcaster;
pub use config::RedisConfig;
pub use rate_limiter::{RateBucket, RateDecision, RedisRateLimiter};
pub use results_cache::RedisResultsCache;

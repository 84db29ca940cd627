//! The core of **polling**: the domain of polls and votes, the traits every
//! backend implements, the vote and results paths as [`tower`] services with
//! their layers, and in-process implementations.
//!
//! | piece | what |
//! |---|---|
//! | [`access`] | who may see a poll's counts now: [`counts_access`](access::counts_access), for routes and live sockets alike |
//! | [`domain`] | [`Poll`], [`Method`], [`Ballot`] and its [`Marks`], [`Results`], [`VoteReceipt`], ids, validation, [secret polls](domain::secrecy) |
//! | [`tally`] | [`Tally`], the running sums of a poll's ballots, and the pure counts [`instant_runoff`] and [`star`] |
//! | [`PollStore`], [`ResultsCache`], [`Broadcaster`] | the traits backends implement |
//! | [`NearCache`] | each process's copy of the results it serves, fed by the broadcaster, in front of a shared cache |
//! | [`idempotency`] | [`IdempotencyStore`]: responses kept for safe retries (`Idempotency-Key`) |
//! | [`service`] | [`PollService`](service::PollService): ballots and results requests over a store |
//! | [`layer`] | [`MetricsLayer`](layer::MetricsLayer), [`CacheLayer`](layer::CacheLayer), [`BroadcastLayer`](layer::BroadcastLayer) |
//! | [`metrics`] | the names and labels of every metric, and [`describe`](metrics::describe) |
//! | [`relay`] | [`Relay`](relay::Relay) and its parts: the listening side of a broadcaster over Redis Pub/Sub or PostgreSQL `LISTEN`/`NOTIFY` |
//! | [`store_kit`] | for store implementers: [`Plan`](store_kit::Plan), [`Coalescer`](store_kit::Coalescer) and [`BatchWriter`](store_kit::BatchWriter), group commit of ballots |
//! | [`memory`] | [`MemoryStore`](memory::MemoryStore), [`MemoryCache`](memory::MemoryCache), [`LocalBroadcaster`](memory::LocalBroadcaster), [`MemoryIdempotencyStore`](memory::MemoryIdempotencyStore) |
//! | `testing` (feature) | the conformance suite every backend runs |
//!
//! This crate depends on no database and no HTTP framework; backends and the
//! server depend on it. See the [`service`] module for a composed stack.

#![cfg_attr(docsrs, feature(doc_cfg))]

// The README (the crate's page on crates.io) compiles and runs as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[macro_use]
mod macros;

pub mod access;
mod broadcaster;
mod cache;
pub mod domain;
mod error;
pub mod idempotency;
pub mod layer;
pub mod memory;
pub mod metrics;
mod near_cache;
pub mod relay;
pub mod service;
mod store;
pub mod store_kit;
pub mod tally;
#[cfg(feature = "testing")]
pub mod testing;

pub use broadcaster::{resyncing_stream, Broadcaster, EventStream};
pub use cache::ResultsCache;
pub use domain::{
    now, AnonymousBallot, Ballot, CastKind, CastOutcome, ManageToken, Marks, Method, NewPoll,
    OptionCount, OptionId, ParseIdError, Poll, PollDraft, PollId, PollOption, Results,
    ResultsEvent, TokenHash, Visibility, VoteReceipt, VoterId, VoterTag, MAX_SCORE,
};
// Invite-only polls.
#[doc(hidden)]
pub use time::OffsetDateTime as __OffsetDateTime;
#[doc(hidden)]
pub type __BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
pub use domain::{
    invite_room, Eligibility, Invite, InviteCode, InviteNonce, MAX_INVITES_PER_POLL,
    MAX_INVITES_PER_REQUEST,
};
pub use error::{AsPollError, BoxError, PollError, Result};
pub use idempotency::IdempotencyStore;
pub use near_cache::NearCache;
pub use store::{BallotStream, Page, PollStore};
pub use tally::{instant_runoff, star, RankedTally, Round, Runoff, StarSums, StarTally, Tally};

//! The integration tests of `polling-core`, one binary (a module per concern):
//! one link of the crate and its dependencies instead of one per file.

mod common;
mod conformance;
mod conformance_lists;
mod dropped_votes;
mod layers;
mod metrics;
mod near_cache;

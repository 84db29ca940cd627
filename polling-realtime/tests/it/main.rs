//! The integration tests of `polling-realtime`, one binary (a module per concern):
//! one link of the crate and its dependencies instead of one per file.

mod common;
mod delivery;
mod lifecycle;
mod metrics;
mod visibility;

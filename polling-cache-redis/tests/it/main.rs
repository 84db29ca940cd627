//! The integration tests of `polling-cache-redis`, one binary (a module per concern):
//! one link of the crate and its dependencies instead of one per file.

mod broadcaster;
mod cluster;
mod common;
mod conformance;
mod fault;
mod rate_limiter;
mod results_cache;

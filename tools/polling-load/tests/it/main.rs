//! The integration tests of `polling-load`, one binary (a module per concern):
//! one link of the crate and its dependencies instead of one per file.

mod audience;
mod common;
mod seed;

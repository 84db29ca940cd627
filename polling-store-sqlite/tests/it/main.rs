//! The integration tests of `polling-store-sqlite`, one binary (a module per
//! concern): one link of the crate and its dependencies instead of one per
//! file. Every file database is a temporary file, removed afterwards.

mod ballot_stream;
mod common;
mod concurrency;
mod conformance;
mod durability;
mod idempotency;

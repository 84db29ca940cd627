//! The integration tests of `polling-store-postgres`, one binary (a module per concern):
//! one link of the crate and its dependencies instead of one per file.

mod abandoned;
mod ballot_stream;
mod broadcaster;
mod conformance;
mod durability;
mod hot_poll;
mod idempotency;
mod invites;
mod partitions;
mod pgbouncer;

//! The operators' stack of `compose/`, run natively with the same files: the
//! compose file cannot run here (no Docker engine), so its nginx and
//! Prometheus configs are rendered with local addresses and run by the real
//! programs, and its Alloy log pipeline is applied to real log lines.
//!
//! * [`render`]: the nginx and Prometheus configs with local upstreams, the
//!   only lines that differ from the compose stack's.
//! * [`alloy`]: the fields the Alloy pipeline extracts from a log line.
//! * [`interpolate`]: compose-file variables, as `docker compose` reads them.
//! * [`process`]: what `/proc` says about the stack's processes and ports,
//!   and how each is stopped so that none outlives the stack.
//! * [`Stack`]: PostgreSQL and Redis (the machine's), three `polling-server`
//!   replicas, nginx and Prometheus, started together (`scripts/stack up`).

pub mod alloy;
mod interpolate;
pub mod process;
pub mod render;
mod stack;

pub use interpolate::interpolate;
pub use stack::{free_addr, get_status, Replica, Stack, StackOptions};

use std::path::PathBuf;

/// The repository's root (this crate's parent directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the stack crate lives in the repository")
        .to_path_buf()
}

/// The `compose/` directory.
pub fn compose_dir() -> PathBuf {
    repo_root().join("compose")
}

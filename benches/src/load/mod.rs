//! The parts of `polling-load`, the end-to-end load tool: an HTTP client,
//! the WebSocket watchers, the baseline server, one load run, the
//! statistics and their report, and seeding a fresh server.

pub(crate) mod baseline;
pub(crate) mod client;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod seed;
pub(crate) mod stats;
pub(crate) mod ws;

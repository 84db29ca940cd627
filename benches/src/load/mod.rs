//! The parts of `polling-load`, the end-to-end load tool: an HTTP client,
//! the WebSocket watchers, the baseline server, one load run, and the
//! statistics.

pub(crate) mod baseline;
pub(crate) mod client;
pub(crate) mod run;
pub(crate) mod stats;
pub(crate) mod ws;

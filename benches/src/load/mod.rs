//! The parts of `polling-load`, the end-to-end load tool: an HTTP client,
//! the WebSocket watchers, the baseline server, one load run, the
//! statistics and their report, seeding a fresh server, and the
//! live-audience scenario with its voters, screens and verdict.

pub(crate) mod audience;
pub(crate) mod baseline;
pub(crate) mod cancel;
pub(crate) mod client;
pub(crate) mod draw;
pub(crate) mod kill;
pub(crate) mod poll;
pub(crate) mod report;
pub(crate) mod retry;
pub(crate) mod run;
pub(crate) mod screen;
pub(crate) mod seed;
pub(crate) mod settle;
pub(crate) mod stats;
pub(crate) mod verdict;
pub(crate) mod voter;
pub(crate) mod ws;

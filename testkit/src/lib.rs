//! Test-only helpers shared by the workspace's integration tests: backends
//! failing for real, not mocks.
//!
//! * [`TcpProxy`]: forwards a local port to a real server (PostgreSQL, Redis)
//!   and can cut every connection and refuse new ones, then come back on the
//!   same port, as a server that goes down and returns would.

mod tcp_proxy;

pub use tcp_proxy::TcpProxy;

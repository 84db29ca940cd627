//! Test-only helpers shared by the workspace's integration tests: backends
//! failing for real, not mocks.
//!
//! * [`TcpProxy`]: forwards a local port to a real server (PostgreSQL, Redis)
//!   and can cut every connection and refuse new ones, then come back on the
//!   same port, as a server that goes down and returns would.
//! * [`RedisServer`]: a `redis-server` of the test's own, to kill, pause and
//!   restart on the same port.
//! * [`RedisCluster`]: a Redis Cluster of the test's own (three masters with a
//!   replica each), to spread keys over shards and to fail a master over.
//! * [`PgCluster`]: a PostgreSQL cluster of the test's own, to stop
//!   (immediately, as a crash) and restart on the same port.
//! * [`PgBouncer`]: a PgBouncer of the test's own in transaction mode, in
//!   front of a test's database, as operators put one in front of PostgreSQL.
//! * [`wait_for_lock_waiters`]: until a transaction the test blocked waits.

mod lock_waiters;
mod pg_cluster;
mod pgbouncer;
mod redis_cluster;
mod redis_server;
mod tcp_proxy;

pub use lock_waiters::wait_for_lock_waiters;
pub use pg_cluster::PgCluster;
pub use pgbouncer::PgBouncer;
pub use redis_cluster::RedisCluster;
pub use redis_server::RedisServer;
pub use tcp_proxy::TcpProxy;

//! Helpers shared by the integration tests: the Redis to use, unique key
//! prefixes, and a `redis-server` of a test's own that it can kill and restart.

// Each test crate uses a different part of this module.
#![allow(dead_code)]

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use polling_cache_redis::{RedisBroadcaster, RedisConfig, RedisResultsCache};
use polling_core::PollId;
use redis::aio::MultiplexedConnection;

/// The shared Redis of the tests: `REDIS_URL`, or the default local one.
pub(crate) fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned())
}

/// A key prefix no other test uses, so tests can share one Redis in parallel.
pub(crate) fn unique_prefix() -> String {
    format!("test:{}:", PollId::generate())
}

/// The default config, under a unique prefix.
pub(crate) fn test_config() -> RedisConfig {
    RedisConfig::new().with_key_prefix(unique_prefix())
}

/// A fresh cache on the shared Redis, under a unique prefix.
pub(crate) async fn fresh_cache() -> RedisResultsCache {
    RedisResultsCache::connect(&redis_url(), &test_config())
        .await
        .expect("connect the cache to the test Redis")
}

/// A fresh broadcaster on the shared Redis, under a unique prefix.
pub(crate) async fn fresh_broadcaster() -> RedisBroadcaster {
    RedisBroadcaster::connect(&redis_url(), &test_config())
        .await
        .expect("connect the broadcaster to the test Redis")
}

/// A plain connection to the Redis at `url`, to look behind the backends' backs.
pub(crate) async fn plain_connection(url: &str) -> MultiplexedConnection {
    redis::Client::open(url)
        .expect("a Redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to Redis")
}

/// Retries `check` every 20 ms until it returns `Some`, for at most `within`.
///
/// # Panics
///
/// When `within` passes first; `what` names the awaited condition.
pub(crate) async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A `redis-server` child process on a port of its own, killed when dropped.
pub(crate) struct RedisServer {
    /// The port it listens on, kept across restarts.
    port: u16,
    /// The running server; `None` while killed.
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free port and waits until it accepts connections.
    pub(crate) fn start() -> Self {
        // Bind port 0 for a free port, then free it for the server.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("find a free port")
            .port();
        let mut server = Self { port, child: None };
        server.restart();
        server
    }

    /// The URL of the server.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (SIGKILL: no goodbye to its clients) and waits for it.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server (SIGSTOP) without closing its connections: a stalled
    /// Redis, which answers nothing until [`RedisServer::resume`].
    pub(crate) fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server go on (SIGCONT).
    pub(crate) fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the server is running");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} failed");
    }

    /// Starts the server again on the same port, and waits until it accepts
    /// connections.
    pub(crate) fn restart(&mut self) {
        self.kill();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server (is it on PATH?)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on port {} within 10 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

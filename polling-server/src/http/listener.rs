//! [`bind`]: the server's listening socket, with an accept queue for a
//! reconnect storm.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

/// Connections the kernel completes and queues before the server accepts
/// them (the kernel caps it at `net.core.somaxconn`).
///
/// `TcpListener::bind` asks for 128, as the standard library does. When a
/// room's live sockets all come back at once (a replica restart, an nginx
/// reload), every connection past that queue had its handshake dropped and
/// retried by the client a second later: the fan-out bench saw votes wait
/// 1.0 s while 1,000 sockets opened.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` for [`run`](crate::run) with a [`LISTEN_BACKLOG`]-long
/// accept queue (and `SO_REUSEADDR`, as the standard library sets it, so a
/// restarted server binds while the old one's connections linger).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let listener = polling_server::bind("127.0.0.1:0".parse().unwrap())?;
/// assert!(listener.local_addr()?.port() > 0);
/// # Ok(())
/// # }
/// ```
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The kernel's cap on accept queues here.
    fn somaxconn() -> usize {
        std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(128)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_storm_of_connections_is_queued_while_nothing_accepts() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        // Past 128 (the standard library's queue), within the kernel's cap.
        let storm = somaxconn().min(1_000) - 8;
        assert!(
            storm > 128,
            "somaxconn is too small to tell: {}",
            somaxconn()
        );
        let connects = (0..storm).map(|_| {
            // A dropped handshake is retried after a second: a connection
            // still pending after three was never queued.
            tokio::time::timeout(Duration::from_secs(3), tokio::net::TcpStream::connect(addr))
        });
        let results = futures_util::future::join_all(connects).await;
        let queued = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
        assert_eq!(queued, storm, "every connection of the storm was queued");
        drop(listener);
    }
}

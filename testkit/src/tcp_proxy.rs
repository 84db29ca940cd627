//! [`TcpProxy`]: a TCP forwarder that can go down and come back.

use std::io;
use std::net::SocketAddr;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// Forwards connections from a local port to `upstream`.
///
/// [`cut`](TcpProxy::cut) closes every forwarded connection and stops
/// listening, so clients see resets and then "connection refused", as when the
/// upstream server dies. [`restore`](TcpProxy::restore) listens again on the
/// same port. Dropping the proxy cuts it.
#[derive(Debug)]
pub struct TcpProxy {
    /// The local address clients connect to; stable across cut and restore.
    addr: SocketAddr,
    upstream: SocketAddr,
    /// The accept loop, which owns every forwarding task: aborting it closes
    /// them all.
    running: Option<tokio::task::JoinHandle<()>>,
}

impl TcpProxy {
    /// Starts forwarding from a free port on 127.0.0.1 to `upstream`.
    pub async fn start(upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        Ok(Self {
            addr,
            upstream,
            running: Some(tokio::spawn(forward(listener, upstream))),
        })
    }

    /// The address to connect to instead of the upstream.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every connection and refuses new ones.
    pub async fn cut(&mut self) {
        if let Some(running) = self.running.take() {
            running.abort();
            // Wait until the listener and the connections are really closed.
            let _ = running.await;
        }
    }

    /// Listens again on the same port (retrying while the port is in
    /// TIME_WAIT or similar for up to 5 s).
    pub async fn restore(&mut self) -> io::Result<()> {
        if self.running.is_some() {
            return Ok(());
        }
        let mut attempts = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(error) if attempts < 100 => {
                    attempts += 1;
                    let _ = error;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(error) => return Err(error),
            }
        };
        self.running = Some(tokio::spawn(forward(listener, self.upstream)));
        Ok(())
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.abort();
        }
    }
}

async fn forward(listener: TcpListener, upstream: SocketAddr) {
    // Dropping the set (when this task is aborted) aborts every connection.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((mut client, _)) = accepted else { continue };
                connections.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0; 64];
                    while let Ok(n @ 1..) = socket.read(&mut buf).await {
                        if socket.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn round_trip(addr: SocketAddr) -> io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(b"ping").await?;
        let mut buf = [0; 4];
        stream.read_exact(&mut buf).await?;
        Ok(buf.to_vec())
    }

    #[tokio::test]
    async fn a_cut_proxy_refuses_and_a_restored_one_forwards_again() {
        let mut proxy = TcpProxy::start(echo_server().await).await.unwrap();
        assert_eq!(round_trip(proxy.addr()).await.unwrap(), b"ping");

        let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
        proxy.cut().await;
        assert!(round_trip(proxy.addr()).await.is_err());
        let mut buf = [0; 1];
        let read = open.read(&mut buf).await;
        assert!(
            matches!(read, Ok(0) | Err(_)),
            "an open connection is closed"
        );

        proxy.restore().await.unwrap();
        assert_eq!(round_trip(proxy.addr()).await.unwrap(), b"ping");
    }
}

//! [`probe_ready`]: `polling-server --probe-ready`, a container healthcheck
//! needing nothing but the binary.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the probe waits for the whole exchange.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Asks the server listening on `listen` for `GET /readyz`: `Ok` when it
/// answers 200, else why not.
///
/// A wildcard listen address (`0.0.0.0`, `::`) is probed on loopback.
pub async fn probe_ready(listen: SocketAddr) -> Result<(), String> {
    let mut target = listen;
    if target.ip().is_unspecified() {
        target.set_ip(match target {
            SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    let exchange = async {
        let mut stream = TcpStream::connect(target).await?;
        let request =
            format!("GET /readyz HTTP/1.1\r\nhost: {target}\r\nconnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(PROBE_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("{target}: no answer within {PROBE_TIMEOUT:?}"))?
        .map_err(|e| format!("{target}: {e}"))?;
    let head = String::from_utf8_lossy(&response);
    let status_line = head.lines().next().unwrap_or_default();
    if status_line.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(format!("{target}: /readyz answered {status_line:?}"))
    }
}

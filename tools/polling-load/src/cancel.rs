//! A request its client gives up on: sent in full over a connection of its
//! own, which is then dropped before the answer is read (a browser tab
//! closed, a phone going into a tunnel).

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::client::{connect_error, Target, REQUEST_TIMEOUT};

/// POSTs the JSON `body` to `path` with `cookie` (if any), waits `after`,
/// and drops the connection without reading a byte of the answer. `Err` when
/// the request could not be sent in full (then it was never made).
pub(crate) async fn post_and_drop(
    target: &Target,
    path: &str,
    body: &[u8],
    cookie: Option<&str>,
    after: Duration,
) -> Result<(), String> {
    let request = request_bytes(target, path, body, cookie);
    let send = async {
        let mut stream = TcpStream::connect(target.address())
            .await
            .map_err(|e| connect_error(e.kind()))?;
        stream.set_nodelay(true).ok();
        stream
            .write_all(&request)
            .await
            .map_err(|e| format!("send: {}", e.kind()))?;
        stream
            .flush()
            .await
            .map_err(|e| format!("send: {}", e.kind()))?;
        Ok::<_, String>(stream)
    };
    let stream = tokio::time::timeout(REQUEST_TIMEOUT, send)
        .await
        .unwrap_or_else(|_| Err("timeout".into()))?;
    tokio::time::sleep(after).await;
    drop(stream);
    Ok(())
}

/// The whole HTTP/1.1 request, head and body.
fn request_bytes(target: &Target, path: &str, body: &[u8], cookie: Option<&str>) -> Vec<u8> {
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        target.authority(),
        body.len()
    );
    if let Some(cookie) = cookie {
        head.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    head.push_str("\r\n");
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_complete_http() {
        let target = Target::parse("http://127.0.0.1:9/").unwrap();
        let bytes = request_bytes(
            &target,
            "/api/polls/x/votes",
            b"{}",
            Some("polling_voter=v"),
        );
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("POST /api/polls/x/votes HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"));
        assert!(text.contains("Content-Length: 2\r\n"));
        assert!(text.ends_with("Cookie: polling_voter=v\r\n\r\n{}"));
    }
}

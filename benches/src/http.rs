//! A minimal HTTP/1.1 client for the benchmarks that drive the server over
//! loopback: one kept-alive connection per worker, JSON bodies.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One kept-alive HTTP/1.1 connection.
pub type Sender = http1::SendRequest<Full<Bytes>>;

/// Opens a connection to `addr` (no Nagle delay), its driver spawned.
///
/// # Panics
///
/// When `addr` does not accept or the handshake fails.
pub async fn connect(addr: SocketAddr) -> Sender {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).ok();
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    sender
}

/// `POST path` with the JSON `body` on `sender`: the status and the body.
///
/// # Panics
///
/// When the connection fails.
pub async fn post(sender: &mut Sender, addr: SocketAddr, path: &str, body: Bytes) -> (u16, Bytes) {
    let request = hyper::Request::post(path)
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .body(Full::new(body))
        .expect("a request");
    let response = sender.send_request(request).await.expect("an answer");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    (status, body)
}

/// Creates the poll `draft` (JSON) on the server at `addr`; its id.
///
/// # Panics
///
/// When the server does not answer 201 with an id.
pub async fn create_poll(addr: SocketAddr, draft: &'static [u8]) -> String {
    let mut sender = connect(addr).await;
    let (status, body) = post(&mut sender, addr, "/api/polls", Bytes::from_static(draft)).await;
    assert_eq!(status, 201, "creating a poll");
    let poll: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    poll["id"].as_str().expect("an id").to_owned()
}

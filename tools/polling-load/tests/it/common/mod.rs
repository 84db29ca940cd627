//! Helpers shared by the `polling-load` tests: an embedded server on a free
//! port, and a plain HTTP/1.1 GET.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use polling_server::App;
use tokio::net::TcpListener;

/// Serves `app` (such as the embedded [`App::in_process`]) on a free port,
/// on a runtime of its own.
pub(crate) fn start_app(app: App) -> SocketAddr {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let listener = runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("a free port");
    let address = listener.local_addr().expect("its address");
    std::thread::spawn(move || {
        runtime.block_on(polling_server::run(listener, app, std::future::pending()));
    });
    address
}

/// `GET path` over a fresh connection; the body as JSON.
pub(crate) fn get_json(address: SocketAddr, path: &str) -> serde_json::Value {
    let mut stream = TcpStream::connect(address).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("a full response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body).expect("a JSON body")
}

//! The ceiling: a minimal hyper server answering every request with a fixed
//! small JSON body, on its own runtime as a separate server would be.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::mpsc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Starts the server on `127.0.0.1:0` in a thread of its own with a
/// multi-threaded runtime of `workers` threads; it runs until the process
/// ends. Returns its address.
pub(crate) fn start(workers: usize) -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let (started, running) = mpsc::channel();
    std::thread::Builder::new()
        .name("baseline".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers.max(1))
                .enable_all()
                .build();
            let served = runtime.and_then(|runtime| {
                let listener = runtime.block_on(async { TcpListener::from_std(listener) })?;
                let _ = started.send(Ok(()));
                runtime.block_on(serve(listener));
                Ok(())
            });
            if let Err(e) = served {
                let _ = started.send(Err(e));
            }
        })?;
    running
        .recv()
        .map_err(|_| std::io::Error::other("the baseline thread ended"))??;
    Ok(address)
}

/// Accepts connections forever, serving each with [`answer`].
async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        stream.set_nodelay(true).ok();
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}

/// Reads the request body and answers `{"ok":true}`: 201 to a POST, 200
/// otherwise.
async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let status = if request.method() == Method::POST {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let _ = request.into_body().collect().await;
    let mut response = Response::new(Full::new(Bytes::from_static(br#"{"ok":true}"#)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

//! Helpers shared by the integration tests: a [`TestServer`] on a free port
//! and a small HTTP/1.1 [`Client`] that keeps its voter cookie, so one client
//! is one voter.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub(crate) mod process;

/// Generates one test per backend for each scenario `async fn name(app: App)`
/// in the calling file: `memory::name` on an in-process app,
/// `sqlite::name` on a fresh SQLite file (see [`sqlite_app`]) and
/// `postgres::name` on a fresh `#[sqlx::test]` PostgreSQL database (see
/// [`postgres_app`]). (Named when there were two.) Bring it into scope with
/// `#[macro_use] mod common;`.
// Only some test binaries run their scenarios on both backends.
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(polling_server::App::builder()).await;
                }
            )+
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    // The file lives as long as the test.
                    let (app, _file) = crate::common::sqlite_app().await;
                    super::$name(app).await;
                }
            )+
        }
        mod postgres {
            use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
            $(
                #[sqlx::test]
                async fn $name(_options: PgPoolOptions, connect: PgConnectOptions) {
                    super::$name(crate::common::postgres_app(&connect).await).await;
                }
            )+
        }
    };
}

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use hyper::client::conn::http1;
use hyper::header::{CONTENT_TYPE, COOKIE, HOST, SET_COOKIE};
use hyper::{HeaderMap, Method, StatusCode};
use hyper_util::rt::TokioIo;
use polling_server::App;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The cookie the server keeps the voter id in.
pub(crate) const VOTER_COOKIE: &str = "polling_voter";

/// A server running [`polling_server::run`] on `127.0.0.1:0`; it is asked to
/// shut down when dropped.
#[derive(Debug)]
pub(crate) struct TestServer {
    /// Where the server listens.
    addr: SocketAddr,
    /// Completes the shutdown future given to `run`.
    shutdown: Option<oneshot::Sender<()>>,
    /// The task running `run`; it ends when `run` returns.
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server over an in-process [`App`].
    pub(crate) async fn start() -> Self {
        Self::with_app(App::in_process()).await
    }

    /// Starts a server over `app`.
    pub(crate) async fn with_app(app: impl Into<App>) -> Self {
        let app = app.into();
        // As the binary does: /metrics renders this process's recorder.
        polling_server::telemetry::install_recorder();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port on 127.0.0.1");
        let addr = listener.local_addr().expect("the listener's address");
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(polling_server::run(listener, app, async move {
            // A dropped sender stops the server too.
            let _ = signal.await;
        }));
        Self {
            addr,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// The address the server listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A new client, that is a new voter.
    pub(crate) fn client(&self) -> Client {
        Client::new(self.addr)
    }

    /// Triggers graceful shutdown and hands over the task running `run`,
    /// which ends when `run` returns.
    pub(crate) fn shutdown(&mut self) -> JoinHandle<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.task.take().expect("the server was already shut down")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A request to send with a [`Client`]: method, path, headers and a raw body.
#[derive(Debug)]
pub(crate) struct Request {
    /// The method.
    method: Method,
    /// The path and query, as sent on the request line.
    path: String,
    /// Extra headers, in order.
    headers: Vec<(String, String)>,
    /// The body, sent as is.
    body: RawBody,
}

impl Request {
    /// A request with no headers and an empty body.
    pub(crate) fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: RawBody::full(Bytes::new()),
        }
    }

    /// `GET path`.
    pub(crate) fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// `POST path`.
    pub(crate) fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }

    /// `DELETE path`.
    pub(crate) fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Adds `Authorization: Bearer <token>`.
    pub(crate) fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// Sends `value` as the body, with `Content-Type: application/json`.
    pub(crate) fn json(self, value: &Value) -> Self {
        let body = serde_json::to_vec(value).expect("a JSON value serializes");
        self.header("content-type", "application/json").body(body)
    }

    /// Sends `bytes` as the body, with a `Content-Length`.
    pub(crate) fn body(mut self, bytes: impl Into<Bytes>) -> Self {
        self.body = RawBody::full(bytes.into());
        self
    }

    /// Sends `chunks` as the body with `Transfer-Encoding: chunked` and no
    /// `Content-Length`.
    pub(crate) fn chunked(mut self, chunks: Vec<Bytes>) -> Self {
        self.body = RawBody::Chunks {
            chunks: chunks.into_iter().filter(|c| !c.is_empty()).collect(),
            exact: None,
        };
        self.header("transfer-encoding", "chunked")
    }

    /// Sends the body as chunked, each chunk when it arrives on `chunks`;
    /// the body ends when the sender is dropped.
    pub(crate) fn streamed(mut self, chunks: mpsc::Receiver<Bytes>) -> Self {
        self.body = RawBody::Channel(chunks);
        self.header("transfer-encoding", "chunked")
    }
}

/// A request body: fixed chunks (with or without a known length) or chunks
/// arriving on a channel.
#[derive(Debug)]
enum RawBody {
    /// Chunks known up front; `exact` is the length when there is one.
    Chunks {
        chunks: VecDeque<Bytes>,
        exact: Option<u64>,
    },
    /// Chunks sent later by the test.
    Channel(mpsc::Receiver<Bytes>),
}

impl RawBody {
    fn full(bytes: Bytes) -> Self {
        let exact = Some(bytes.len() as u64);
        let chunks = if bytes.is_empty() {
            VecDeque::new()
        } else {
            VecDeque::from([bytes])
        };
        Self::Chunks { chunks, exact }
    }
}

impl hyper::body::Body for RawBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Self::Chunks { chunks, .. } => {
                Poll::Ready(chunks.pop_front().map(|c| Ok(Frame::data(c))))
            }
            Self::Channel(rx) => rx.poll_recv(cx).map(|c| c.map(|c| Ok(Frame::data(c)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Chunks { chunks, exact } => exact.is_some() && chunks.is_empty(),
            Self::Channel(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Chunks {
                exact: Some(len), ..
            } => SizeHint::with_exact(*len),
            _ => SizeHint::default(),
        }
    }
}

/// What the server answered.
#[derive(Clone, Debug)]
pub(crate) struct Response {
    /// The status.
    pub(crate) status: StatusCode,
    /// The headers.
    pub(crate) headers: HeaderMap,
    /// The whole body.
    pub(crate) body: Bytes,
}

impl Response {
    /// The body as JSON; panics with the body's text if it is not.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} answered a body that is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `error.code` of a JSON error body.
    pub(crate) fn error_code(&self) -> String {
        let body = self.json();
        body["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("{} has no error.code: {body}", self.status))
            .to_owned()
    }

    /// The header `name` as text, if present.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts this is a JSON error with `status` and `code` and a message;
    /// returns the body.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, code: &str) -> Value {
        let body = self.json();
        assert_eq!(
            (self.status.as_u16(), body["error"]["code"].as_str()),
            (status, Some(code)),
            "unexpected answer: {body}"
        );
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "error without a message: {body}");
        assert!(
            self.header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "error without a JSON content type: {:?}",
            self.headers
        );
        body
    }

    /// Asserts the status is `status`; returns the body as JSON.
    #[track_caller]
    pub(crate) fn assert_json(&self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {}",
            String::from_utf8_lossy(&self.body)
        );
        self.json()
    }
}

/// An HTTP/1.1 client, one connection per request, that remembers the
/// `polling_voter` cookie the server sets: one client is one voter. Clones
/// share the cookie.
#[derive(Clone, Debug)]
pub(crate) struct Client {
    /// The server's address.
    addr: SocketAddr,
    /// The voter id, once the server has issued one.
    voter: Arc<Mutex<Option<String>>>,
}

impl Client {
    /// A client of the server at `addr`, with no cookie yet.
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            voter: Arc::new(Mutex::new(None)),
        }
    }

    /// The same voter (sharing the cookie) talking to the server at `addr`,
    /// as a browser behind a load balancer reaches several replicas.
    pub(crate) fn at(&self, addr: SocketAddr) -> Self {
        Self {
            addr,
            voter: Arc::clone(&self.voter),
        }
    }

    /// The voter id the server issued to this client, if any.
    pub(crate) fn voter_id(&self) -> Option<String> {
        self.voter.lock().unwrap().clone()
    }

    /// Sends `request`; panics if the exchange fails.
    pub(crate) async fn send(&self, request: Request) -> Response {
        let what = format!("{} {}", request.method, request.path);
        self.try_send(request)
            .await
            .unwrap_or_else(|e| panic!("{what} failed: {e}"))
    }

    /// Sends `request` over a new connection, with the voter cookie if one
    /// was issued; remembers the cookie the server sets.
    pub(crate) async fn try_send(&self, request: Request) -> Result<Response, BoxError> {
        let stream = TcpStream::connect(self.addr).await?;
        let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        let connection = tokio::spawn(connection);

        let mut builder = hyper::Request::builder()
            .method(request.method)
            .uri(request.path);
        let has = |header: &hyper::header::HeaderName| {
            request
                .headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case(header.as_str()))
        };
        let has_cookie = has(&COOKIE);
        if !has(&HOST) {
            builder = builder.header(HOST, self.addr.to_string());
        }
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        if let (false, Some(voter)) = (has_cookie, self.voter_id()) {
            builder = builder.header(COOKIE, format!("{VOTER_COOKIE}={voter}"));
        }
        let response = sender.send_request(builder.body(request.body)?).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        drop(sender);
        let _ = connection.await;

        if let Some(voter) = voter_from(&parts.headers) {
            *self.voter.lock().unwrap() = Some(voter);
        }
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// `GET path`.
    pub(crate) async fn get(&self, path: &str) -> Response {
        self.send(Request::get(path)).await
    }

    /// `POST path` with `body` as JSON.
    pub(crate) async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.send(Request::post(path).json(body)).await
    }

    /// Casts `choices` in poll `poll_id`.
    pub(crate) async fn vote(&self, poll_id: &str, choices: &[u32]) -> Response {
        self.post_json(
            &format!("/api/polls/{poll_id}/votes"),
            &json!({ "choices": choices }),
        )
        .await
    }
}

/// Any error of an exchange.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The voter id in a `Set-Cookie: polling_voter=...` header, if any.
pub(crate) fn voter_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == VOTER_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// A valid single-choice draft with the given options.
pub(crate) fn draft(options: &[&str]) -> Value {
    json!({ "question": "Tabs or spaces?", "options": options })
}

/// Creates a poll from `draft` (see [`draft`]) as `client`; returns the poll
/// as the server answered it, without its manage token, and the token.
pub(crate) async fn create_poll(client: &Client, draft: Value) -> (Value, String) {
    let response = client.post_json("/api/polls", &draft).await;
    let mut poll = response.assert_json(201);
    let token = poll
        .as_object_mut()
        .and_then(|poll| poll.remove("manage_token"))
        .and_then(|token| token.as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no manage_token in {poll}"));
    (poll, token)
}

/// `GET /api/polls/{id}/results` as `client`, which must answer 200.
pub(crate) async fn results_of(client: &Client, id: &str) -> Value {
    client
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200)
}

/// Each option's `votes` in results as JSON, in option order.
pub(crate) fn votes_of(results: &Value) -> Vec<u64> {
    results["counts"]
        .as_array()
        .unwrap_or_else(|| panic!("no counts in {results}"))
        .iter()
        .map(|c| c["votes"].as_u64().expect("votes"))
        .collect()
}

/// The `id` of a poll as JSON.
pub(crate) fn id_of(poll: &Value) -> String {
    poll["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {poll}"))
        .to_owned()
}

/// Whether the content type of `headers` is JSON.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"))
}

/// The URL of the database `connect` names (an `#[sqlx::test]` database),
/// reached at 127.0.0.1:`port`, which may be a proxy's.
pub(crate) fn database_url(connect: &sqlx::postgres::PgConnectOptions, port: u16) -> String {
    format!(
        "postgres://{}@127.0.0.1:{port}/{}",
        connect.get_username(),
        connect
            .get_database()
            .expect("sqlx::test names its database"),
    )
}

/// The server's backends on the `#[sqlx::test]` database `connect` names
/// (polls, ballots and idempotency keys in PostgreSQL), as an
/// [`AppBuilder`](polling_server::AppBuilder) to add settings to.
pub(crate) async fn postgres_app(
    connect: &sqlx::postgres::PgConnectOptions,
) -> polling_server::AppBuilder {
    use clap::Parser;
    let url = database_url(connect, connect.get_port());
    let config = polling_server::Config::try_parse_from([
        "polling-server",
        "--database-url",
        &url,
        "--database-pool-size",
        "4",
        "--startup-timeout",
        "5s",
    ])
    .expect("a valid configuration");
    let backends = polling_server::Backends::connect(&config)
        .await
        .expect("the PostgreSQL backends connect");
    assert_eq!(backends.kinds.store, "postgres");
    assert_eq!(backends.kinds.idempotency, "postgres");
    backends.into_builder()
}

/// The server's backends on a fresh SQLite file (polls, ballots and
/// idempotency keys), as `--database-url sqlite://FILE` opens it, as an
/// [`AppBuilder`](polling_server::AppBuilder) to add settings to, and the
/// temporary directory holding the file, removed when dropped.
pub(crate) async fn sqlite_app() -> (polling_server::AppBuilder, tempfile::TempDir) {
    use clap::Parser;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("polls.db").display());
    let config = polling_server::Config::try_parse_from(["polling-server", "--database-url", &url])
        .expect("a valid configuration");
    let backends = polling_server::Backends::connect(&config)
        .await
        .expect("the SQLite backends open");
    assert_eq!(backends.kinds.store, "sqlite");
    assert_eq!(backends.kinds.idempotency, "sqlite");
    (backends.into_builder(), dir)
}

/// A live results socket, as tokio-tungstenite opens it.
pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// The next text message of a live socket as JSON, within 5 s (answering
/// nothing: tungstenite answers pings itself).
pub(crate) async fn next_message(socket: &mut Socket) -> Value {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
            .await
            .expect("a message within 5 s")
            .expect("the socket stays open")
            .expect("a well-formed frame");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).expect("JSON messages"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// A client that has its voter cookie (from reading the poll), and that
/// cookie.
pub(crate) async fn voter_with_cookie(server: &TestServer, poll: &str) -> (Client, String) {
    let client = server.client();
    client
        .get(&format!("/api/polls/{poll}"))
        .await
        .assert_json(200);
    let cookie = client.voter_id().expect("a voter cookie");
    (client, cookie)
}

/// Asserts the socket gets no text message within `wait` (pings aside).
pub(crate) async fn assert_no_message(socket: &mut Socket, wait: std::time::Duration) {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return,
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(other) => panic!("expected no message, got {other:?}"),
        }
    }
}

/// Asserts `message` is `hidden` for `visibility`, with no counts at all.
#[track_caller]
pub(crate) fn assert_hidden(message: &Value, visibility: &str) {
    assert_eq!(
        message,
        &json!({ "type": "hidden", "visibility": visibility }),
        "a hidden socket learns the rule and nothing else"
    );
}

/// The Redis every test shares (each under a prefix of its own).
pub(crate) const REDIS: &str = "127.0.0.1:6379";

/// A replica's configuration: the `#[sqlx::test]` database `connect` names,
/// and [`REDIS`] under `prefix`.
pub(crate) fn postgres_redis_config(
    connect: &sqlx::postgres::PgConnectOptions,
    prefix: &str,
) -> polling_server::Config {
    use clap::Parser;
    let database = database_url(connect, connect.get_port());
    polling_server::Config::try_parse_from([
        "polling-server",
        "--database-url",
        &database,
        "--redis-url",
        &format!("redis://{REDIS}/"),
        "--redis-prefix",
        prefix,
        "--startup-timeout",
        "5s",
    ])
    .expect("a valid configuration")
}

/// The refusal a handshake got: status and error code.
pub(crate) fn handshake_refusal(error: tokio_tungstenite::tungstenite::Error) -> (u16, String) {
    match error {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            let body: Value = response
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            let code = body["error"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            (response.status().as_u16(), code)
        }
        other => panic!("expected an HTTP refusal, got {other}"),
    }
}

/// Everything the server sends until it closes the connection (at most 5 s).
pub(crate) async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let mut buffer = [0u8; 4096];
        loop {
            match tokio::io::AsyncReadExt::read(stream, &mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open for 5 s");
    String::from_utf8_lossy(&answer).into_owned()
}

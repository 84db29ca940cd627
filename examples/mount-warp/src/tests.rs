//! The example's server on a free port, driven by a real HTTP client.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{CONTENT_TYPE, HOST, LOCATION, SET_COOKIE, WWW_AUTHENTICATE};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use polling_server::App;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::auth::{Sessions, SESSION_HEADER};
use crate::server::serve;

/// The session token the tests sign in with.
const TOKEN: &str = "test-session";

/// The example's server on `127.0.0.1:0`.
struct Server {
    /// Where it listens.
    addr: SocketAddr,
    /// Completes its shutdown future.
    shutdown: oneshot::Sender<()>,
    /// The task serving; it ends once shut down.
    task: JoinHandle<()>,
}

impl Server {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (shutdown, signal) = oneshot::channel::<()>();
        let sessions = Sessions::new([(TOKEN, "ada")]);
        let task = tokio::spawn(serve(listener, App::in_process(), sessions, async {
            let _ = signal.await;
        }));
        Self {
            addr,
            shutdown,
            task,
        }
    }

    async fn stop(self) {
        let _ = self.shutdown.send(());
        self.task.await.unwrap();
    }

    /// Sends one request on a connection of its own; `session` adds the
    /// session header, `body` a JSON body.
    async fn send(
        &self,
        method: Method,
        path: &str,
        session: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.addr.to_string());
        if let Some(token) = session {
            request = request.header(SESSION_HEADER, token);
        }
        let body = match body {
            Some(value) => {
                request = request.header(CONTENT_TYPE, "application/json");
                Bytes::from(serde_json::to_vec(&value).unwrap())
            }
            None => Bytes::new(),
        };
        let response = sender
            .send_request(request.body(Full::new(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            json,
        }
    }
}

/// What a request got back.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    /// The body as JSON; `Null` when it is not JSON.
    json: Value,
}

impl Answer {
    fn header(&self, name: impl hyper::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    fn assert_unauthorized(&self) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{self:?}");
        assert_eq!(self.json["error"]["code"], "unauthorized", "{self:?}");
        assert!(self.json["error"]["message"].is_string(), "{self:?}");
        assert!(self.header(WWW_AUTHENTICATE).is_some(), "{self:?}");
    }
}

fn draft() -> Value {
    json!({ "question": "Tea or coffee?", "options": ["Tea", "Coffee"] })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_a_known_session_are_refused_before_polling_sees_them() {
    let server = Server::start().await;
    for session in [None, Some("not-a-session"), Some("")] {
        server
            .send(Method::POST, "/polling/api/polls", session, Some(draft()))
            .await
            .assert_unauthorized();
        server
            .send(Method::GET, "/polling/api/polls", session, None)
            .await
            .assert_unauthorized();
        // Paths the polling API does not know are refused all the same:
        // nothing under the prefix is answered to a stranger.
        server
            .send(Method::GET, "/polling/healthz", session, None)
            .await
            .assert_unauthorized();
    }
    // None of the refused creations reached the store.
    let list = server
        .send(Method::GET, "/polling/api/polls", Some(TOKEN), None)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    assert_eq!(list.json["polls"], json!([]), "{list:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_user_creates_votes_and_reads_results_under_the_prefix() {
    let server = Server::start().await;
    let created = server
        .send(
            Method::POST,
            "/polling/api/polls",
            Some(TOKEN),
            Some(draft()),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let id = created.json["id"]
        .as_str()
        .expect("the poll's id")
        .to_owned();
    assert_eq!(
        created.header(LOCATION),
        Some(format!("/polling/api/polls/{id}").as_str())
    );
    assert!(created.json["manage_token"].is_string(), "{created:?}");

    // Three voters (each request comes without the voter cookie, so each
    // is a new voter): two for coffee, one for tea.
    let votes = format!("/polling/api/polls/{id}/votes");
    for choice in [1, 0, 1] {
        let vote = server
            .send(
                Method::POST,
                &votes,
                Some(TOKEN),
                Some(json!({ "choices": [choice] })),
            )
            .await;
        assert_eq!(vote.status, StatusCode::CREATED, "{vote:?}");
        assert!(
            vote.header(SET_COOKIE).is_some(),
            "a voter cookie: {vote:?}"
        );
        assert_eq!(vote.json["receipt"]["choices"], json!([choice]), "{vote:?}");
    }
    // Voting needs a session like everything else under the prefix.
    server
        .send(Method::POST, &votes, None, Some(json!({ "choices": [0] })))
        .await
        .assert_unauthorized();

    let results = server
        .send(
            Method::GET,
            &format!("/polling/api/polls/{id}/results"),
            Some(TOKEN),
            None,
        )
        .await;
    assert_eq!(results.status, StatusCode::OK, "{results:?}");
    assert_eq!(results.json["total"], 3, "{results:?}");
    assert_eq!(results.json["version"], 3, "{results:?}");
    let votes: Vec<&Value> = results.json["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .map(|count| &count["votes"])
        .collect();
    assert_eq!(votes, [&json!(1), &json!(2)], "{results:?}");

    // The polling API's own refusals still come from it, inside the prefix.
    let unknown = server
        .send(Method::GET, "/polling/api/nope", Some(TOKEN), None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{unknown:?}");
    assert_eq!(unknown.json["error"]["code"], "route_not_found");
    // And the API is only there: not at the root.
    let outside = server
        .send(Method::GET, &format!("/api/polls/{id}"), Some(TOKEN), None)
        .await;
    assert_eq!(outside.status, StatusCode::NOT_FOUND, "{outside:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_applications_own_routes_answer_beside_the_mounted_api() {
    let server = Server::start().await;
    let health = server.send(Method::GET, "/health", None, None).await;
    assert_eq!(health.status, StatusCode::OK, "{health:?}");
    assert_eq!(health.json, json!({ "status": "ok" }));

    let me = server.send(Method::GET, "/me", Some(TOKEN), None).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    assert_eq!(me.json, json!({ "user": "ada" }));
    server
        .send(Method::GET, "/me", None, None)
        .await
        .assert_unauthorized();

    let unknown = server.send(Method::GET, "/nowhere", None, None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{unknown:?}");
    assert_eq!(unknown.json["error"]["code"], "route_not_found");
    server.stop().await;
}

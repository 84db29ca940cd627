//! The response contract over real HTTP: every answer, the refusals made
//! before the routes (429 rate limit, 503 cap on requests in flight) and
//! those the routes make (413, 404, 405, 408) as much as a 200, carries
//! `X-Served-By`, `X-Request-Id` and each security header exactly once.

use std::time::Duration;

use crate::common::{draft, read_until_closed, Client, Request, Response, TestServer};
use bytes::Bytes;
use hyper::header::HeaderName;
use hyper::{HeaderMap, Method};
use polling_server::{App, AppBuilder, RequestLimits};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// The instance name the servers here answer with.
const INSTANCE: &str = "refusals-1";

/// Each security header and a part its value must have.
const SECURITY: &[(&str, &str)] = &[
    ("content-security-policy", "frame-ancestors 'none'"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
];

async fn server(app: AppBuilder) -> TestServer {
    TestServer::with_app(app.instance(INSTANCE)).await
}

/// What is wrong with `headers` as the answer to a request sent with
/// `X-Request-Id: sent_id` (or none): each contract header missing, doubled
/// or with another value.
fn contract_breaches(headers: &HeaderMap, sent_id: Option<&str>) -> Vec<String> {
    let mut breaches = Vec::new();
    let mut once = |name: &str, holds: &dyn Fn(&str) -> bool| {
        let values: Vec<&str> = headers
            .get_all(HeaderName::from_bytes(name.as_bytes()).unwrap())
            .iter()
            .map(|v| v.to_str().unwrap_or("<not text>"))
            .collect();
        match values.as_slice() {
            [value] if holds(value) => {}
            _ => breaches.push(format!("{name}: {values:?}")),
        }
    };
    once("x-served-by", &|v| v == INSTANCE);
    once("x-request-id", &|v| match sent_id {
        Some(sent) => v == sent,
        None => v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()),
    });
    for (name, part) in SECURITY {
        once(name, &|v| v.contains(part));
    }
    breaches
}

/// Sends `request` with `X-Request-Id: id`, expecting `status`; returns the
/// answer.
async fn send(client: &Client, request: Request, id: &str, status: u16) -> Response {
    let response = client.send(request.header("x-request-id", id)).await;
    assert_eq!(
        response.status.as_u16(),
        status,
        "{id}: {}",
        String::from_utf8_lossy(&response.body)
    );
    response
}

/// Asserts every answer in `answers` (what, headers, the id sent) keeps
/// the contract, naming all that do not.
#[track_caller]
fn assert_contract(answers: &[(&str, &HeaderMap, Option<&str>)]) {
    let breaches: Vec<String> = answers
        .iter()
        .filter_map(|(what, headers, id)| {
            let breaches = contract_breaches(headers, *id);
            (!breaches.is_empty()).then(|| format!("{what}: {}", breaches.join(", ")))
        })
        .collect();
    assert!(breaches.is_empty(), "{breaches:#?}");
}

#[tokio::test]
async fn answers_of_the_routes_carry_the_contract_once() {
    let server = server(App::builder().body_limit(1024)).await;
    let client = server.client();
    let listed = client.get("/api/polls").await;
    assert_eq!(listed.status.as_u16(), 200);
    let created = send(
        &client,
        Request::post("/api/polls").json(&draft(&["a", "b"])),
        "created-201",
        201,
    )
    .await;
    let too_large = send(
        &client,
        Request::post("/api/polls").json(&serde_json::json!({
            "question": "q".repeat(2_000),
            "options": ["a", "b"],
        })),
        "too-large-413",
        413,
    )
    .await;
    let not_found = send(&client, Request::get("/api/nope"), "not-found-404", 404).await;
    let wrong_method = send(
        &client,
        Request::new(Method::PUT, "/api/polls"),
        "method-405",
        405,
    )
    .await;
    assert_contract(&[
        ("200 without an id", &listed.headers, None),
        ("201", &created.headers, Some("created-201")),
        ("413", &too_large.headers, Some("too-large-413")),
        ("404", &not_found.headers, Some("not-found-404")),
        ("405", &wrong_method.headers, Some("method-405")),
    ]);
}

#[tokio::test]
async fn a_429_from_the_rate_limit_carries_the_contract_once() {
    let app = App::builder().limits(RequestLimits {
        polls_per_minute: 1,
        ..RequestLimits::default()
    });
    let server = server(app).await;
    let client = server.client();
    let create = || Request::post("/api/polls").json(&draft(&["a", "b"]));
    send(&client, create(), "first-201", 201).await;
    let second = send(&client, create(), "second-429", 429).await;
    let third = client.send(create()).await;
    assert_eq!(third.status.as_u16(), 429);
    assert_contract(&[
        ("429", &second.headers, Some("second-429")),
        ("429 without an id", &third.headers, None),
    ]);
}

#[tokio::test]
async fn a_503_from_the_cap_on_requests_in_flight_carries_the_contract_once() {
    let app = App::builder().limits(RequestLimits {
        max_concurrent_requests: 1,
        ..RequestLimits::default()
    });
    let server = server(app).await;
    // A request whose body never finishes holds the only place.
    let (body, chunks) = mpsc::channel::<Bytes>(1);
    body.send(Bytes::from_static(b"{\"question\":"))
        .await
        .unwrap();
    let held = Request::post("/api/polls")
        .header("content-type", "application/json")
        .streamed(chunks);
    let holder = server.client();
    let held = tokio::spawn(async move { holder.send(held).await });
    let client = server.client();
    let mut shed = None;
    for _ in 0..250 {
        let response = client
            .send(Request::get("/api/polls").header("x-request-id", "shed-503"))
            .await;
        if response.status.as_u16() == 503 {
            shed = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let shed = shed.expect("a second request in flight was not shed");
    shed.assert_error(503, "unavailable");
    drop(body);
    held.await.unwrap().assert_error(400, "malformed_json");
    assert_contract(&[("503", &shed.headers, Some("shed-503"))]);
}

#[tokio::test]
async fn a_408_for_a_body_too_slow_carries_the_contract_once() {
    let app = App::builder().limits(RequestLimits {
        body_read_timeout: Duration::from_millis(300),
        ..RequestLimits::default()
    });
    let server = server(app).await;
    // Raw: the body is never finished, so the answer comes mid-request.
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(
            b"POST /api/polls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              X-Request-Id: slow-408\r\nContent-Length: 100\r\n\r\n{\"question\":",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream).await;
    let (status, headers) = parse_head(&answer);
    assert_eq!(status, 408, "{answer}");
    assert_contract(&[("408", &headers, Some("slow-408"))]);
}

/// The status and headers of the raw HTTP/1.1 answer `answer`.
fn parse_head(answer: &str) -> (u16, HeaderMap) {
    let head = answer.split("\r\n\r\n").next().unwrap_or_default();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer:?}"));
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("not a header line: {line:?}"));
        headers.append(
            HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
            value.trim().parse().unwrap(),
        );
    }
    (status, headers)
}

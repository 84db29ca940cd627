//! A corpus of bad input, over real HTTP, against every route: malformed
//! and deeply nested JSON, wrong types, huge numbers, unknown fields,
//! invalid UTF-8, oversized bodies and headers, absurd `limit`/`cursor`,
//! unknown and malformed ids, repeated and empty choices, bad tokens, and
//! SQL and HTML in text. Each case gets its exact documented status and
//! `error.code`; nothing gets a 5xx; and nothing is partially written.

use std::collections::BTreeSet;

use crate::common::{create_poll, draft, id_of, Client, Request, Response, TestServer};
use polling_server::ROUTES;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Builds a request from the fixture poll's id and manage token.
type MakeRequest = Box<dyn Fn(&str, &str) -> Request>;

/// One bad request and the refusal it must get.
struct Case {
    /// What the case is, for failure messages.
    name: &'static str,
    /// The route template it exercises (`{id}` filled in by the test).
    route: (&'static str, &'static str),
    /// The request, given the fixture poll's id and manage token.
    request: MakeRequest,
    /// The status and `error.code` it must get.
    expected: (u16, &'static str),
}

fn case(
    name: &'static str,
    route: (&'static str, &'static str),
    expected: (u16, &'static str),
    request: impl Fn(&str, &str) -> Request + 'static,
) -> Case {
    Case {
        name,
        route,
        request: Box::new(request),
        expected,
    }
}

const CREATE: (&str, &str) = ("POST", "/api/polls");
const LIST: (&str, &str) = ("GET", "/api/polls");
const GET: (&str, &str) = ("GET", "/api/polls/{id}");
const DELETE: (&str, &str) = ("DELETE", "/api/polls/{id}");
const CLOSE: (&str, &str) = ("POST", "/api/polls/{id}/close");
const VOTE: (&str, &str) = ("POST", "/api/polls/{id}/votes");
const RESULTS: (&str, &str) = ("GET", "/api/polls/{id}/results");
const LIVE: (&str, &str) = ("GET", "/api/polls/{id}/live");
const EXPORT_RESULTS_CSV: (&str, &str) = ("GET", "/api/polls/{id}/export/results.csv");
const EXPORT_RESULTS_JSON: (&str, &str) = ("GET", "/api/polls/{id}/export/results.json");
const EXPORT_BALLOTS_CSV: (&str, &str) = ("GET", "/api/polls/{id}/export/ballots.csv");
const LIST_INVITES: (&str, &str) = ("GET", "/api/polls/{id}/invites");
const ADD_INVITES: (&str, &str) = ("POST", "/api/polls/{id}/invites");
const INVITES_CSV: (&str, &str) = ("GET", "/api/polls/{id}/invites.csv");
const REVOKE_INVITE: (&str, &str) = ("POST", "/api/polls/{id}/invites/revoke");
const QR: (&str, &str) = ("GET", "/api/polls/{id}/qr.svg");
const SHARE: (&str, &str) = ("GET", "/p/{id}");

/// A JSON body sent as is, with a JSON content type.
fn raw_json(method: &str, path: String, body: impl Into<Vec<u8>>) -> Request {
    let request = match method {
        "POST" => Request::post(path),
        other => panic!("no body on {other}"),
    };
    request
        .header("content-type", "application/json")
        .body(body.into())
}

fn create(body: impl Into<Vec<u8>>) -> impl Fn(&str, &str) -> Request {
    let body: Vec<u8> = body.into();
    move |_, _| raw_json("POST", "/api/polls".to_owned(), body.clone())
}

fn vote(body: impl Into<Vec<u8>>) -> impl Fn(&str, &str) -> Request {
    let body: Vec<u8> = body.into();
    move |id, _| raw_json("POST", format!("/api/polls/{id}/votes"), body.clone())
}

fn nested(depth: usize) -> Vec<u8> {
    let mut text = "[".repeat(depth);
    text.push_str(&"]".repeat(depth));
    format!(r#"{{"question":"q","options":{text}}}"#).into_bytes()
}

/// Ids that name no poll: malformed, or well-formed and unknown.
const BAD_IDS: &[&str] = &[
    "not-a-poll",
    "00000000-0000-0000-0000-000000000000",
    "01a21231-863e-769e-aaf7-dfe0b1697ec3",
    "%27%3B%20DROP%20TABLE%20polls%3B--",
    "%3Cscript%3E",
    "%FF%FE",
    "9999999999999999999999999999999999999999",
];

fn corpus() -> Vec<Case> {
    let good_vote = br#"{"choices":[0]}"#.to_vec();
    let mut cases = vec![
        // Malformed JSON.
        case("truncated JSON", CREATE, (400, "malformed_json"), create(&b"{\"question\":"[..])),
        case("empty body", CREATE, (400, "malformed_json"), create(Vec::new())),
        case("not JSON at all", CREATE, (400, "malformed_json"), create(&b"question=q"[..])),
        case("trailing garbage", CREATE, (400, "malformed_json"), create(&br#"{"question":"q","options":["a","b"]} x"#[..])),
        case("deeply nested arrays", CREATE, (422, "invalid_field"), create(nested(4000))),
        case("deeply nested and unclosed", VOTE, (422, "invalid_field"), vote("{\"choices\":".to_owned() + &"[".repeat(5000))),
        case("invalid UTF-8 in a string", CREATE, (400, "malformed_json"), create(&b"{\"question\":\"\xff\xfe\",\"options\":[\"a\",\"b\"]}"[..])),
        case("lone surrogate escape", VOTE, (400, "malformed_json"), vote(&br#"{"choices":[0],"\ud800":1}"#[..])),
        // Well-formed, wrong shape.
        case("question of the wrong type", CREATE, (422, "invalid_field"), create(&br#"{"question":5,"options":["a","b"]}"#[..])),
        case("options not a list", CREATE, (422, "invalid_field"), create(&br#"{"question":"q","options":"a,b"}"#[..])),
        case("missing options", CREATE, (422, "invalid_field"), create(&br#"{"question":"q"}"#[..])),
        case("unknown field", CREATE, (422, "invalid_field"), create(&br#"{"question":"q","options":["a","b"],"admin":true}"#[..])),
        case("a JSON array body", CREATE, (422, "invalid_field"), create(&br#"["q","a","b"]"#[..])),
        case("null body", CREATE, (422, "invalid_field"), create(&b"null"[..])),
        case("huge max_choices", CREATE, (422, "invalid_field"), create(&br#"{"question":"q","options":["a","b"],"multiple":true,"max_choices":18446744073709551616}"#[..])),
        case("max_choices of 1e400", CREATE, (400, "malformed_json"), create(&br#"{"question":"q","options":["a","b"],"max_choices":1e400}"#[..])),
        case("closes_at not a time", CREATE, (422, "invalid_field"), create(&br#"{"question":"q","options":["a","b"],"closes_at":"tomorrow"}"#[..])),
        case("unknown visibility", CREATE, (422, "invalid_field"), create(&br#"{"question":"q","options":["a","b"],"visibility":"sometimes"}"#[..])),
        case("visibility of the wrong type", CREATE, (422, "invalid_field"), create(&br#"{"question":"q","options":["a","b"],"visibility":1}"#[..])),
        case("allow_vote_change as a string", CREATE, (422, "invalid_field"), create(&br#"{"question":"q","options":["a","b"],"allow_vote_change":"yes"}"#[..])),
        // Well-shaped, against the rules.
        case("empty question", CREATE, (422, "invalid_poll"), create(&br#"{"question":"  ","options":["a","b"]}"#[..])),
        case("question of 301 characters", CREATE, (422, "invalid_poll"), create(format!(r#"{{"question":"{}","options":["a","b"]}}"#, "q".repeat(301)))),
        case("one option", CREATE, (422, "invalid_poll"), create(&br#"{"question":"q","options":["a"]}"#[..])),
        case("no options", CREATE, (422, "invalid_poll"), create(&br#"{"question":"q","options":[]}"#[..])),
        case("twenty-one options", CREATE, (422, "invalid_poll"), create(format!(r#"{{"question":"q","options":{}}}"#, json!((0..21).map(|n| n.to_string()).collect::<Vec<_>>())))),
        case("duplicate options after trimming", CREATE, (422, "invalid_poll"), create(&br#"{"question":"q","options":["a"," a "]}"#[..])),
        case("closes_at in the past", CREATE, (422, "invalid_poll"), create(&br#"{"question":"q","options":["a","b"],"closes_at":"2000-01-01T00:00:00Z"}"#[..])),
        // Media type and size.
        case("text/plain body", CREATE, (415, "unsupported_media_type"), |_, _| Request::post("/api/polls").header("content-type", "text/plain").body(br#"{"question":"q","options":["a","b"]}"#.to_vec())),
        case("no content type", VOTE, (415, "unsupported_media_type"), |id, _| Request::post(format!("/api/polls/{id}/votes")).body(br#"{"choices":[0]}"#.to_vec())),
        case("oversized body", CREATE, (413, "payload_too_large"), create(format!(r#"{{"question":"{}","options":["a","b"]}}"#, "q".repeat(20_000)))),
        case("oversized chunked body", VOTE, (413, "payload_too_large"), |id, _| Request::post(format!("/api/polls/{id}/votes")).header("content-type", "application/json").chunked(vec![vec![b' '; 10_000].into(), vec![b' '; 10_000].into()])),
        // Ballots.
        case("empty choices", VOTE, (422, "invalid_choice"), vote(&br#"{"choices":[]}"#[..])),
        case("repeated choice", VOTE, (422, "invalid_choice"), vote(&br#"{"choices":[0,0]}"#[..])),
        case("unknown option", VOTE, (422, "invalid_choice"), vote(&br#"{"choices":[99]}"#[..])),
        case("two choices in a single-choice poll", VOTE, (422, "invalid_choice"), vote(&br#"{"choices":[0,1]}"#[..])),
        case("negative choice", VOTE, (422, "invalid_field"), vote(&br#"{"choices":[-1]}"#[..])),
        case("choice beyond u32", VOTE, (422, "invalid_field"), vote(&br#"{"choices":[4294967296]}"#[..])),
        case("fractional choice", VOTE, (422, "invalid_field"), vote(&br#"{"choices":[0.5]}"#[..])),
        case("choice as a string", VOTE, (422, "invalid_field"), vote(&br#"{"choices":["0"]}"#[..])),
        case("choices not a list", VOTE, (422, "invalid_field"), vote(&br#"{"choices":0}"#[..])),
        case("unknown ballot field", VOTE, (422, "invalid_field"), vote(&br#"{"choices":[0],"voter":"someone-else"}"#[..])),
        // Listing.
        case("limit 0", LIST, (422, "invalid_query"), |_, _| Request::get("/api/polls?limit=0")),
        case("negative limit", LIST, (422, "invalid_query"), |_, _| Request::get("/api/polls?limit=-1")),
        case("absurd limit", LIST, (422, "invalid_query"), |_, _| Request::get("/api/polls?limit=99999999999999999999999")),
        case("limit not a number", LIST, (422, "invalid_query"), |_, _| Request::get("/api/polls?limit=ten")),
        case("garbage cursor", LIST, (422, "invalid_query"), |_, _| Request::get("/api/polls?cursor=%27%20OR%201%3D1--")),
        case("huge cursor", LIST, (422, "invalid_query"), |_, _| Request::get(format!("/api/polls?cursor={}", "A".repeat(4000)))),
        case("unknown query parameter", LIST, (422, "invalid_query"), |_, _| Request::get("/api/polls?order=desc")),
        // Manage tokens.
        case("close without a token", CLOSE, (401, "unauthorized"), |id, _| Request::post(format!("/api/polls/{id}/close"))),
        case("close with a wrong token", CLOSE, (403, "forbidden"), |id, _| Request::post(format!("/api/polls/{id}/close")).bearer(&"0".repeat(64))),
        case("close with a basic scheme", CLOSE, (401, "unauthorized"), |id, token| Request::post(format!("/api/polls/{id}/close")).header("authorization", format!("Basic {token}"))),
        case("close with an oversized token", CLOSE, (401, "unauthorized"), |id, _| Request::post(format!("/api/polls/{id}/close")).bearer(&"a".repeat(5000))),
        case("delete with SQL as the token", DELETE, (403, "forbidden"), |id, _| Request::delete(format!("/api/polls/{id}")).bearer("'OR'1'='1")),
        case("delete with an empty bearer", DELETE, (401, "unauthorized"), |id, _| Request::delete(format!("/api/polls/{id}")).header("authorization", "Bearer ")),
        // Idempotency keys.
        case("empty idempotency key", CREATE, (400, "invalid_idempotency_key"), |_, _| raw_json("POST", "/api/polls".to_owned(), br#"{"question":"q","options":["a","b"]}"#.to_vec()).header("idempotency-key", "")),
        case("idempotency key of 256 characters", VOTE, (400, "invalid_idempotency_key"), |id, _| raw_json("POST", format!("/api/polls/{id}/votes"), br#"{"choices":[0]}"#.to_vec()).header("idempotency-key", "k".repeat(256))),
        case("idempotency key with a space", VOTE, (400, "invalid_idempotency_key"), |id, _| raw_json("POST", format!("/api/polls/{id}/votes"), br#"{"choices":[0]}"#.to_vec()).header("idempotency-key", "two words")),
        // Live results.
        case("live without a handshake", LIVE, (426, "upgrade_required"), |id, _| Request::get(format!("/api/polls/{id}/live"))),
        // Exports, for the owner only.
        case("results.csv without a token", EXPORT_RESULTS_CSV, (401, "unauthorized"), |id, _| Request::get(format!("/api/polls/{id}/export/results.csv"))),
        case("results.json with a wrong token", EXPORT_RESULTS_JSON, (403, "forbidden"), |id, _| Request::get(format!("/api/polls/{id}/export/results.json")).bearer(&"0".repeat(64))),
        case("ballots.csv with SQL as the token", EXPORT_BALLOTS_CSV, (403, "forbidden"), |id, _| Request::get(format!("/api/polls/{id}/export/ballots.csv")).bearer("'OR'1'='1")),
        // Invite codes: the owner's routes, and codes where none or nonsense is due.
        case("invites without a token", LIST_INVITES, (401, "unauthorized"), |id, _| Request::get(format!("/api/polls/{id}/invites"))),
        case("invites.csv with a wrong token", INVITES_CSV, (403, "forbidden"), |id, _| Request::get(format!("/api/polls/{id}/invites.csv")).bearer(&"0".repeat(64))),
        case("invites count of the wrong type", ADD_INVITES, (422, "invalid_field"), |id, token| raw_json("POST", format!("/api/polls/{id}/invites"), &br#"{"count":"all"}"#[..]).bearer(token)),
        case("invites count of -1", ADD_INVITES, (422, "invalid_field"), |id, token| raw_json("POST", format!("/api/polls/{id}/invites"), &br#"{"count":-1}"#[..]).bearer(token)),
        case("invites for a poll open to anyone", ADD_INVITES, (422, "invalid_poll"), |id, token| raw_json("POST", format!("/api/polls/{id}/invites"), &br#"{"count":5}"#[..]).bearer(token)),
        case("revoking SQL as a code", REVOKE_INVITE, (404, "invite_not_found"), |id, token| raw_json("POST", format!("/api/polls/{id}/invites/revoke"), &br#"{"code":"' OR '1'='1"}"#[..]).bearer(token)),
        case("revoking a code of the wrong type", REVOKE_INVITE, (422, "invalid_field"), |id, token| raw_json("POST", format!("/api/polls/{id}/invites/revoke"), &br#"{"code":7}"#[..]).bearer(token)),
        case("an invite of the wrong type", VOTE, (422, "invalid_field"), vote(&br#"{"choices":[0],"invite":7}"#[..])),
        case("SQL as an invite code", VOTE, (403, "invite_invalid"), vote(&br#"{"choices":[0],"invite":"' OR '1'='1"}"#[..])),
        case("an invite for a poll open to anyone", VOTE, (403, "invite_invalid"), vote(&br#"{"choices":[0],"invite":"abcdefghijklmnopqrstuvwxyz"}"#[..])),
    ];
    for bad in BAD_IDS {
        let with = move |template: &str| template.replace("{id}", bad);
        cases.push(case("bad id: get", GET, (404, "not_found"), move |_, _| {
            Request::get(with("/api/polls/{id}"))
        }));
        cases.push(case(
            "bad id: results",
            RESULTS,
            (404, "not_found"),
            move |_, _| Request::get(with("/api/polls/{id}/results")),
        ));
        let body = good_vote.clone();
        cases.push(case(
            "bad id: vote",
            VOTE,
            (404, "not_found"),
            move |_, _| raw_json("POST", with("/api/polls/{id}/votes"), body.clone()),
        ));
        cases.push(case(
            "bad id: close",
            CLOSE,
            (404, "not_found"),
            move |_, token| Request::post(with("/api/polls/{id}/close")).bearer(token),
        ));
        cases.push(case(
            "bad id: delete",
            DELETE,
            (404, "not_found"),
            move |_, token| Request::delete(with("/api/polls/{id}")).bearer(token),
        ));
        for (name, route) in [
            ("bad id: results.csv", EXPORT_RESULTS_CSV),
            ("bad id: results.json", EXPORT_RESULTS_JSON),
            ("bad id: ballots.csv", EXPORT_BALLOTS_CSV),
        ] {
            cases.push(case(name, route, (404, "not_found"), move |_, token| {
                Request::get(with(route.1)).bearer(token)
            }));
        }
        cases.push(case(
            "bad id: qr.svg",
            QR,
            (404, "not_found"),
            move |_, _| Request::get(with("/api/polls/{id}/qr.svg")),
        ));
        cases.push(case(
            "bad id: share page",
            SHARE,
            (404, "not_found"),
            move |_, _| Request::get(with("/p/{id}")),
        ));
        cases.push(case(
            "bad id: live",
            LIVE,
            (404, "not_found"),
            move |_, _| {
                Request::get(with("/api/polls/{id}/live"))
                    .header("connection", "upgrade")
                    .header("upgrade", "websocket")
                    .header("sec-websocket-version", "13")
                    .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            },
        ));
    }
    cases
}

/// Polls listed and the fixture's results, to prove nothing was written.
async fn state(client: &Client, id: &str) -> (Value, Value) {
    let polls = client.get("/api/polls?limit=100").await.assert_json(200);
    let results = client
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);
    (polls, results)
}

#[tokio::test]
async fn every_bad_input_gets_its_documented_refusal_and_writes_nothing() {
    let server = TestServer::start().await;
    let client = server.client();
    let (poll, token) = create_poll(&client, draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);
    let before = state(&client, &id).await;

    let mut failures = Vec::new();
    let mut covered = BTreeSet::new();
    for case in corpus() {
        let response: Response = server.client().send((case.request)(&id, &token)).await;
        covered.insert(case.route);
        let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        let got = (
            response.status.as_u16(),
            body["error"]["code"].as_str().unwrap_or("-"),
        );
        if got != case.expected {
            failures.push(format!(
                "{}: expected {:?}, got {got:?}: {body}",
                case.name, case.expected
            ));
        }
        if response.status.is_server_error() {
            failures.push(format!("{}: a 5xx", case.name));
        }
        if body["error"]["message"].as_str().is_none_or(str::is_empty) {
            failures.push(format!("{}: no error message: {body}", case.name));
        }
        if response.header("x-content-type-options") != Some("nosniff") {
            failures.push(format!("{}: no nosniff", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        state(&client, &id).await,
        before,
        "a refused request wrote something"
    );

    // Every route that takes input (a body, a query or an id) was exercised.
    for route in ROUTES {
        let takes_input =
            route.path.contains("{id}") || route.method == "POST" || route.path == "/api/polls";
        if takes_input {
            assert!(
                covered.contains(&(route.method, route.path)),
                "no bad-input case for {} {}",
                route.method,
                route.path
            );
        }
    }
}

#[tokio::test]
async fn sql_and_html_in_text_are_data_kept_verbatim_and_served_as_json() {
    let server = TestServer::start().await;
    let client = server.client();
    let question = "'); DROP TABLE polls; -- <script>alert(1)</script>";
    let options = [
        "<img src=x onerror=alert(1)>",
        "\" OR \"1\"=\"1",
        "😀 \u{202e}rtl",
    ];
    let (poll, _) = create_poll(&client, json!({ "question": question, "options": options })).await;
    let id = id_of(&poll);
    let read = client.get(&format!("/api/polls/{id}")).await;
    let body = read.assert_json(200);
    assert_eq!(body["question"], question);
    for (n, option) in options.iter().enumerate() {
        assert_eq!(body["options"][n]["text"], *option);
    }
    assert!(read
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(read.header("x-content-type-options"), Some("nosniff"));
    let csp = read.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    client.vote(&id, &[1]).await.assert_json(201);
}

/// Sends `request` as raw bytes and returns the status line's code, or 0
/// when the server closed the connection without an answer.
async fn raw_status(server: &TestServer, request: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    // The server may answer (and close) before it reads all of an oversized request.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server answered or closed within 5 s");
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn oversized_headers_and_raw_garbage_are_4xx_or_closed_never_5xx_or_a_hang() {
    let server = TestServer::start().await;
    let huge_header = format!(
        "GET /api/polls HTTP/1.1\r\nHost: x\r\nX-Filler: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(200_000)
    );
    assert_eq!(raw_status(&server, huge_header.as_bytes()).await, 431);
    let many_headers = format!(
        "GET /api/polls HTTP/1.1\r\nHost: x\r\n{}Connection: close\r\n\r\n",
        (0..500)
            .map(|n| format!("X-H{n}: v\r\n"))
            .collect::<String>()
    );
    assert_eq!(raw_status(&server, many_headers.as_bytes()).await, 431);
    let huge_cookie = format!(
        "GET /api/polls HTTP/1.1\r\nHost: x\r\nCookie: polling_voter={}\r\nConnection: close\r\n\r\n",
        "v".repeat(60_000)
    );
    let status = raw_status(&server, huge_cookie.as_bytes()).await;
    assert!(matches!(status, 200 | 431), "{status}");

    for garbage in [
        &b"GET /api/polls/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"[..],
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS hello\r\n\r\n",
        b"BREW /coffee HTCPCP/1.0\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST /api/polls HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"GET /api/polls HTTP/1.1\r\nHost: x\r\nBad Header Name: v\r\n\r\n",
    ] {
        let status = raw_status(&server, garbage).await;
        assert!(
            status == 0 || (400..500).contains(&status),
            "{:?} got {status}",
            String::from_utf8_lossy(garbage)
        );
    }
    // Still serving.
    server.client().get("/healthz").await.assert_json(200);
}

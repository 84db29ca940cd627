//! Properties of the API over arbitrary input, driven through
//! [`polling_server::routes`] without a socket: whatever the body, path or
//! query, the server never answers 5xx, every 4xx is a JSON error with a
//! snake_case `error.code` and a message, and what it accepts it keeps.

use std::sync::OnceLock;

use bytes::Bytes;
use polling_core::PollId;
use polling_server::{routes, App};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Map, Number, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use warp::filters::BoxedFilter;
use warp::http::header::{CONTENT_TYPE, LOCATION};
use warp::http::Response;

/// The methods tried on arbitrary paths.
const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
/// The words arbitrary paths are mostly made of.
const PATH_WORDS: &[&str] = &[
    "api",
    "polls",
    "votes",
    "results",
    "close",
    "healthz",
    "readyz",
    "openapi.json",
];

/// The default body limit (`ARCHITECTURE.md#http-contract`).
const LIMIT: usize = 16 * 1024;

/// The options of the fixture's poll.
const POLL_OPTIONS: u64 = 3;
/// The `max_choices` of the fixture's poll.
const POLL_MAX_CHOICES: usize = 2;

/// One server for all cases of all properties: a runtime, the routes, and a
/// poll to vote in.
struct Fixture {
    /// Runs each request to completion.
    runtime: tokio::runtime::Runtime,
    /// The whole server as one filter.
    api: BoxedFilter<(warp::reply::Response,)>,
    /// A multiple-choice poll with three options and `max_choices: 2`.
    poll_id: String,
}

/// The shared fixture, made on first use.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let api = routes(App::in_process());
        let draft = json!({
            "question": "Which editors?",
            "options": ["vim", "emacs", "nano"],
            "multiple": true,
            "max_choices": POLL_MAX_CHOICES,
        });
        let created = runtime.block_on(
            warp::test::request()
                .method("POST")
                .path("/api/polls")
                .json(&draft)
                .reply(&api),
        );
        assert_eq!(created.status(), 201, "{:?}", created.body());
        let poll: Value = serde_json::from_slice(created.body()).expect("a JSON poll");
        let poll_id = poll["id"].as_str().expect("a poll id").to_owned();
        Fixture {
            runtime,
            api,
            poll_id,
        }
    })
}

/// Runs `request` through the routes.
fn send(request: warp::test::RequestBuilder) -> Response<Bytes> {
    let fixture = fixture();
    fixture.runtime.block_on(request.reply(&fixture.api))
}

/// `POST path` with `body` and, if given, a content type.
fn post(path: &str, content_type: Option<&str>, body: impl AsRef<[u8]>) -> Response<Bytes> {
    let mut request = warp::test::request().method("POST").path(path);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    send(request.body(body))
}

/// `GET path`.
fn get(path: &str) -> Response<Bytes> {
    send(warp::test::request().method("GET").path(path))
}

fn is_snake_case(code: &str) -> bool {
    !code.is_empty()
        && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        && !code.starts_with('_')
        && !code.ends_with('_')
        && !code.contains("__")
}

fn body_text(response: &Response<Bytes>) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

/// The properties every answer has: never 5xx, and every 4xx a JSON error
/// with a snake_case code and a message. Returns the error code of a 4xx.
fn check(what: &str, response: &Response<Bytes>) -> Result<Option<String>, TestCaseError> {
    let status = response.status();
    prop_assert!(
        !status.is_server_error(),
        "{what}: {status} {}",
        body_text(response)
    );
    prop_assert!(
        response.headers().contains_key("x-content-type-options"),
        "{what}: {status} without security headers"
    );
    if status == 405 {
        let allow = response
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok());
        prop_assert!(
            allow.is_some_and(|a| !a.is_empty()),
            "{what}: 405 without the allowed methods: {allow:?}"
        );
    }
    if !status.is_client_error() {
        return Ok(None);
    }
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    prop_assert!(
        content_type.starts_with("application/json"),
        "{what}: {status} with content type {content_type:?}"
    );
    let body: Value = serde_json::from_slice(response.body()).map_err(|e| {
        TestCaseError::fail(format!(
            "{what}: {status} with a body that is not JSON ({e}): {}",
            body_text(response)
        ))
    })?;
    let code = body["error"]["code"].as_str().unwrap_or_default();
    prop_assert!(
        is_snake_case(code),
        "{what}: {status} with code {code:?}: {body}"
    );
    let message = body["error"]["message"].as_str().unwrap_or_default();
    prop_assert!(
        !message.is_empty(),
        "{what}: {status} without a message: {body}"
    );
    Ok(Some(code.to_owned()))
}

/// `bytes` with every byte but the unreserved ones percent-encoded, so that
/// it is one path segment or query value and decodes back to itself.
fn encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ---------------------------------------------------------------- strategies

/// Keys an object may have: the API's own field names, or anything.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "question",
            "options",
            "multiple",
            "max_choices",
            "closes_at",
            "choices"
        ])
        .prop_map(str::to_owned),
        any::<String>(),
        Just(String::new()),
    ]
}

/// Numbers, including the extremes a `Value` can hold.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (0_u64..25).prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(vec![
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            1e308,
            -0.0,
            0.5
        ])
        .prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ]
}

/// Any JSON value: scalars, unicode strings, empty and nested containers.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        any::<String>().prop_map(Value::String),
        "\\PC{0,20}".prop_map(Value::String),
        Just(Value::String(String::new())),
        Just(json!([])),
        Just(json!({})),
    ];
    leaf.prop_recursive(8, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// JSON text nested `depth` deep, around `core`.
fn nested(depth: usize, objects: bool, core: &str) -> String {
    let (open, close) = if objects {
        ("{\"a\":", "}")
    } else {
        ("[", "]")
    };
    format!("{}{core}{}", open.repeat(depth), close.repeat(depth))
}

/// Deeply nested JSON, alone or as the question of a draft.
fn deep_json_text() -> impl Strategy<Value = Vec<u8>> {
    (1_usize..400, any::<bool>(), any::<bool>()).prop_map(|(depth, objects, in_draft)| {
        if in_draft {
            let question = nested(depth, objects, "\"Q\"");
            format!(r#"{{"question": {question}, "options": ["a", "b"]}}"#).into_bytes()
        } else {
            nested(depth, objects, "1").into_bytes()
        }
    })
}

/// Drafts and ballots with numbers no integer type holds.
fn huge_number_json_text() -> impl Strategy<Value = Vec<u8>> {
    let huge = prop_oneof![
        (1_usize..500).prop_map(|digits| format!("1{}", "0".repeat(digits))),
        prop::sample::select(vec![
            "1e400",
            "-1e400",
            "-0",
            "1.0",
            "0.5",
            "-1",
            "4294967296",
            "18446744073709551616",
        ])
        .prop_map(str::to_owned),
    ];
    (huge, any::<bool>()).prop_map(|(n, ballot)| {
        if ballot {
            format!(r#"{{"choices": [{n}]}}"#).into_bytes()
        } else {
            let draft = r#""question": "Q", "options": ["a", "b"], "multiple": true"#;
            format!(r#"{{{draft}, "max_choices": {n}}}"#).into_bytes()
        }
    })
}

/// JSON text with one byte replaced by one that breaks UTF-8 or the syntax.
fn corrupted_json_text() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop::sample::select(vec![0xff_u8, 0xc3, 0x80, 0xed, 0x00]);
    (json_value(), any::<prop::sample::Index>(), byte).prop_map(|(value, at, byte)| {
        let mut bytes = serde_json::to_vec(&value).unwrap();
        let at = at.index(bytes.len());
        bytes[at] = byte;
        bytes
    })
}

/// Bodies a JSON parser finds hard: deep nesting, huge numbers, invalid UTF-8.
fn hostile_json_text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        deep_json_text(),
        huge_number_json_text(),
        corrupted_json_text(),
    ]
}

/// Any body: raw bytes, any JSON value, or hostile JSON text.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..256),
        4 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        4 => hostile_json_text(),
        2 => (LIMIT - 64..LIMIT + 64).prop_map(|len| {
            let mut body = br#"{"question": "Q", "options": ["a", "b"]}"#.to_vec();
            body.resize(len, b' ');
            body
        }),
    ]
}

/// The content types a client may send.
fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        6 => Just(Some("application/json")),
        1 => Just(Some("application/json; charset=utf-8")),
        1 => Just(Some("APPLICATION/JSON")),
        1 => Just(Some("text/plain")),
        1 => Just(None),
    ]
}

/// Short texts: mostly plain, sometimes any unicode (controls included) or long.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9 ?]{0,12}",
        1 => any::<String>(),
        1 => "\\PC{0,310}",
        1 => Just(String::new()),
    ]
}

/// An RFC 3339 time: in the future, in the past, or not a time at all.
fn closes_at() -> impl Strategy<Value = Value> {
    prop_oneof![
        (60_i64..1_000_000_000, -12_i8..=12).prop_map(|(seconds, hours)| {
            let offset = time::UtcOffset::from_hms(hours, 0, 0).unwrap();
            let at =
                (OffsetDateTime::now_utc() + time::Duration::seconds(seconds)).to_offset(offset);
            Value::String(at.format(&Rfc3339).unwrap())
        }),
        (1_i64..1_000_000_000).prop_map(|seconds| {
            let at = OffsetDateTime::now_utc() - time::Duration::seconds(seconds);
            Value::String(at.format(&Rfc3339).unwrap())
        }),
        Just(json!("9999-12-31T23:59:59.999999999Z")),
        Just(json!("0000-01-01T00:00:00Z")),
        Just(Value::Null),
        json_value(),
    ]
}

/// Bodies shaped like a poll draft, valid often enough that the read-back
/// property is exercised, with any field now and then replaced by anything.
fn draft_like() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            6 => "[A-Za-z0-9?][A-Za-z0-9 ?]{0,30}".prop_map(Value::String),
            1 => text().prop_map(Value::String),
            1 => json_value(),
        ],
        prop_oneof![
            6 => prop::collection::btree_set("[a-z0-9][a-z0-9 ]{0,10}", 2..8)
                .prop_map(|options| Value::Array(options.into_iter().map(Value::String).collect())),
            1 => prop::collection::vec(text(), 0..24)
                .prop_map(|options| Value::Array(options.into_iter().map(Value::String).collect())),
            1 => json_value(),
        ],
        prop::option::of(prop_oneof![6 => any::<bool>().prop_map(Value::Bool), 1 => json_value()]),
        prop::option::weighted(
            0.3,
            prop_oneof![4 => (0_u64..8).prop_map(Value::from), 1 => number()],
        ),
        prop::option::weighted(0.3, closes_at()),
        prop::option::weighted(0.05, (key(), json_value())),
    )
        .prop_map(
            |(question, options, multiple, max_choices, closes_at, extra)| {
                let mut draft = Map::new();
                draft.insert("question".into(), question);
                draft.insert("options".into(), options);
                let optional = [
                    ("multiple", multiple),
                    ("max_choices", max_choices),
                    ("closes_at", closes_at),
                ];
                for (name, value) in optional {
                    if let Some(value) = value {
                        draft.insert(name.into(), value);
                    }
                }
                if let Some((name, value)) = extra {
                    draft.insert(name, value);
                }
                Value::Object(draft)
            },
        )
}

/// A path segment: any text or bytes (percent-encoded), or something close to
/// the fixture's poll id.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| encode(s.as_bytes())),
        prop::collection::vec(any::<u8>(), 0..48).prop_map(|b| encode(&b)),
        "[0-9a-fA-F-]{0,40}",
        (any::<prop::sample::Index>(), "[0-9a-zA-Z%-]").prop_map(|(at, c)| {
            let mut id: Vec<char> = fixture().poll_id.chars().collect();
            let at = at.index(id.len());
            id[at] = c.chars().next().unwrap();
            id.into_iter().collect()
        }),
        Just(fixture().poll_id.clone()),
        Just(fixture().poll_id.to_uppercase()),
        Just(encode(fixture().poll_id.as_bytes()).replace('-', "%2D")),
    ]
}

/// A query parameter name and value, unencoded.
fn query_pair() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof![
        3 => Just("limit".to_owned()),
        3 => Just("cursor".to_owned()),
        1 => any::<String>(),
    ];
    let value = prop_oneof![
        (0_i64..130).prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<String>(),
        "[0-9a-f-]{36}",
        Just(PollId::generate().to_string()),
        Just(String::new()),
    ];
    (name, value)
}

/// Whether the server should take `pairs` as a page query: each name once,
/// only `limit` (1 to 100) and `cursor` (a poll id).
fn valid_page_query(pairs: &[(String, String)]) -> Option<usize> {
    let mut names: Vec<&str> = pairs.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    if names.len() != pairs.len() {
        return None;
    }
    let mut limit = 20;
    for (name, value) in pairs {
        match name.as_str() {
            "limit" => {
                limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=100).contains(n))?;
            }
            "cursor" => {
                value.parse::<PollId>().ok()?;
            }
            _ => return None,
        }
    }
    Some(limit)
}

/// The request headers the server reads, and some it should ignore.
const HEADER_NAMES: &[&str] = &[
    "cookie",
    "authorization",
    "content-type",
    "x-request-id",
    "if-none-match",
    "origin",
    "x-forwarded-for",
    "upgrade",
    "sec-websocket-key",
    "accept",
];

/// Any value a header may carry on the wire: visible ASCII, tabs and
/// obs-text bytes (0x80-0xFF), often around the syntax the server parses.
fn header_value() -> impl Strategy<Value = warp::http::HeaderValue> {
    let byte = prop_oneof![8 => 0x20_u8..0x7f, 1 => 0x80_u8..=0xff, 1 => Just(b'\t')];
    let prefix = prop::sample::select(vec![
        "",
        "Bearer ",
        "bearer  ",
        "polling_voter=",
        "polling_voter=a; polling_voter=",
        "\"",
        "W/\"",
        "application/json; charset=",
        "1.2.3.4, ",
        "http://",
    ]);
    (prefix, prop::collection::vec(byte, 0..120)).prop_map(|(prefix, tail)| {
        let mut bytes = prefix.as_bytes().to_vec();
        bytes.extend(tail);
        warp::http::HeaderValue::from_bytes(&bytes).expect("only bytes a header value allows")
    })
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_create_body_is_answered_without_5xx_and_accepted_polls_read_back(
        body in prop_oneof![
            body(),
            draft_like().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        ],
        content_type in content_type(),
    ) {
        let created = post("/api/polls", content_type, &body);
        let code = check("POST /api/polls", &created)?;
        let json = content_type.is_some_and(|t| t.to_lowercase().starts_with("application/json"));
        if body.len() > LIMIT && json {
            prop_assert_eq!(code.as_deref(), Some("payload_too_large"));
        }
        if let Some(code) = code {
            let expected: &[&str] = match created.status().as_u16() {
                400 => &["malformed_json"],
                413 => &["payload_too_large"],
                415 => &["unsupported_media_type"],
                422 => &["invalid_field", "invalid_poll"],
                _ => &[],
            };
            prop_assert!(expected.contains(&code.as_str()), "{} with {code}", created.status());
        }
        if created.status().is_success() {
            prop_assert_eq!(created.status().as_u16(), 201);
            let draft: Value = serde_json::from_slice(&body).unwrap();
            check_read_back(&draft, &created)?;
        }
    }

    #[test]
    fn any_header_value_on_any_route_is_answered_without_5xx(
        route in prop::sample::select(polling_server::ROUTES),
        headers in prop::collection::vec(
            (prop::sample::select(HEADER_NAMES), header_value()),
            1..4,
        ),
    ) {
        let path = route.path.replace("{id}", &fixture().poll_id);
        let mut request = warp::test::request().method(route.method).path(&path);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let body: &[u8] = match (route.method, route.path) {
            ("POST", "/api/polls") => br#"{"question":"q","options":["a","b"]}"#,
            ("POST", "/api/polls/{id}/votes") => br#"{"choices":[0]}"#,
            _ => b"",
        };
        let answer = send(request.body(body));
        check(&format!("{} {path}", route.method), &answer)?;
    }

    #[test]
    fn draft_like_bodies_are_created_or_refused_as_invalid(draft in draft_like()) {
        let body = serde_json::to_vec(&draft).unwrap();
        let created = post("/api/polls", Some("application/json"), body);
        match check("POST /api/polls", &created)? {
            None => {
                prop_assert_eq!(created.status().as_u16(), 201);
                check_read_back(&draft, &created)?;
            }
            Some(code) => {
                prop_assert_eq!(created.status().as_u16(), 422);
                prop_assert!(code == "invalid_field" || code == "invalid_poll", "{}", code);
            }
        }
    }

    #[test]
    fn any_vote_body_is_answered_without_5xx(body in body(), content_type in content_type()) {
        let path = format!("/api/polls/{}/votes", fixture().poll_id);
        let voted = post(&path, content_type, &body);
        if check(&format!("POST {path}"), &voted)?.is_none() {
            prop_assert_eq!(voted.status().as_u16(), 201, "a new voter's ballot is new");
        }
    }

    #[test]
    fn ballots_are_counted_exactly_when_their_choices_are_valid(
        choices in prop::collection::vec(
            prop_oneof![6 => 0_u32..3, 1 => 3_u32..5, 1 => any::<u32>()],
            0..4,
        ),
    ) {
        let path = format!("/api/polls/{}/votes", fixture().poll_id);
        let body = serde_json::to_vec(&json!({ "choices": choices })).unwrap();
        let voted = post(&path, Some("application/json"), body);
        let code = check(&format!("POST {path}"), &voted)?;
        let mut sorted = choices.clone();
        sorted.sort_unstable();
        sorted.dedup();
        let valid = !choices.is_empty()
            && sorted.len() == choices.len()
            && choices.len() <= POLL_MAX_CHOICES
            && choices.iter().all(|&c| u64::from(c) < POLL_OPTIONS);
        if valid {
            prop_assert_eq!(voted.status().as_u16(), 201, "{}", body_text(&voted));
            let body: Value = serde_json::from_slice(voted.body()).unwrap();
            prop_assert_eq!(&body["receipt"]["choices"], &json!(sorted));
            prop_assert!(body["results"]["version"].as_u64().is_some_and(|v| v >= 1));
        } else {
            prop_assert_eq!(voted.status().as_u16(), 422, "{}", body_text(&voted));
            prop_assert_eq!(code.as_deref(), Some("invalid_choice"));
        }
    }

    #[test]
    fn any_poll_id_segment_is_answered_without_5xx(segment in segment()) {
        let own = segment == fixture().poll_id;
        let paths = [format!("/api/polls/{segment}"), format!("/api/polls/{segment}/results")];
        for path in paths {
            let answer = get(&path);
            let code = check(&format!("GET {path}"), &answer)?;
            if own {
                prop_assert_eq!(answer.status().as_u16(), 200);
            } else if let Some(code) = code {
                prop_assert_eq!(answer.status().as_u16(), 404);
                prop_assert!(code == "not_found" || code == "route_not_found", "{}", code);
            }
        }
        let path = format!("/api/polls/{segment}/votes");
        let voted = post(&path, Some("application/json"), br#"{"choices": [0]}"#);
        check(&format!("POST {path}"), &voted)?;
        if own {
            prop_assert_eq!(voted.status().as_u16(), 201);
        }
    }

    #[test]
    fn any_path_and_method_is_answered_without_5xx(
        method in prop::sample::select(METHODS.to_vec()),
        segments in prop::collection::vec(
            prop_oneof![
                3 => prop::sample::select(PATH_WORDS.to_vec()).prop_map(str::to_owned),
                1 => segment(),
            ],
            0..5,
        ),
        body in body(),
    ) {
        let path = format!("/{}", segments.join("/"));
        let answer = send(
            warp::test::request()
                .method(method)
                .path(&path)
                .header("content-type", "application/json")
                .body(&body),
        );
        check(&format!("{method} {path}"), &answer)?;
    }

    #[test]
    fn list_queries_are_paged_or_refused_as_invalid_query(
        pairs in prop::collection::vec(query_pair(), 0..4),
    ) {
        let query: Vec<String> = pairs
            .iter()
            .map(|(name, value)| {
                format!("{}={}", encode(name.as_bytes()), encode(value.as_bytes()))
            })
            .collect();
        let path = format!("/api/polls?{}", query.join("&"));
        let listed = get(&path);
        let code = check(&format!("GET {path}"), &listed)?;
        match valid_page_query(&pairs) {
            Some(limit) => {
                prop_assert_eq!(listed.status().as_u16(), 200, "{}", body_text(&listed));
                let page: Value = serde_json::from_slice(listed.body()).unwrap();
                let polls = page["polls"].as_array().map_or(usize::MAX, Vec::len);
                prop_assert!(polls <= limit, "{} polls for limit {}", polls, limit);
                prop_assert!(page["next_cursor"].is_null() || page["next_cursor"].is_string());
            }
            None => {
                prop_assert_eq!(listed.status().as_u16(), 422, "{}", body_text(&listed));
                prop_assert_eq!(code.as_deref(), Some("invalid_query"));
            }
        }
    }

    #[test]
    fn raw_list_queries_are_answered_without_5xx(query in "[a-z0-9=&%+;.~_-]{0,40}") {
        let path = format!("/api/polls?{query}");
        let listed = get(&path);
        check(&format!("GET {path}"), &listed)?;
        prop_assert!(
            matches!(listed.status().as_u16(), 200 | 422),
            "{}: {} {}",
            path,
            listed.status(),
            body_text(&listed)
        );
    }
}

/// Checks that `created`, the 201 answer to `draft`, reads back with GET.
fn check_read_back(draft: &Value, created: &Response<Bytes>) -> Result<(), TestCaseError> {
    let mut poll: Value = serde_json::from_slice(created.body())
        .map_err(|e| TestCaseError::fail(format!("201 with a body that is not JSON: {e}")))?;
    let token = poll.as_object_mut().and_then(|p| p.remove("manage_token"));
    prop_assert!(token
        .as_ref()
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty()));
    let id = poll["id"].as_str().unwrap_or_default().to_owned();
    let location = created
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok());
    let expected = format!("/api/polls/{id}");
    prop_assert_eq!(location, Some(expected.as_str()));

    let question = draft["question"].as_str().unwrap_or_default().trim();
    prop_assert_eq!(poll["question"].as_str(), Some(question));
    let options: Vec<&str> = draft["options"]
        .as_array()
        .map(|o| o.iter().filter_map(Value::as_str).map(str::trim).collect())
        .unwrap_or_default();
    let texts: Vec<&str> = poll["options"]
        .as_array()
        .map(|o| o.iter().filter_map(|o| o["text"].as_str()).collect())
        .unwrap_or_default();
    prop_assert_eq!(texts, options);

    let read = get(&format!("/api/polls/{id}"));
    prop_assert_eq!(read.status().as_u16(), 200, "{}", body_text(&read));
    let read: Value = serde_json::from_slice(read.body()).unwrap();
    prop_assert_eq!(read, poll);
    Ok(())
}

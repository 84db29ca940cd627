//! The OpenAPI document (`openapi.json`, served at `GET /api/openapi.json`)
//! against the routes it describes: the same operations, every status each
//! route contracts to answer (`ARCHITECTURE.md#http-contract`), and real
//! requests to every operation answered as documented, bodies and headers
//! included. Bodies are checked by the `jsonschema` crate, against the
//! document's OpenAPI 3.0 schemas put as JSON Schema 2020-12 (`json_schema`).

use std::collections::{BTreeMap, BTreeSet};

use polling_core::PollId;
use polling_server::{routes, App, DEFAULT_BODY_LIMIT, OPENAPI_DOCUMENT, ROUTES};
use serde_json::{json, Map, Value};
use warp::filters::BoxedFilter;
use warp::http::header::{
    ALLOW, AUTHORIZATION, CONTENT_TYPE, COOKIE, ETAG, IF_NONE_MATCH, SET_COOKIE,
};
use warp::http::HeaderMap;
use warp::reply::Response;

/// The statuses each route must be able to answer with
/// (`ARCHITECTURE.md#http-contract`): the
/// document has to list at least these for the operation.
const CONTRACT: &[(&str, &str, &[u16])] = &[
    (
        "POST",
        "/api/polls",
        &[201, 400, 408, 409, 413, 415, 422, 429, 503],
    ),
    ("GET", "/api/polls", &[200, 422, 503]),
    ("GET", "/api/polls/{id}", &[200, 404, 503]),
    (
        "POST",
        "/api/polls/{id}/votes",
        &[200, 201, 400, 403, 404, 408, 409, 413, 415, 422, 429, 503],
    ),
    ("GET", "/api/polls/{id}/results", &[200, 304, 403, 404, 503]),
    ("GET", "/api/polls/{id}/live", &[101, 403, 404, 426, 503]),
    ("POST", "/api/polls/{id}/close", &[200, 401, 403, 404, 503]),
    ("DELETE", "/api/polls/{id}", &[204, 401, 403, 404, 503]),
    (
        "GET",
        "/api/polls/{id}/export/results.csv",
        &[200, 401, 403, 404, 503],
    ),
    (
        "GET",
        "/api/polls/{id}/export/results.json",
        &[200, 401, 403, 404, 503],
    ),
    (
        "GET",
        "/api/polls/{id}/export/ballots.csv",
        &[200, 401, 403, 404, 503],
    ),
    ("GET", "/api/polls/{id}/invites", &[200, 401, 403, 404, 503]),
    (
        "POST",
        "/api/polls/{id}/invites",
        &[201, 400, 401, 403, 404, 408, 413, 415, 422, 429, 503],
    ),
    (
        "GET",
        "/api/polls/{id}/invites.csv",
        &[200, 401, 403, 404, 503],
    ),
    (
        "POST",
        "/api/polls/{id}/invites/revoke",
        &[200, 400, 401, 403, 404, 408, 409, 413, 415, 422, 503],
    ),
    ("GET", "/api/polls/{id}/qr.svg", &[200, 400, 404, 503]),
    ("GET", "/p/{id}", &[200, 400, 404, 503]),
    ("GET", "/api/openapi.json", &[200, 503]),
    ("GET", "/healthz", &[200]),
    ("GET", "/readyz", &[200, 503]),
    ("GET", "/metrics", &[200]),
];

/// Error responses whose body is not the `Error` envelope: (method, path,
/// status, schema).
const NON_ERROR_BODIES: &[(&str, &str, &str, &str)] = &[("GET", "/readyz", "503", "Readiness")];

/// The keys of an OpenAPI path item that are operations.
const OPERATION_KEYS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Methods tried against every documented path.
const PROBED_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Headers every response may carry without the document naming them.
const COMMON_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "content-security-policy",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "x-served-by",
];

const ERROR_SCHEMA: &str = "#/components/schemas/Error";

type Server = BoxedFilter<(Response,)>;

fn server() -> Server {
    // Requests made here have no Host header: share links take this base.
    let public_url = "https://polls.example.com".parse().ok();
    routes(App::builder().public_url(public_url).build())
}

fn document() -> Value {
    serde_json::from_str(OPENAPI_DOCUMENT).expect("openapi.json is JSON")
}

/// Follows local `$ref`s until a value without one.
fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..16 {
        let Some(target) = value.get("$ref").and_then(Value::as_str) else {
            return value;
        };
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("non-local $ref {target}"));
        value = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("$ref {target} resolves to nothing"));
    }
    panic!("$ref cycle at {value}");
}

/// One operation of the document.
struct Operation<'a> {
    method: String,
    path: &'a str,
    item: &'a Value,
    op: &'a Value,
}

impl<'a> Operation<'a> {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn statuses(&self) -> BTreeSet<String> {
        self.op["responses"]
            .as_object()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn documents(&self, status: u16) -> bool {
        self.statuses().contains(&status.to_string())
    }

    fn response(&self, doc: &'a Value, status: u16) -> Option<&'a Value> {
        self.op["responses"]
            .get(status.to_string())
            .map(|r| resolve(doc, r))
    }

    /// Path-item and operation parameters, resolved.
    fn parameters(&self, doc: &'a Value) -> Vec<&'a Value> {
        [self.item, self.op]
            .into_iter()
            .filter_map(|v| v.get("parameters").and_then(Value::as_array))
            .flatten()
            .map(|p| resolve(doc, p))
            .collect()
    }

    /// Whether the operation requires a manage token (an empty requirement
    /// among the alternatives makes it optional).
    fn has_security(&self, doc: &Value) -> bool {
        let security = self.op.get("security").or_else(|| doc.get("security"));
        security.and_then(Value::as_array).is_some_and(|s| {
            !s.is_empty() && !s.iter().any(|r| r.as_object().is_some_and(Map::is_empty))
        })
    }

    fn request_example(&self, doc: &Value) -> Option<Value> {
        let body = resolve(doc, self.op.get("requestBody")?);
        let example = body["content"]["application/json"]["example"].clone();
        assert!(
            !example.is_null(),
            "{}: the request body has no JSON example",
            self.name()
        );
        Some(example)
    }

    /// A request to this operation that should succeed, against `poll`.
    fn call(&self, doc: &'a Value, poll: &Created) -> Call {
        let mut path = self.path.replace("{id}", &poll.id);
        let query: Vec<String> = self
            .parameters(doc)
            .into_iter()
            .filter(|p| p["in"] == "query")
            .filter_map(|p| {
                Some(format!(
                    "{}={}",
                    p["name"].as_str()?,
                    scalar(p.get("example")?)
                ))
            })
            .collect();
        if !query.is_empty() {
            path = format!("{path}?{}", query.join("&"));
        }
        let mut call = Call::new(&self.method, &path);
        // Required headers (the WebSocket handshake) with their examples.
        for param in self.parameters(doc) {
            if param["in"] == "header" && param["required"] == true {
                if let (Some(name), Some(example)) = (param["name"].as_str(), param.get("example"))
                {
                    call = call.header(name, &scalar(example));
                }
            }
        }
        if self.has_security(doc) {
            call = call.header(AUTHORIZATION.as_str(), &format!("Bearer {}", poll.token));
        }
        if let Some(mut example) = self.request_example(doc) {
            // An example code stands for one of the poll's.
            if let (Some(code), Some(field)) = (&poll.invite, example.get_mut("code")) {
                *field = json!(code);
            }
            call = call
                .header(CONTENT_TYPE.as_str(), "application/json")
                .body(example.to_string().into_bytes());
        }
        call
    }
}

fn scalar(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

fn operations(doc: &Value) -> Vec<Operation<'_>> {
    let paths = doc["paths"].as_object().expect("the document has paths");
    let mut ops = Vec::new();
    for (path, item) in paths {
        let item_map = item.as_object().expect("a path item is an object");
        for (key, op) in item_map {
            if OPERATION_KEYS.contains(&key.as_str()) {
                ops.push(Operation {
                    method: key.to_uppercase(),
                    path,
                    item,
                    op,
                });
            }
        }
    }
    ops
}

fn documented_methods(doc: &Value, path: &str) -> BTreeSet<String> {
    operations(doc)
        .into_iter()
        .filter(|op| op.path == path)
        .map(|op| op.method)
        .collect()
}

/// A request to send through the server filter.
#[derive(Clone, Debug)]
struct Call {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Call {
    fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn without_header(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    fn path(mut self, path: String) -> Self {
        self.path = path;
        self
    }

    async fn send(&self, server: &Server) -> Answer {
        let mut request = warp::test::request().method(&self.method).path(&self.path);
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request.body(self.body.clone()).reply(server).await;
        let body = response.body().to_vec();
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            json: serde_json::from_slice(&body).ok(),
            body,
        }
    }
}

/// What the server answered.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
    json: Option<Value>,
}

impl Answer {
    fn header(&self, name: impl warp::http::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn error_code(&self) -> Option<&str> {
        self.json.as_ref()?.pointer("/error/code")?.as_str()
    }
}

/// A poll made through the server: its id and manage token.
struct Created {
    id: String,
    token: String,
    /// An invite-only poll's first invite code.
    invite: Option<String>,
}

/// The answer to creating a poll: a `CreatedPoll`.
async fn post_poll(server: &Server) -> Answer {
    post_draft(
        server,
        json!({"question": "Tabs or spaces?", "options": ["Tabs", "Spaces"]}),
    )
    .await
}

async fn post_draft(server: &Server, draft: Value) -> Answer {
    Call::new("POST", "/api/polls")
        .header(CONTENT_TYPE.as_str(), "application/json")
        .body(draft.to_string().into_bytes())
        .send(server)
        .await
}

async fn create_poll(server: &Server) -> Created {
    created(post_poll(server).await)
}

/// A poll for `op` to act on: invite-only with one code for the `invites`
/// operations (which a poll open to anyone refuses or has none for).
async fn poll_for(server: &Server, op: &Operation<'_>) -> Created {
    if !op.path.contains("/invites") {
        return create_poll(server).await;
    }
    let draft = json!({"question": "Invited?", "options": ["Yes", "No"],
        "eligibility": "invite", "invites": 1});
    created(post_draft(server, draft).await)
}

fn created(answer: Answer) -> Created {
    assert_eq!(answer.status, 201, "creating a poll: {answer:?}");
    let body = answer.json.expect("a JSON body");
    Created {
        id: body["id"].as_str().expect("an id").to_owned(),
        token: body["manage_token"]
            .as_str()
            .expect("a manage token")
            .to_owned(),
        invite: body["invites"][0]["code"].as_str().map(str::to_owned),
    }
}

/// The OpenAPI 3.0 `schema` as JSON Schema 2020-12, which the `jsonschema`
/// crate checks: `nullable: true` becomes an `anyOf` with `null`; and,
/// where `strict`, an object may only have the properties its schema names
/// (its own, its `$ref`'s and its `allOf` branches'), through
/// `unevaluatedProperties: false`. A component and an `allOf` branch are
/// translated loose and made strict where they are used, so that a branch
/// (`CreatedPoll`'s `Poll`) does not refuse the properties the other
/// branches add.
fn json_schema(schema: &Value, strict: bool) -> Value {
    let Some(schema) = schema.as_object() else {
        return schema.clone();
    };
    let mut schema = schema.clone();
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        for property in properties.values_mut() {
            *property = json_schema(property, true);
        }
    }
    if let Some(items) = schema.get_mut("items") {
        *items = json_schema(items, true);
    }
    if let Some(Value::Array(branches)) = schema.get_mut("allOf") {
        for branch in branches {
            *branch = json_schema(branch, false);
        }
    }
    let names_properties = ["properties", "$ref", "allOf"]
        .iter()
        .any(|key| schema.contains_key(*key));
    if strict && names_properties && !schema.contains_key("additionalProperties") {
        schema.insert("unevaluatedProperties".to_owned(), json!(false));
    }
    if schema.remove("nullable") == Some(json!(true)) {
        return json!({"anyOf": [{"type": "null"}, schema]});
    }
    Value::Object(schema)
}

/// The validator of bodies documented by `schema`, with the document's
/// component schemas (translated) beside it for its `$ref`s; formats are
/// checked, a `uuid` being one of our ids (canonical, lowercase).
fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let schemas: Map<String, Value> = doc["components"]["schemas"]
        .as_object()
        .expect("the document has component schemas")
        .iter()
        .map(|(name, schema)| (name.clone(), json_schema(schema, false)))
        .collect();
    let mut root = json_schema(schema, true);
    root["components"] = json!({ "schemas": schemas });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .with_format("uuid", |id: &str| id.parse::<PollId>().is_ok())
        .build(&root)
        .unwrap_or_else(|error| panic!("the schema {schema} does not compile: {error}"))
}

/// What in `body` breaks the documented `schema`, each at its place.
fn body_problems(doc: &Value, schema: &Value, body: &Value, at: &str) -> Vec<String> {
    validator(doc, schema)
        .iter_errors(body)
        .map(|error| format!("{at} at {:?}: {error}", error.instance_path().to_string()))
        .collect()
}

/// What is wrong with `answer` as an instance of the documented `response`:
/// its body, and its headers (required ones present, no undocumented ones).
fn mismatches(doc: &Value, response: &Value, answer: &Answer, what: &str) -> Vec<String> {
    let mut problems = Vec::new();
    match response["content"]["application/json"].get("schema") {
        Some(schema) => {
            let content_type = answer.header(CONTENT_TYPE).unwrap_or_default();
            if !content_type.starts_with("application/json") {
                problems.push(format!(
                    "{what}: content-type {content_type:?}, documented application/json"
                ));
            }
            match &answer.json {
                Some(body) => {
                    problems.extend(body_problems(doc, schema, body, &format!("{what} body")))
                }
                None => problems.push(format!("{what}: the body is not JSON")),
            }
        }
        None => match response["content"]
            .as_object()
            .and_then(|c| c.keys().next())
        {
            // Another documented media type (the Prometheus text page): the
            // content type must be it.
            Some(media) => {
                let content_type = answer.header(CONTENT_TYPE).unwrap_or_default();
                if !content_type.starts_with(media.as_str()) {
                    problems.push(format!(
                        "{what}: content-type {content_type:?}, documented {media}"
                    ));
                }
            }
            None if !answer.body.is_empty() => {
                problems.push(format!("{what}: a body, but none is documented"))
            }
            None => {}
        },
    }
    let documented: BTreeMap<String, &Value> = response["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, header)| (name.to_ascii_lowercase(), resolve(doc, header)))
        .collect();
    for (name, header) in &documented {
        if header["required"] == true && !answer.headers.contains_key(name.as_str()) {
            problems.push(format!("{what}: required header {name} is missing"));
        }
    }
    for name in answer.headers.keys() {
        let name = name.as_str();
        if !COMMON_HEADERS.contains(&name) && !documented.contains_key(name) {
            problems.push(format!("{what}: header {name} is sent but not documented"));
        }
    }
    problems
}

/// Checks that `op` documents `answer`'s status and that `answer` fits it.
fn verify<'a>(doc: &'a Value, op: &Operation<'a>, answer: &Answer, what: &str) -> Vec<String> {
    let what = format!("{} ({what}) answered {}", op.name(), answer.status);
    if let Some(code @ ("route_not_found" | "method_not_allowed")) = answer.error_code() {
        return vec![format!("{what}: no route took it ({code})")];
    }
    match op.response(doc, answer.status) {
        Some(response) => mismatches(doc, response, answer, &what),
        None => vec![format!(
            "{what}: status not documented; documented: {:?}",
            op.statuses()
        )],
    }
}

fn assert_no_problems(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "the document and the server disagree:\n  {}",
        problems.join("\n  ")
    );
}

#[tokio::test]
async fn the_document_lists_exactly_the_routes_the_server_serves() {
    let doc = document();
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|op| (op.method, op.path.to_owned()))
        .collect();
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(served.len(), ROUTES.len(), "ROUTES lists a route twice");
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the document: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "documented operations no route serves: {unserved:?}"
    );
}

#[tokio::test]
async fn the_document_is_openapi_3_with_unique_operation_ids_and_resolvable_references() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.0.3");
    let mut ids = BTreeSet::new();
    for op in operations(&doc) {
        let id = op.op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{} has no operationId", op.name()));
        assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
        let summary = op.op["summary"].as_str().unwrap_or_default();
        assert!(
            !summary.is_empty() && !summary.contains('\n'),
            "{} needs a one-line summary",
            op.name()
        );
        for param in op.parameters(&doc) {
            if param["in"] == "path" {
                let name = param["name"].as_str().unwrap_or_default();
                assert!(
                    op.path.contains(&format!("{{{name}}}")),
                    "{}: path parameter {name} is not in the path",
                    op.name()
                );
            }
        }
    }
    fn walk(doc: &Value, value: &Value) {
        match value {
            Value::Object(map) => {
                if let Some(target) = map.get("$ref") {
                    resolve(doc, value);
                    assert!(target.is_string(), "$ref {target} is not a string");
                }
                map.values().for_each(|v| walk(doc, v));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(doc, v)),
            _ => {}
        }
    }
    walk(&doc, &doc);
}

#[tokio::test]
async fn every_operation_documents_each_status_its_route_contracts_to_answer() {
    let doc = document();
    let contracted: BTreeSet<(&str, &str)> = CONTRACT.iter().map(|(m, p, _)| (*m, *p)).collect();
    let served: BTreeSet<(&str, &str)> = ROUTES.iter().map(|r| (r.method, r.path)).collect();
    assert_eq!(
        contracted, served,
        "CONTRACT in this test must name every route in ROUTES"
    );

    let mut problems = Vec::new();
    for (method, path, statuses) in CONTRACT {
        let Some(op) = operations(&doc)
            .into_iter()
            .find(|op| op.method == *method && op.path == *path)
        else {
            problems.push(format!("{method} {path} is not documented"));
            continue;
        };
        for status in *statuses {
            if !op.documents(*status) {
                problems.push(format!("{method} {path} does not document {status}"));
            }
        }
    }
    assert_no_problems(&problems);
}

#[tokio::test]
async fn every_error_response_is_documented_with_the_error_body() {
    let doc = document();
    let mut problems = Vec::new();
    let mut expect = |response: &Value, schema: &str, what: String| {
        let media = &response["content"]["application/json"]["schema"]["$ref"];
        if media != schema {
            problems.push(format!("{what}: the body is {media}, not {schema}"));
        }
    };
    for op in operations(&doc) {
        for status in op.statuses() {
            if status.parse::<u16>().map_or(true, |s| s < 400) {
                continue;
            }
            let response = resolve(&doc, &op.op["responses"][&status]);
            let schema = NON_ERROR_BODIES
                .iter()
                .find(|(m, p, s, _)| *m == op.method && *p == op.path && *s == status)
                .map_or_else(
                    || ERROR_SCHEMA.to_owned(),
                    |(.., schema)| format!("#/components/schemas/{schema}"),
                );
            expect(response, &schema, format!("{} {status}", op.name()));
        }
    }
    for name in ["MethodNotAllowed", "RouteNotFound"] {
        let response = &doc["components"]["responses"][name];
        expect(
            response,
            ERROR_SCHEMA,
            format!("components/responses/{name}"),
        );
    }
    assert_no_problems(&problems);
}

#[tokio::test]
async fn the_document_served_at_api_openapi_json_is_the_embedded_one_as_json() {
    let response = warp::test::request()
        .path("/api/openapi.json")
        .reply(&routes(App::in_process()))
        .await;
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    assert_eq!(content_type, Some("application/json"));
    let served: Value =
        serde_json::from_slice(response.body()).expect("the served document is JSON");
    assert_eq!(served, document());
    assert_eq!(response.body().as_ref(), OPENAPI_DOCUMENT.as_bytes());
}

#[tokio::test]
async fn a_documented_request_to_every_operation_is_answered_by_its_route_as_documented() {
    let doc = document();
    let server = server();
    let mut problems = Vec::new();
    for op in operations(&doc) {
        let poll = poll_for(&server, &op).await;
        let answer = op.call(&doc, &poll).send(&server).await;
        problems.extend(verify(&doc, &op, &answer, "a documented request"));
        let switched = answer.status == 101 && op.documents(101);
        if !(200..300).contains(&answer.status) && !switched {
            problems.push(format!(
                "{}: a documented request failed: {answer:?}",
                op.name()
            ));
        }
    }
    assert_no_problems(&problems);
}

#[tokio::test]
async fn every_operation_answers_refusals_and_revalidations_with_documented_statuses() {
    let doc = document();
    let server = server();
    let mut problems = Vec::new();
    let mut tried = 0;
    for op in operations(&doc) {
        let poll = poll_for(&server, &op).await;
        let other = create_poll(&server).await;
        let base = op.call(&doc, &poll);
        // (what, request, expected status, expected error code)
        let mut cases: Vec<(&str, Call, u16, Option<&str>)> = Vec::new();
        if op.path.contains("{id}") {
            let unknown = op.path.replace("{id}", &PollId::generate().to_string());
            let malformed = op.path.replace("{id}", "not-a-poll-id");
            cases.push((
                "an unknown poll id",
                base.clone().path(unknown),
                404,
                Some("not_found"),
            ));
            cases.push((
                "a malformed poll id",
                base.clone().path(malformed),
                404,
                Some("not_found"),
            ));
        }
        if op.has_security(&doc) {
            let foreign = format!("Bearer {}", other.token);
            let no_token = base.clone().without_header(AUTHORIZATION.as_str());
            cases.push(("no manage token", no_token, 401, Some("unauthorized")));
            let wrong_token = base.clone().header(AUTHORIZATION.as_str(), &foreign);
            cases.push((
                "another poll's manage token",
                wrong_token,
                403,
                Some("forbidden"),
            ));
        }
        if let Some(example) = op.request_example(&doc) {
            let oversized = vec![b' '; usize::try_from(DEFAULT_BODY_LIMIT).unwrap() + 1];
            let mut unknown_field = example.clone();
            unknown_field["unknown_field"] = json!(true);
            let text = base.clone().header(CONTENT_TYPE.as_str(), "text/plain");
            cases.push((
                "a body that is not JSON",
                base.clone().body(b"{".to_vec()),
                400,
                Some("malformed_json"),
            ));
            cases.push((
                "a body not declared JSON",
                text,
                415,
                Some("unsupported_media_type"),
            ));
            cases.push((
                "a body over the limit",
                base.clone().body(oversized),
                413,
                Some("payload_too_large"),
            ));
            let unknown_field = base.clone().body(unknown_field.to_string().into_bytes());
            cases.push((
                "a body with an unknown field",
                unknown_field,
                422,
                Some("invalid_field"),
            ));
        }
        for param in op.parameters(&doc) {
            let name = param["name"].as_str().unwrap_or_default();
            if param["in"] == "query" {
                if let Some(max) = param["schema"]["maximum"].as_u64() {
                    let (path, _) = base
                        .path
                        .split_once('?')
                        .unwrap_or((base.path.as_str(), ""));
                    let over = base.clone().path(format!("{path}?{name}={}", max + 1));
                    cases.push((
                        "a query parameter over its maximum",
                        over,
                        422,
                        Some("invalid_query"),
                    ));
                }
            }
            if param["in"] == "header" && name.eq_ignore_ascii_case(IF_NONE_MATCH.as_str()) {
                let first = base.send(&server).await;
                let etag = first
                    .header(ETAG)
                    .expect("an ETag to revalidate")
                    .to_owned();
                cases.push((
                    "the current ETag",
                    base.clone().header(name, &etag),
                    304,
                    None,
                ));
            }
            if param["in"] == "cookie" && op.documents(201) && op.documents(200) {
                // The same request again from the same voter: a replay.
                let first = base.send(&server).await;
                if let Some(cookie) = first.header(SET_COOKIE).and_then(|c| c.split(';').next()) {
                    let again = base.clone().header(COOKIE.as_str(), cookie);
                    cases.push((
                        "the same request again from the same voter",
                        again,
                        200,
                        None,
                    ));
                }
            }
        }
        for (what, call, status, code) in cases {
            tried += 1;
            let answer = call.send(&server).await;
            problems.extend(verify(&doc, &op, &answer, what));
            if answer.status != status || answer.error_code() != code {
                problems.push(format!(
                    "{} ({what}): expected {status} {code:?}, got {answer:?}",
                    op.name()
                ));
            }
        }
    }
    assert!(
        tried >= 20,
        "only {tried} cases were derived from the document"
    );
    assert_no_problems(&problems);
}

#[tokio::test]
async fn undocumented_methods_on_documented_paths_are_405_with_the_documented_methods_in_allow() {
    let doc = document();
    let server = server();
    let poll = create_poll(&server).await;
    let method_not_allowed = resolve(&doc, &doc["components"]["responses"]["MethodNotAllowed"]);
    let mut problems = Vec::new();
    let paths: BTreeSet<&str> = operations(&doc).into_iter().map(|op| op.path).collect();
    for path in paths {
        let documented = documented_methods(&doc, path);
        let concrete = path.replace("{id}", &poll.id);
        for method in PROBED_METHODS.iter().filter(|m| !documented.contains(**m)) {
            let answer = Call::new(method, &concrete).send(&server).await;
            let what = format!("{method} {path}");
            if answer.status != 405 || answer.error_code() != Some("method_not_allowed") {
                problems.push(format!(
                    "{what}: expected 405 method_not_allowed, got {answer:?}"
                ));
                continue;
            }
            let allow: BTreeSet<String> = answer
                .header(ALLOW)
                .unwrap_or_default()
                .split(',')
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty())
                .collect();
            if allow != documented {
                problems.push(format!(
                    "{what}: Allow lists {allow:?}, the document {documented:?}"
                ));
            }
            problems.extend(mismatches(&doc, method_not_allowed, &answer, &what));
        }
    }
    assert_no_problems(&problems);
}

#[tokio::test]
async fn paths_the_document_does_not_list_are_404_route_not_found() {
    let doc = document();
    let server = server();
    let route_not_found = resolve(&doc, &doc["components"]["responses"]["RouteNotFound"]);
    let mut problems = Vec::new();
    for path in [
        "/api",
        "/api/poll",
        "/api/polls/x/votes/y",
        "/api/polls/x/live2",
    ] {
        let answer = Call::new("GET", path).send(&server).await;
        if answer.status != 404 || answer.error_code() != Some("route_not_found") {
            problems.push(format!(
                "GET {path}: expected 404 route_not_found, got {answer:?}"
            ));
        }
        problems.extend(mismatches(
            &doc,
            route_not_found,
            &answer,
            &format!("GET {path}"),
        ));
    }
    assert_no_problems(&problems);
}

/// Breaks a body that fits its schema.
type Break = fn(&mut Value);

#[tokio::test]
async fn a_body_that_breaks_its_documented_schema_is_a_problem() {
    let doc = document();
    let created = post_poll(&server()).await.json.expect("a JSON body");
    let created_poll = json!({"$ref": "#/components/schemas/CreatedPoll"});
    let problems = |body: &Value| body_problems(&doc, &created_poll, body, "the body");
    // The real body fits: `Poll`'s properties and the `allOf` branch's
    // `manage_token` are all named, and `closes_at` may be null.
    assert_eq!(problems(&created), Vec::<String>::new());
    assert!(created["closes_at"].is_null(), "{created}");
    let poll = json!({"$ref": "#/components/schemas/Poll"});
    assert!(
        !body_problems(&doc, &poll, &created, "the body").is_empty(),
        "a Poll has no manage_token"
    );

    let breaks: &[(&str, Break)] = &[
        ("an undocumented property", |b| b["surprise"] = json!(true)),
        ("an undocumented property in an item", |b| {
            b["options"][0]["surprise"] = json!(true)
        }),
        ("a required property missing", |b| {
            b.as_object_mut().map(|b| b.remove("question"));
        }),
        ("null where it is not nullable", |b| {
            b["created_at"] = Value::Null
        }),
        ("a malformed date-time", |b| {
            b["created_at"] = json!("yesterday")
        }),
        ("an id not in canonical form", |b| {
            b["id"] = json!(b["id"].as_str().map(str::to_uppercase))
        }),
        ("a value outside its enum", |b| b["status"] = json!("ajar")),
        ("too few items", |b| b["options"] = json!([b["options"][0]])),
        ("too long a string", |b| {
            b["question"] = json!("?".repeat(301))
        }),
        ("an integer under its minimum", |b| {
            b["max_choices"] = json!(0)
        }),
        ("a number that is not an integer", |b| {
            b["max_choices"] = json!(1.5)
        }),
        ("a string for a boolean", |b| b["multiple"] = json!("yes")),
        ("a string for an object", |b| {
            b["options"][0] = json!("Tabs")
        }),
        ("a string for an array", |b| b["options"] = json!("Tabs")),
        ("a token off its pattern", |b| {
            b["manage_token"] = json!("not-hex")
        }),
    ];
    for (what, break_it) in breaks {
        let mut body = created.clone();
        break_it(&mut body);
        assert!(!problems(&body).is_empty(), "{what} passed: {body}");
    }

    // Through the check every test makes of an answer: an error body whose
    // code is not one of the documented codes.
    let route_not_found = resolve(&doc, &doc["components"]["responses"]["RouteNotFound"]);
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, "application/json".parse().expect("a header"));
    let body = json!({"error": {"code": "no_such_code", "message": "?"}});
    let answer = Answer {
        status: 404,
        headers,
        body: body.to_string().into_bytes(),
        json: Some(body),
    };
    let problems = mismatches(&doc, route_not_found, &answer, "GET /nowhere");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("no_such_code"), "{problems:?}");
}

/// Each voting method end to end through the routes: the draft, the ballot
/// and the answers (the created poll, the vote with its receipt, the
/// results with their runoff) all fit their documented schemas, and a
/// ballot of the wrong shape is a documented 422.
#[tokio::test]
async fn every_method_s_polls_ballots_and_results_fit_their_documented_schemas() {
    let doc = document();
    let server = server();
    let schema = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    let mut problems = Vec::new();
    let send =
        |method: &'static str, path: String, body: &Value| json_call(&server, method, &path, body);
    let cases = [
        ("plurality", json!({ "choices": [1] })),
        ("approval", json!({ "choices": [0, 2] })),
        ("ranked", json!({ "ranking": [2, 0] })),
        ("star", json!({ "scores": [5, 0, 3] })),
    ];
    for (method, ballot) in cases {
        let draft = json!({ "question": "Which?", "options": ["a", "b", "c"], "method": method });
        problems.extend(body_problems(&doc, &schema("PollDraft"), &draft, method));
        problems.extend(body_problems(&doc, &schema("VoteRequest"), &ballot, method));
        let created = send("POST", "/api/polls".into(), &draft).await;
        assert_eq!(created.status, 201, "{method}: {created:?}");
        let created = created.json.expect("a created poll");
        problems.extend(body_problems(
            &doc,
            &schema("CreatedPoll"),
            &created,
            method,
        ));
        assert_eq!(created["method"], method);
        let id = created["id"].as_str().expect("an id").to_owned();

        let vote = send("POST", format!("/api/polls/{id}/votes"), &ballot).await;
        assert_eq!(vote.status, 201, "{method}: {vote:?}");
        let vote = vote.json.expect("a vote answer");
        problems.extend(body_problems(&doc, &schema("VoteResponse"), &vote, method));
        let key = ballot
            .as_object()
            .and_then(|b| b.keys().next())
            .expect("a key");
        assert_eq!(
            vote["receipt"][key], ballot[key],
            "{method}: the receipt's marks"
        );
        problems.extend(body_problems(
            &doc,
            &schema("Results"),
            &vote["results"],
            method,
        ));
        let tally = match method {
            "ranked" => Some("ranked"),
            "star" => Some("star"),
            _ => None,
        };
        if let Some(tally) = tally {
            assert!(vote["results"][tally].is_object(), "{method}: {vote}");
        }

        // Another method's shape is a 422 the document lists.
        let wrong = match method {
            "ranked" => json!({ "scores": [1, 2, 3] }),
            _ => json!({ "ranking": [0] }),
        };
        let refused = send("POST", format!("/api/polls/{id}/votes"), &wrong).await;
        assert_eq!(refused.status, 422, "{method}: {refused:?}");
        assert_eq!(refused.error_code(), Some("invalid_choice"), "{method}");
    }
    assert_no_problems(&problems);
}

/// Sends `body` as JSON to `path` with `method`.
fn json_call(
    server: &Server,
    method: &str,
    path: &str,
    body: &Value,
) -> impl std::future::Future<Output = Answer> {
    let call = Call::new(method, path)
        .header(CONTENT_TYPE.as_str(), "application/json")
        .body(body.to_string().into_bytes());
    let server = server.clone();
    async move { call.send(&server).await }
}

/// A secret poll, its choiceless vote answer and its refusals (a second
/// ballot, `secret` with `allow_vote_change`) fit the document, with the
/// codes and statuses it lists.
#[tokio::test]
async fn a_secret_polls_answers_and_refusals_fit_their_documented_schemas() {
    let doc = document();
    let server = server();
    let schema = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    let send = |path: String, body: &Value| json_call(&server, "POST", &path, body);
    let mut problems = Vec::new();
    let draft = json!({ "question": "Chair?", "options": ["a", "b"], "secret": true });
    problems.extend(body_problems(&doc, &schema("PollDraft"), &draft, "draft"));
    let created = send("/api/polls".into(), &draft).await;
    assert_eq!(created.status, 201, "{created:?}");
    let created = created.json.expect("a created poll");
    problems.extend(body_problems(
        &doc,
        &schema("CreatedPoll"),
        &created,
        "created",
    ));
    assert_eq!(created["secret"], true);
    let id = created["id"].as_str().expect("an id").to_owned();

    let vote = Call::new("POST", &format!("/api/polls/{id}/votes"))
        .header(CONTENT_TYPE.as_str(), "application/json")
        .header("cookie", "polling_voter=secret-voter-1")
        .body(br#"{"choices":[1]}"#.to_vec());
    let answer = vote.clone().send(&server).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    let body = answer.json.clone().expect("a vote answer");
    problems.extend(body_problems(&doc, &schema("VoteResponse"), &body, "vote"));
    assert_eq!(body["receipt"], json!({ "poll_id": id, "secret": true }));
    assert_eq!(body["results"], Value::Null);
    let op = operations(&doc)
        .into_iter()
        .find(|op| op.path == "/api/polls/{id}/votes")
        .expect("the vote operation");
    problems.extend(verify(&doc, &op, &answer, "a secret vote"));
    let again = vote.send(&server).await;
    assert_eq!(
        (again.status, again.error_code()),
        (409, Some("already_voted"))
    );
    problems.extend(verify(&doc, &op, &again, "a second secret ballot"));

    let changing = json!({ "question": "Chair?", "options": ["a", "b"], "secret": true, "allow_vote_change": true });
    let refused = send("/api/polls".into(), &changing).await;
    assert_eq!(
        (refused.status, refused.error_code()),
        (400, Some("secret_vote_change"))
    );
    let create = operations(&doc)
        .into_iter()
        .find(|op| op.path == "/api/polls" && op.method == "POST")
        .expect("the create operation");
    problems.extend(verify(&doc, &create, &refused, "secret with vote change"));
    assert_no_problems(&problems);
}

//! The HTTP API (`ARCHITECTURE.md#http-contract`) over real HTTP: every
//! route's success and every error of its table row, status and JSON body alike, plus concurrency and
//! graceful shutdown. Each test runs its own server on a free port.

use crate::common;
use std::time::Duration;

use crate::common::{create_poll, draft, id_of, Client, Request, TestServer};
use bytes::Bytes;
use hyper::Method;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::task::JoinSet;

/// The default body limit (`ARCHITECTURE.md#http-contract`).
const LIMIT: usize = 16 * 1024;

/// A poll id that no poll has (canonical form, so it parses).
const UNKNOWN_ID: &str = "0190a0b0-0000-7000-8000-000000000000";

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("a formattable time")
}

fn multiple_draft() -> Value {
    json!({
        "question": "Which editors?",
        "options": ["vim", "emacs", "nano"],
        "multiple": true,
        "max_choices": 2,
    })
}

/// A started server, a client, and a poll created by that client.
async fn server_with_poll(draft: Value) -> (TestServer, Client, String, String) {
    let server = TestServer::start().await;
    let client = server.client();
    let (poll, token) = create_poll(&client, draft).await;
    (server, client, id_of(&poll), token)
}

// ---------------------------------------------------------------- create

#[tokio::test]
async fn creating_a_poll_answers_201_with_location_the_poll_and_a_manage_token() {
    let server = TestServer::start().await;
    let client = server.client();
    let draft = json!({ "question": "  Tabs or spaces? ", "options": [" Tabs", "Spaces "] });
    let response = client.post_json("/api/polls", &draft).await;

    let body = response.assert_json(201);
    let id = id_of(&body);
    assert_eq!(id.len(), 36, "a canonical uuid: {id}");
    assert_eq!(
        response.header("location"),
        Some(&*format!("/api/polls/{id}"))
    );
    assert_eq!(body["question"], "Tabs or spaces?");
    assert_eq!(
        body["options"],
        json!([{ "id": 0, "text": "Tabs" }, { "id": 1, "text": "Spaces" }])
    );
    assert_eq!(body["multiple"], false);
    assert_eq!(body["max_choices"], 1);
    assert_eq!(body["closes_at"], Value::Null);
    assert_eq!(body["closed_at"], Value::Null);
    assert_eq!(body["status"], "open");
    assert!(body["created_at"]
        .as_str()
        .is_some_and(|t| OffsetDateTime::parse(t, &Rfc3339).is_ok()));
    let token = body["manage_token"].as_str().expect("a manage token");
    assert!(!token.is_empty());

    let read = client
        .get(&format!("/api/polls/{id}"))
        .await
        .assert_json(200);
    let mut created = body.clone();
    created.as_object_mut().unwrap().remove("manage_token");
    assert_eq!(
        read, created,
        "the poll reads back as created, without its token"
    );
}

#[tokio::test]
async fn the_voter_cookie_is_set_on_first_contact_only() {
    let server = TestServer::start().await;
    let client = server.client();
    let first = client.post_json("/api/polls", &draft(&["a", "b"])).await;
    assert_eq!(first.status, 201);
    let cookie = first
        .header("set-cookie")
        .expect("a voter cookie on first contact");
    assert!(cookie.starts_with("polling_voter="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(client.voter_id().is_some());

    let again = client.post_json("/api/polls", &draft(&["a", "b"])).await;
    assert_eq!(again.status, 201);
    assert_eq!(
        again.header("set-cookie"),
        None,
        "a known voter gets no new cookie"
    );
    let id = id_of(&again.json());
    let read = client.get(&format!("/api/polls/{id}")).await;
    assert_eq!(read.header("set-cookie"), None);
}

#[tokio::test]
async fn create_with_malformed_json_is_400_malformed_json() {
    let server = TestServer::start().await;
    let client = server.client();
    let bodies: [&[u8]; 5] = [
        b"{",
        b"",
        b"{\"question\": \"Q\", \"options\": [\"a\", \"b\"],}",
        b"{\"question\": \"\xff\xfe\", \"options\": [\"a\", \"b\"]}",
        b"not json at all",
    ];
    for body in bodies {
        let request = Request::post("/api/polls")
            .header("content-type", "application/json")
            .body(Bytes::from_static(body));
        client
            .send(request)
            .await
            .assert_error(400, "malformed_json");
    }
}

#[tokio::test]
async fn create_without_a_json_content_type_is_415_unsupported_media_type() {
    let server = TestServer::start().await;
    let client = server.client();
    let body = serde_json::to_vec(&draft(&["a", "b"])).unwrap();
    for content_type in [
        Some("text/plain"),
        Some("application/jsonx"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut request = Request::post("/api/polls").body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        client
            .send(request)
            .await
            .assert_error(415, "unsupported_media_type");
    }
    let charset = Request::post("/api/polls")
        .header("content-type", "application/json; charset=utf-8")
        .body(body);
    assert_eq!(
        client.send(charset).await.status,
        201,
        "parameters of the media type are fine"
    );
}

/// The draft's JSON padded with trailing spaces to exactly `len` bytes.
fn padded_draft(len: usize) -> Vec<u8> {
    let mut body = serde_json::to_vec(&draft(&["a", "b"])).unwrap();
    assert!(body.len() <= len);
    body.resize(len, b' ');
    body
}

#[tokio::test]
async fn create_with_a_body_over_16_kib_is_413_payload_too_large() {
    let server = TestServer::start().await;
    let client = server.client();
    let json = |body: Vec<u8>| {
        Request::post("/api/polls")
            .header("content-type", "application/json")
            .body(body)
    };
    assert_eq!(
        client.send(json(padded_draft(LIMIT))).await.status,
        201,
        "exactly the limit is fine"
    );
    client
        .send(json(padded_draft(LIMIT + 1)))
        .await
        .assert_error(413, "payload_too_large");
    client
        .send(json(vec![b'x'; 4 * LIMIT]))
        .await
        .assert_error(413, "payload_too_large");
}

#[tokio::test]
async fn a_chunked_body_over_16_kib_without_content_length_is_413() {
    let server = TestServer::start().await;
    let client = server.client();
    let chunked = |body: Vec<u8>| {
        let chunks = body.chunks(4096).map(Bytes::copy_from_slice).collect();
        Request::post("/api/polls")
            .header("content-type", "application/json")
            .chunked(chunks)
    };
    assert_eq!(
        client.send(chunked(padded_draft(LIMIT))).await.status,
        201,
        "a chunked body within the limit is read whole"
    );
    client
        .send(chunked(padded_draft(LIMIT + 1)))
        .await
        .assert_error(413, "payload_too_large");
    client
        .send(chunked(vec![b' '; 3 * LIMIT]))
        .await
        .assert_error(413, "payload_too_large");
}

#[tokio::test]
async fn create_with_unknown_or_mistyped_fields_is_422_invalid_field() {
    let server = TestServer::start().await;
    let client = server.client();
    let drafts = [
        json!({ "question": "Q", "options": ["a", "b"], "colour": "red" }),
        json!({ "question": 5, "options": ["a", "b"] }),
        json!({ "options": ["a", "b"] }),
        json!({ "question": "Q" }),
        json!({ "question": "Q", "options": "a, b" }),
        json!({ "question": "Q", "options": ["a", 2] }),
        json!({ "question": "Q", "options": ["a", "b"], "multiple": "yes" }),
        json!({ "question": "Q", "options": ["a", "b"], "max_choices": -1 }),
        json!({ "question": "Q", "options": ["a", "b"], "closes_at": "tomorrow" }),
        json!([]),
        json!("a poll"),
        json!(null),
    ];
    for draft in drafts {
        let response = client.post_json("/api/polls", &draft).await;
        assert_eq!(response.status, 422, "{draft}");
        response.assert_error(422, "invalid_field");
    }
}

#[tokio::test]
async fn create_with_invalid_values_is_422_invalid_poll_naming_the_field() {
    let server = TestServer::start().await;
    let client = server.client();
    let options = |n: usize| (0..n).map(|i| format!("option {i}")).collect::<Vec<_>>();
    let past = rfc3339(OffsetDateTime::now_utc() - time::Duration::minutes(1));
    let cases = [
        (
            json!({ "question": "   ", "options": ["a", "b"] }),
            "question",
        ),
        (
            json!({ "question": "q".repeat(301), "options": ["a", "b"] }),
            "question",
        ),
        (
            json!({ "question": "a\u{0}b", "options": ["a", "b"] }),
            "question",
        ),
        (json!({ "question": "Q", "options": ["a"] }), "options"),
        (json!({ "question": "Q", "options": [] }), "options"),
        (
            json!({ "question": "Q", "options": options(21) }),
            "options",
        ),
        (
            json!({ "question": "Q", "options": ["Yes", " yes "] }),
            "options",
        ),
        (
            json!({ "question": "Q", "options": ["a", "x".repeat(121)] }),
            "options",
        ),
        (json!({ "question": "Q", "options": ["a", " "] }), "options"),
        (
            json!({ "question": "Q", "options": ["a", "b"], "max_choices": 2 }),
            "max_choices",
        ),
        (
            json!({ "question": "Q", "options": ["a", "b"], "multiple": true, "max_choices": 0 }),
            "max_choices",
        ),
        (
            json!({ "question": "Q", "options": ["a", "b"], "multiple": true, "max_choices": 3 }),
            "max_choices",
        ),
        (
            json!({ "question": "Q", "options": ["a", "b"], "closes_at": past }),
            "closes_at",
        ),
    ];
    for (draft, field) in cases {
        let body = client
            .post_json("/api/polls", &draft)
            .await
            .assert_error(422, "invalid_poll");
        assert_eq!(body["error"]["field"], field, "{draft}");
    }
}

#[tokio::test]
async fn drafts_at_the_limits_are_accepted() {
    let server = TestServer::start().await;
    let client = server.client();
    let options: Vec<String> = (0..20).map(|i| format!("{i}{}", "é".repeat(118))).collect();
    let draft = json!({ "question": "é".repeat(300), "options": options, "multiple": true });
    let (poll, _) = create_poll(&client, draft).await;
    assert_eq!(poll["options"].as_array().unwrap().len(), 20);
    assert_eq!(
        poll["max_choices"], 20,
        "max_choices defaults to the option count"
    );
    assert_eq!(poll["multiple"], true);

    let closes_at = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let draft = json!({ "question": "Q", "options": ["a", "b"], "closes_at": rfc3339(closes_at) });
    let (poll, _) = create_poll(&client, draft).await;
    assert_eq!(poll["status"], "open");
    let read = OffsetDateTime::parse(poll["closes_at"].as_str().unwrap(), &Rfc3339).unwrap();
    assert!((read - closes_at).abs() < time::Duration::milliseconds(1));
}

// ---------------------------------------------------------------- list

#[tokio::test]
async fn polls_are_listed_newest_first_and_paged_by_next_cursor() {
    let server = TestServer::start().await;
    let client = server.client();
    let empty = client.get("/api/polls").await.assert_json(200);
    assert_eq!(empty, json!({ "polls": [], "next_cursor": null }));

    let mut created = Vec::new();
    for i in 0..5 {
        let (poll, _) = create_poll(
            &client,
            json!({ "question": format!("Q{i}"), "options": ["a", "b"] }),
        )
        .await;
        created.push(id_of(&poll));
    }
    created.reverse();

    let all = client.get("/api/polls").await.assert_json(200);
    let ids: Vec<String> = all["polls"].as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(ids, created, "newest first");
    assert_eq!(all["next_cursor"], Value::Null);
    assert!(
        all["polls"][0].get("manage_token").is_none(),
        "tokens are shown once"
    );

    let mut paged = Vec::new();
    let mut path = "/api/polls?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page = client.get(&path).await.assert_json(200);
        pages += 1;
        let polls = page["polls"].as_array().unwrap();
        assert!(polls.len() <= 2);
        paged.extend(polls.iter().map(id_of));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/polls?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(paged, created);
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn a_bad_limit_or_cursor_is_422_invalid_query() {
    let server = TestServer::start().await;
    let client = server.client();
    for query in [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=x",
        "limit=",
        "limit=1e3",
        "limit=99999999999999999999999",
        "cursor=nope",
        "cursor=",
        "cursor=%FF",
        "page=2",
        "limit=2&limit=3",
    ] {
        let response = client.get(&format!("/api/polls?{query}")).await;
        assert_eq!(response.status, 422, "{query}: {:?}", response.body);
        response.assert_error(422, "invalid_query");
    }
    let unknown_cursor = client
        .get(&format!("/api/polls?limit=100&cursor={UNKNOWN_ID}"))
        .await;
    assert_eq!(unknown_cursor.assert_json(200)["polls"], json!([]));
}

// ---------------------------------------------------------------- get

#[tokio::test]
async fn get_of_an_unknown_or_malformed_id_is_404_not_found() {
    let (_server, client, id, _) = server_with_poll(draft(&["a", "b"])).await;
    client
        .get(&format!("/api/polls/{id}"))
        .await
        .assert_json(200);
    let simple = id.replace('-', "");
    let urn = format!("urn:uuid:{id}");
    for bad in [
        UNKNOWN_ID, "nope", "42", &simple, &urn, "%FF", "%20", "..", "-1",
    ] {
        client
            .get(&format!("/api/polls/{bad}"))
            .await
            .assert_error(404, "not_found");
    }
}

// ---------------------------------------------------------------- vote

#[tokio::test]
async fn a_first_vote_is_201_with_receipt_and_results() {
    let (server, client, id, _) = server_with_poll(draft(&["a", "b", "c"])).await;
    let voter = server.client();
    let body = voter.vote(&id, &[2]).await.assert_json(201);
    assert_eq!(body["receipt"]["poll_id"], id);
    assert_eq!(body["receipt"]["choices"], json!([2]));
    assert_eq!(body["receipt"]["version"], 1);
    assert!(body["receipt"]["cast_at"].is_string());
    assert_eq!(body["results"]["poll_id"], id);
    assert_eq!(body["results"]["version"], 1);
    assert_eq!(body["results"]["total"], 1);
    assert_eq!(
        body["results"]["counts"],
        json!([
            { "option_id": 0, "votes": 0 },
            { "option_id": 1, "votes": 0 },
            { "option_id": 2, "votes": 1 },
        ])
    );
    assert!(voter.voter_id().is_some(), "voting is a first contact too");
    let results = client
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);
    assert_eq!(results, body["results"]);
}

#[tokio::test]
async fn the_same_ballot_again_is_200_with_the_original_receipt() {
    let (server, _, id, _) = server_with_poll(multiple_draft()).await;
    let voter = server.client();
    let first = voter.vote(&id, &[2, 0]).await.assert_json(201);
    let other = server.client();
    other.vote(&id, &[1]).await.assert_json(201);

    let again = voter.vote(&id, &[0, 2]).await.assert_json(200);
    assert_eq!(
        again["receipt"], first["receipt"],
        "the original receipt, order aside"
    );
    assert_eq!(again["receipt"]["choices"], json!([0, 2]));
    assert_eq!(again["results"]["version"], 2, "with the current results");
    assert_eq!(again["results"]["total"], 2);
}

#[tokio::test]
async fn a_different_ballot_from_the_same_voter_is_409_already_voted() {
    let (server, _, id, _) = server_with_poll(draft(&["a", "b"])).await;
    let voter = server.client();
    voter.vote(&id, &[0]).await.assert_json(201);
    voter
        .vote(&id, &[1])
        .await
        .assert_error(409, "already_voted");
    let results = voter
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);
    assert_eq!(results["total"], 1);
}

#[tokio::test]
async fn vote_after_close_is_rejected() {
    let (server, owner, id, token) = server_with_poll(draft(&["a", "b"])).await;
    let early = server.client();
    early.vote(&id, &[0]).await.assert_json(201);
    let close = Request::post(format!("/api/polls/{id}/close")).bearer(&token);
    owner.send(close).await.assert_json(200);

    server
        .client()
        .vote(&id, &[1])
        .await
        .assert_error(409, "poll_closed");
    let results = owner
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);
    assert_eq!(results["total"], 1, "a closed poll's results stay readable");
}

#[tokio::test]
async fn vote_after_closes_at_is_rejected() {
    let server = TestServer::start().await;
    let client = server.client();
    let closes_at = OffsetDateTime::now_utc() + time::Duration::milliseconds(1500);
    let draft = json!({ "question": "Q", "options": ["a", "b"], "closes_at": rfc3339(closes_at) });
    let (poll, _) = create_poll(&client, draft).await;
    let id = id_of(&poll);
    server.client().vote(&id, &[0]).await.assert_json(201);

    let wait = closes_at - OffsetDateTime::now_utc() + time::Duration::milliseconds(100);
    tokio::time::sleep(wait.try_into().unwrap_or(Duration::ZERO)).await;
    server
        .client()
        .vote(&id, &[1])
        .await
        .assert_error(409, "poll_closed");
    let read = client
        .get(&format!("/api/polls/{id}"))
        .await
        .assert_json(200);
    assert_eq!(read["status"], "closed");
}

#[tokio::test]
async fn invalid_choices_are_422_invalid_choice() {
    let server = TestServer::start().await;
    let client = server.client();
    let (single, _) = create_poll(&client, draft(&["a", "b", "c"])).await;
    let (multiple, _) = create_poll(&client, multiple_draft()).await;
    let (single, multiple) = (id_of(&single), id_of(&multiple));
    let cases: [(&str, &[u32]); 7] = [
        (&single, &[3]),
        (&single, &[99]),
        (&single, &[0, 1]),
        (&single, &[0, 0]),
        (&single, &[]),
        (&multiple, &[0, 1, 2]),
        (&multiple, &[1, 1]),
    ];
    for (poll, choices) in cases {
        let response = client.vote(poll, choices).await;
        assert_eq!(response.status, 422, "{choices:?}");
        response.assert_error(422, "invalid_choice");
    }
    let too_many: Vec<u32> = (0..21).collect();
    client
        .vote(&multiple, &too_many)
        .await
        .assert_error(422, "invalid_choice");
    let results = client
        .get(&format!("/api/polls/{single}/results"))
        .await
        .assert_json(200);
    assert_eq!(results["version"], 0, "nothing was counted");
    // After all those refusals, the voter still has its one ballot.
    client.vote(&single, &[1]).await.assert_json(201);
}

#[tokio::test]
async fn malformed_vote_bodies_are_refused_with_their_own_codes() {
    let (_server, client, id, _) = server_with_poll(draft(&["a", "b"])).await;
    let path = format!("/api/polls/{id}/votes");
    for body in [
        json!({ "choices": [-1] }),
        json!({ "choices": ["a"] }),
        json!({ "choices": 0 }),
        json!({ "choices": [4294967296_u64] }),
        json!({}),
        json!({ "choices": [0], "voter": "x" }),
    ] {
        client
            .post_json(&path, &body)
            .await
            .assert_error(422, "invalid_field");
    }
    let raw = |bytes: &'static [u8]| {
        Request::post(path.clone())
            .header("content-type", "application/json")
            .body(Bytes::from_static(bytes))
    };
    client
        .send(raw(b"{\"choices\": [0]"))
        .await
        .assert_error(400, "malformed_json");
    client
        .send(raw(b"\xff\xff"))
        .await
        .assert_error(400, "malformed_json");
    let text = Request::post(path.clone())
        .header("content-type", "text/plain")
        .body("{\"choices\":[0]}");
    client
        .send(text)
        .await
        .assert_error(415, "unsupported_media_type");
    let big = Request::post(path.clone())
        .header("content-type", "application/json")
        .body(vec![b' '; LIMIT + 1]);
    client
        .send(big)
        .await
        .assert_error(413, "payload_too_large");
}

#[tokio::test]
async fn vote_on_an_unknown_poll_is_404_not_found() {
    let server = TestServer::start().await;
    let client = server.client();
    client
        .vote(UNKNOWN_ID, &[0])
        .await
        .assert_error(404, "not_found");
    client
        .vote("nope", &[0])
        .await
        .assert_error(404, "not_found");
}

// ---------------------------------------------------------------- results

#[tokio::test]
async fn results_carry_their_version_as_etag_and_revalidate_with_if_none_match() {
    let (server, client, id, _) = server_with_poll(draft(&["a", "b"])).await;
    let path = format!("/api/polls/{id}/results");
    let first = client.get(&path).await;
    let body = first.assert_json(200);
    assert_eq!(body["version"], 0);
    assert_eq!(body["total"], 0);
    assert_eq!(first.header("etag"), Some("\"0\""));

    let fresh = client
        .send(Request::get(&path).header("if-none-match", "\"0\""))
        .await;
    assert_eq!(fresh.status, 304);
    assert!(fresh.body.is_empty());
    assert_eq!(fresh.header("etag"), Some("\"0\""));

    server.client().vote(&id, &[1]).await.assert_json(201);
    let stale = client
        .send(Request::get(&path).header("if-none-match", "\"0\""))
        .await;
    let body = stale.assert_json(200);
    assert_eq!(
        stale.header("etag"),
        Some("\"1\""),
        "a vote makes a new ETag"
    );
    assert_eq!(body["version"], 1);
    assert_eq!(body["counts"][1]["votes"], 1);
    let fresh = client
        .send(Request::get(&path).header("if-none-match", "W/\"1\""))
        .await;
    assert_eq!(fresh.status, 304);
}

#[tokio::test]
async fn results_of_an_unknown_poll_are_404_not_found() {
    let server = TestServer::start().await;
    let client = server.client();
    for id in [UNKNOWN_ID, "nope"] {
        client
            .get(&format!("/api/polls/{id}/results"))
            .await
            .assert_error(404, "not_found");
    }
}

// ---------------------------------------------------------------- close / delete

#[tokio::test]
async fn close_and_delete_without_a_token_are_401_unauthorized() {
    let (_server, client, id, _) = server_with_poll(draft(&["a", "b"])).await;
    let requests = || {
        [
            Request::post(format!("/api/polls/{id}/close")),
            Request::delete(format!("/api/polls/{id}")),
        ]
    };
    for request in requests() {
        let response = client.send(request).await;
        response.assert_error(401, "unauthorized");
        assert_eq!(response.header("www-authenticate"), Some("Bearer"));
    }
    for request in requests() {
        let response = client
            .send(request.header("authorization", "Basic YWJjOmRlZg=="))
            .await;
        response.assert_error(401, "unauthorized");
    }
    for request in requests() {
        let response = client
            .send(request.header("authorization", "Bearer "))
            .await;
        response.assert_error(401, "unauthorized");
    }
    client
        .get(&format!("/api/polls/{id}"))
        .await
        .assert_json(200);
}

#[tokio::test]
async fn close_and_delete_with_a_wrong_token_are_403_forbidden() {
    let server = TestServer::start().await;
    let client = server.client();
    let (poll, _) = create_poll(&client, draft(&["a", "b"])).await;
    let (_, other_token) = create_poll(&client, draft(&["c", "d"])).await;
    let id = id_of(&poll);
    for token in ["wrong", other_token.as_str()] {
        let close = Request::post(format!("/api/polls/{id}/close")).bearer(token);
        client.send(close).await.assert_error(403, "forbidden");
        let delete = Request::delete(format!("/api/polls/{id}")).bearer(token);
        client.send(delete).await.assert_error(403, "forbidden");
    }
    let read = client
        .get(&format!("/api/polls/{id}"))
        .await
        .assert_json(200);
    assert_eq!(read["status"], "open");
}

#[tokio::test]
async fn close_and_delete_of_an_unknown_poll_are_404_not_found() {
    let server = TestServer::start().await;
    let client = server.client();
    let (_, token) = create_poll(&client, draft(&["a", "b"])).await;
    for id in [UNKNOWN_ID, "nope"] {
        let close = Request::post(format!("/api/polls/{id}/close")).bearer(&token);
        client.send(close).await.assert_error(404, "not_found");
        let delete = Request::delete(format!("/api/polls/{id}")).bearer(&token);
        client.send(delete).await.assert_error(404, "not_found");
    }
}

#[tokio::test]
async fn closing_with_the_manage_token_answers_200_with_the_closed_poll() {
    let (_server, client, id, token) = server_with_poll(draft(&["a", "b"])).await;
    let close = || Request::post(format!("/api/polls/{id}/close")).bearer(&token);
    let closed = client.send(close()).await.assert_json(200);
    assert_eq!(closed["id"], id);
    assert_eq!(closed["status"], "closed");
    assert!(closed["closed_at"].is_string());
    assert!(closed.get("manage_token").is_none());
    let read = client
        .get(&format!("/api/polls/{id}"))
        .await
        .assert_json(200);
    assert_eq!(read, closed);
    let again = client.send(close()).await.assert_json(200);
    assert_eq!(
        again["closed_at"], closed["closed_at"],
        "closing twice keeps the first time"
    );
}

#[tokio::test]
async fn deleting_with_the_manage_token_answers_204_and_the_poll_is_gone() {
    let (server, client, id, token) = server_with_poll(draft(&["a", "b"])).await;
    server.client().vote(&id, &[0]).await.assert_json(201);
    client
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);

    let deleted = client
        .send(Request::delete(format!("/api/polls/{id}")).bearer(&token))
        .await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.body.is_empty());

    client
        .get(&format!("/api/polls/{id}"))
        .await
        .assert_error(404, "not_found");
    client
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_error(404, "not_found");
    server
        .client()
        .vote(&id, &[1])
        .await
        .assert_error(404, "not_found");
    client
        .send(Request::post(format!("/api/polls/{id}/close")).bearer(&token))
        .await
        .assert_error(404, "not_found");
    client
        .send(Request::delete(format!("/api/polls/{id}")).bearer(&token))
        .await
        .assert_error(404, "not_found");
    let list = client.get("/api/polls").await.assert_json(200);
    assert_eq!(list["polls"], json!([]));
}

// ---------------------------------------------------------------- routing, health, headers

#[tokio::test]
async fn unknown_routes_are_404_route_not_found() {
    let server = TestServer::start().await;
    let client = server.client();
    for path in [
        "/",
        "/api",
        "/api/nope",
        "/api/polls/x/y",
        "/api/polls/x/results/z",
        "/healthz/x",
    ] {
        let response = client.get(path).await;
        assert_eq!(response.status, 404, "{path}");
        response.assert_error(404, "route_not_found");
    }
    let response = client
        .send(Request::post("/api/nope").json(&json!({})))
        .await;
    response.assert_error(404, "route_not_found");
}

#[tokio::test]
async fn a_wrong_method_is_405_method_not_allowed_with_allow() {
    let server = TestServer::start().await;
    let client = server.client();
    let cases = [
        (
            Method::PUT,
            format!("/api/polls/{UNKNOWN_ID}"),
            "GET, DELETE",
        ),
        (Method::PATCH, "/api/polls/nope".to_owned(), "GET, DELETE"),
        (Method::DELETE, "/api/polls".to_owned(), "GET, POST"),
        (
            Method::GET,
            format!("/api/polls/{UNKNOWN_ID}/votes"),
            "POST",
        ),
        (
            Method::GET,
            format!("/api/polls/{UNKNOWN_ID}/close"),
            "POST",
        ),
        (
            Method::POST,
            format!("/api/polls/{UNKNOWN_ID}/results"),
            "GET",
        ),
        (Method::POST, "/healthz".to_owned(), "GET"),
        (Method::DELETE, "/readyz".to_owned(), "GET"),
    ];
    for (method, path, allow) in cases {
        let response = client
            .send(Request::new(method.clone(), path.clone()))
            .await;
        assert_eq!(response.status, 405, "{method} {path}");
        response.assert_error(405, "method_not_allowed");
        assert_eq!(response.header("allow"), Some(allow), "{method} {path}");
    }
}

#[tokio::test]
async fn health_and_readiness_answer_200() {
    let server = TestServer::start().await;
    let client = server.client();
    let health = client.get("/healthz").await.assert_json(200);
    assert_eq!(health["status"], "ok");
    let ready = client.get("/readyz").await.assert_json(200);
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["checks"]["store"], "ok");
}

#[tokio::test]
async fn the_openapi_document_is_served_as_json() {
    let server = TestServer::start().await;
    let response = server.client().get("/api/openapi.json").await;
    let document = response.assert_json(200);
    assert!(common::is_json(&response.headers));
    assert!(document["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with('3')));
    assert!(document["paths"]["/api/polls/{id}/votes"].is_object());
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let server = TestServer::start().await;
    let client = server.client();
    let created = client.post_json("/api/polls", &draft(&["a", "b"])).await;
    let responses = [
        created.clone(),
        client.get("/healthz").await,
        client.get("/api/polls").await,
        client.get("/api/nope").await,
        client.get(&format!("/api/polls/{UNKNOWN_ID}")).await,
        client.send(Request::new(Method::PUT, "/api/polls")).await,
        client.send(Request::post("/api/polls").body("{}")).await,
        client
            .send(Request::delete(format!(
                "/api/polls/{}",
                id_of(&created.json())
            )))
            .await,
    ];
    for response in responses {
        let csp = response
            .header("content-security-policy")
            .unwrap_or_default();
        assert!(
            csp.contains("default-src 'self'"),
            "{}: {csp:?}",
            response.status
        );
        assert!(
            csp.contains("frame-ancestors 'none'"),
            "{}: {csp:?}",
            response.status
        );
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(response.header("x-frame-options"), Some("DENY"));
        assert_eq!(response.header("referrer-policy"), Some("same-origin"));
    }
}

// ---------------------------------------------------------------- concurrency

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_voters_voting_at_once_are_all_counted() {
    let (server, client, id, _) = server_with_poll(draft(&["a", "b", "c"])).await;
    let mut votes = JoinSet::new();
    for i in 0..200_u32 {
        let voter = server.client();
        let id = id.clone();
        votes.spawn(async move { voter.vote(&id, &[i % 3]).await });
    }
    let mut versions = Vec::new();
    while let Some(response) = votes.join_next().await {
        let body = response.expect("a vote task").assert_json(201);
        versions.push(body["receipt"]["version"].as_u64().unwrap());
    }
    versions.sort_unstable();
    assert_eq!(
        versions,
        (1..=200).collect::<Vec<_>>(),
        "each ballot made its own version"
    );

    let results = client.get(&format!("/api/polls/{id}/results")).await;
    let body = results.assert_json(200);
    assert_eq!(body["total"], 200);
    assert_eq!(body["version"], 200);
    assert_eq!(results.header("etag"), Some("\"200\""));
    let counts: Vec<u64> = body["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["votes"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [67, 67, 66]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_voter_sending_the_same_ballot_twenty_times_at_once_is_counted_once() {
    let (server, _, id, _) = server_with_poll(draft(&["a", "b"])).await;
    let voter = server.client();
    // Be known first, so that all twenty requests carry the same voter id.
    voter
        .get(&format!("/api/polls/{id}"))
        .await
        .assert_json(200);
    assert!(voter.voter_id().is_some());

    let mut votes = JoinSet::new();
    for _ in 0..20 {
        let (voter, id) = (voter.clone(), id.clone());
        votes.spawn(async move { voter.vote(&id, &[1]).await });
    }
    let mut created = 0;
    let mut receipts = Vec::new();
    while let Some(response) = votes.join_next().await {
        let response = response.expect("a vote task");
        match response.status.as_u16() {
            201 => created += 1,
            200 => {}
            other => panic!("unexpected {other}: {:?}", response.body),
        }
        receipts.push(response.json()["receipt"].clone());
    }
    assert_eq!(created, 1, "exactly one request recorded the ballot");
    assert!(
        receipts.iter().all(|r| *r == receipts[0]),
        "one receipt: {receipts:?}"
    );
    let results = voter
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);
    assert_eq!(results["total"], 1);
    assert_eq!(results["version"], 1);
}

// ---------------------------------------------------------------- shutdown

#[tokio::test]
async fn after_shutdown_the_server_stops_accepting_and_run_returns() {
    let mut server = TestServer::start().await;
    let client = server.client();
    client.get("/healthz").await.assert_json(200);

    let run = server.shutdown();
    tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("run returns soon after shutdown")
        .expect("run does not panic");

    match tokio::net::TcpStream::connect(server.addr()).await {
        Err(_) => {}
        Ok(_) => {
            let answer = client.try_send(Request::get("/healthz")).await;
            assert!(answer.is_err(), "a stopped server answered: {answer:?}");
        }
    }
}

#[tokio::test]
async fn a_request_in_flight_at_shutdown_still_gets_its_answer() {
    let mut server = TestServer::start().await;
    let client = server.client();
    let body = serde_json::to_vec(&draft(&["a", "b"])).unwrap();
    let (half, rest) = body.split_at(body.len() / 2);
    let (chunks, rx) = tokio::sync::mpsc::channel(2);
    chunks.send(Bytes::copy_from_slice(half)).await.unwrap();
    let request = Request::post("/api/polls")
        .header("content-type", "application/json")
        .streamed(rx);
    let in_flight = tokio::spawn(async move { client.send(request).await });
    // Let the server read the head and start on the body.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let mut run = server.shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!run.is_finished(), "run waits for the request in flight");
    let late_client = Client::new(server.addr());
    let late = late_client.try_send(Request::get("/healthz"));
    match tokio::time::timeout(Duration::from_millis(300), late).await {
        Err(_) | Ok(Err(_)) => {}
        Ok(Ok(answer)) => panic!("a new request was served during shutdown: {answer:?}"),
    }
    chunks.send(Bytes::copy_from_slice(rest)).await.unwrap();
    drop(chunks);

    let response = in_flight.await.expect("the request task");
    response.assert_json(201);
    tokio::time::timeout(Duration::from_secs(5), &mut run)
        .await
        .expect("run returns once the request is answered")
        .expect("run does not panic");
}

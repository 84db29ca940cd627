//! Invite-only polls over HTTP: codes at creation and for the owner (JSON
//! and a CSV of vote links), one vote per code, revocation, the 403 codes,
//! guessing refused 429, every method, and one code on two replicas
//! sharing PostgreSQL.

use futures_util::future::join_all;
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::common::{
    create_poll, draft, id_of, postgres_app, results_of, Client, Request, TestServer,
};

/// An invite-only draft with `invites` codes.
fn invite_draft(invites: u32) -> Value {
    let mut draft = draft(&["tabs", "spaces"]);
    draft["eligibility"] = json!("invite");
    draft["invites"] = json!(invites);
    draft
}

/// The codes of the `invites` of a JSON answer.
fn codes(body: &Value) -> Vec<String> {
    body["invites"]
        .as_array()
        .unwrap_or_else(|| panic!("no invites in {body}"))
        .iter()
        .map(|i| i["code"].as_str().expect("a code").to_owned())
        .collect()
}

async fn vote_with(
    client: &Client,
    id: &str,
    choices: &[u32],
    code: &str,
) -> crate::common::Response {
    let body = json!({ "choices": choices, "invite": code });
    client
        .post_json(&format!("/api/polls/{id}/votes"), &body)
        .await
}

/// The `polling_invite` cookie a vote with a code set, as a `Cookie` header
/// value; it must be scoped to the poll's routes.
fn invite_cookie(answer: &crate::common::Response, id: &str) -> String {
    let set = answer
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("polling_invite=inv_"))
        .unwrap_or_else(|| panic!("no polling_invite cookie: {:?}", answer.headers))
        .to_owned();
    assert!(set.contains(&format!("; Path=/api/polls/{id};")), "{set}");
    assert!(set.contains("HttpOnly"), "{set}");
    set.split(';').next().unwrap().to_owned()
}

/// A well-formed code no poll issued.
const STRANGER: &str = "abcdefghijklmnopqrstuvwxyz";

#[tokio::test]
async fn an_invite_poll_is_created_with_its_codes_and_each_code_votes_once() {
    let server = TestServer::start().await;
    let owner = server.client();
    let (poll, _) = create_poll(&owner, invite_draft(3)).await;
    let id = id_of(&poll);
    assert_eq!(poll["eligibility"], "invite");
    let codes = codes(&poll);
    assert_eq!(codes.len(), 3);
    for (code, invite) in codes.iter().zip(poll["invites"].as_array().unwrap()) {
        assert_eq!(code.len(), 26);
        assert_eq!(invite["status"], "unused");
        let link = format!("http://{}/p/{id}?invite={code}", server.addr());
        assert_eq!(invite["link"], link.as_str());
    }
    assert_eq!(
        owner
            .get(&format!("/api/polls/{id}"))
            .await
            .assert_json(200)["eligibility"],
        "invite"
    );

    let voter = server.client();
    let first = vote_with(&voter, &id, &[1], &codes[0]).await;
    let receipt = first.assert_json(201)["receipt"].clone();
    let cookie = invite_cookie(&first, &id);
    assert!(
        voter.voter_id().is_none(),
        "a code's vote issues no voter cookie"
    );
    // The same code from another browser is the same voter: a replay.
    let again = vote_with(&server.client(), &id, &[1], &codes[0]).await;
    assert_eq!(again.assert_json(200)["receipt"], receipt);
    // So is that browser's cookie without the code.
    let by_cookie = voter
        .send(
            Request::post(format!("/api/polls/{id}/votes"))
                .header("cookie", &cookie)
                .json(&json!({ "choices": [1] })),
        )
        .await;
    assert_eq!(by_cookie.assert_json(200)["receipt"], receipt);
    vote_with(&voter, &id, &[0], &codes[0])
        .await
        .assert_error(409, "already_voted");

    voter
        .vote(&id, &[0])
        .await
        .assert_error(403, "invite_required");
    vote_with(&voter, &id, &[0], STRANGER)
        .await
        .assert_error(403, "invite_invalid");
    vote_with(&voter, &id, &[0], "not a code")
        .await
        .assert_error(403, "invite_invalid");
    let (open, _) = create_poll(&owner, draft(&["a", "b"])).await;
    vote_with(&voter, &id_of(&open), &[0], &codes[1])
        .await
        .assert_error(403, "invite_invalid");

    let results = results_of(&owner, &id).await;
    assert_eq!(
        (results["total"].as_u64(), results["version"].as_u64()),
        (Some(1), Some(1))
    );
}

#[tokio::test]
async fn the_cookie_of_a_codes_vote_shows_after_vote_counts_and_changes_its_ballot() {
    let server = TestServer::start().await;
    let owner = server.client();
    let mut d = invite_draft(1);
    d["visibility"] = json!("after_vote");
    d["allow_vote_change"] = json!(true);
    let (poll, _) = create_poll(&owner, d).await;
    let id = id_of(&poll);
    let code = codes(&poll).remove(0);
    let results = format!("/api/polls/{id}/results");
    let voted = vote_with(&server.client(), &id, &[0], &code).await;
    assert!(
        voted.assert_json(201)["results"].is_object(),
        "the vote shows the counts"
    );
    let cookie = invite_cookie(&voted, &id);

    // A later visit of that browser: the cookie is the code's voter.
    let browser = server.client();
    browser
        .get(&results)
        .await
        .assert_error(403, "results_hidden");
    let seen = browser
        .send(Request::get(&results).header("cookie", &cookie))
        .await;
    assert_eq!(seen.assert_json(200)["total"], 1);
    let vote = format!("/api/polls/{id}/votes");
    let changed = browser
        .send(
            Request::post(&vote)
                .header("cookie", &cookie)
                .json(&json!({ "choices": [1] })),
        )
        .await
        .assert_json(200);
    assert_eq!(changed["receipt"]["choices"], json!([1]));
    let after = browser
        .send(Request::get(&results).header("cookie", &cookie))
        .await;
    assert_eq!(
        after.assert_json(200)["total"],
        1,
        "a change, not a second ballot"
    );
    // A voter cookie naming the code's voter id is no cookie: no code, no vote.
    let voter_id = cookie.trim_start_matches("polling_invite=");
    browser
        .send(
            Request::post(&vote)
                .header("cookie", format!("polling_voter={voter_id}"))
                .json(&json!({ "choices": [0] })),
        )
        .await
        .assert_error(403, "invite_required");
}

#[tokio::test]
async fn the_owner_lists_adds_and_revokes_codes_and_downloads_the_links_as_csv() {
    let server = TestServer::start().await;
    let owner = server.client();
    let (poll, token) = create_poll(&owner, invite_draft(2)).await;
    let id = id_of(&poll);
    let created = codes(&poll);
    let invites = format!("/api/polls/{id}/invites");

    owner.get(&invites).await.assert_error(401, "unauthorized");
    let (_, other) = create_poll(&owner, invite_draft(0)).await;
    owner
        .send(Request::get(&invites).bearer(&other))
        .await
        .assert_error(403, "forbidden");

    let added = owner
        .send(
            Request::post(&invites)
                .bearer(&token)
                .json(&json!({ "count": 3 })),
        )
        .await
        .assert_json(201);
    let added = codes(&added);
    assert_eq!(added.len(), 3);
    let listed = owner
        .send(Request::get(&invites).bearer(&token))
        .await
        .assert_json(200);
    let mut all = codes(&listed);
    all.sort();
    let mut expected = [created.clone(), added.clone()].concat();
    expected.sort();
    assert_eq!(all, expected, "the owner gets back every code issued");

    for count in [0, 10_001] {
        owner
            .send(
                Request::post(&invites)
                    .bearer(&token)
                    .json(&json!({ "count": count })),
            )
            .await
            .assert_error(422, "invalid_field");
    }
    let (open, open_token) = create_poll(&owner, draft(&["a", "b"])).await;
    owner
        .send(
            Request::post(format!("/api/polls/{}/invites", id_of(&open)))
                .bearer(&open_token)
                .json(&json!({ "count": 1 })),
        )
        .await
        .assert_error(422, "invalid_poll");
    let mut too_many = invite_draft(10_001);
    too_many["question"] = json!("Too many?");
    let refused = owner.post_json("/api/polls", &too_many).await;
    assert_eq!(
        refused.assert_error(422, "invalid_poll")["error"]["field"],
        "invites"
    );

    // Revocation: an unused code is revoked and votes no more; a used one
    // is refused 409; an unknown one 404.
    let revoke = format!("/api/polls/{id}/invites/revoke");
    let voter = server.client();
    vote_with(&voter, &id, &[0], &created[0])
        .await
        .assert_json(201);
    let revoked = owner
        .send(
            Request::post(&revoke)
                .bearer(&token)
                .json(&json!({ "code": created[1] })),
        )
        .await
        .assert_json(200);
    assert_eq!(revoked["status"], "revoked");
    assert!(revoked["revoked_at"].is_string());
    vote_with(&voter, &id, &[0], &created[1])
        .await
        .assert_error(403, "invite_invalid");
    owner
        .send(
            Request::post(&revoke)
                .bearer(&token)
                .json(&json!({ "code": created[0] })),
        )
        .await
        .assert_error(409, "invite_used");
    owner
        .send(
            Request::post(&revoke)
                .bearer(&token)
                .json(&json!({ "code": STRANGER })),
        )
        .await
        .assert_error(404, "invite_not_found");

    let csv = owner
        .send(Request::get(format!("{invites}.csv")).bearer(&token))
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv
        .header("content-disposition")
        .unwrap()
        .contains("invites.csv"));
    let text = String::from_utf8(csv.body.to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        r#""code","link","status","created_at","revoked_at""#
    );
    assert_eq!(lines.len(), 1 + 5, "a row per code: {text}");
    for code in &expected {
        let link = format!("http://{}/p/{id}?invite={code}", server.addr());
        let row = lines
            .iter()
            .find(|line| line.starts_with(&format!("\"{code}\"")))
            .unwrap_or_else(|| panic!("no row for {code} in {text}"));
        assert!(row.contains(&format!("\"{link}\"")), "{row}");
    }
    let status = |code: &str| {
        let row = lines
            .iter()
            .find(|l| l.starts_with(&format!("\"{code}\"")))
            .unwrap();
        row.split(',').nth(2).unwrap().trim_matches('"').to_owned()
    };
    assert_eq!(status(&created[0]), "used");
    assert_eq!(status(&created[1]), "revoked");
    assert_eq!(status(&added[0]), "unused");
}

/// Codes are added 10,000 at a time up to 100,000 per poll; one more is
/// 409 `too_many_invites`, which says how many the poll holds, and adds
/// nothing (the CSV of links still has 100,000 lines and its header).
#[tokio::test]
async fn a_poll_takes_codes_up_to_its_cap_and_then_409_too_many_invites() {
    let server = TestServer::start().await;
    let owner = server.client();
    let per_request = polling_core::MAX_INVITES_PER_REQUEST;
    let (poll, token) = create_poll(&owner, invite_draft(per_request)).await;
    let id = id_of(&poll);
    let invites = format!("/api/polls/{id}/invites");
    let add = |count: u32| {
        owner.send(
            Request::post(&invites)
                .bearer(&token)
                .json(&json!({ "count": count })),
        )
    };
    for _ in 1..polling_core::MAX_INVITES_PER_POLL / per_request {
        assert_eq!(
            codes(&add(per_request).await.assert_json(201)).len(),
            per_request as usize
        );
    }
    let refused = add(1).await.assert_error(409, "too_many_invites");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("holds 100000"), "{message}");
    let csv = owner
        .send(Request::get(format!("{invites}.csv")).bearer(&token))
        .await;
    assert_eq!(csv.status, 200);
    let lines = std::str::from_utf8(&csv.body).unwrap().lines().count();
    assert_eq!(
        lines,
        1 + polling_core::MAX_INVITES_PER_POLL as usize,
        "nothing added"
    );
}

#[tokio::test]
async fn guessing_codes_is_refused_429_after_a_few_wrong_ones() {
    let server = TestServer::start().await;
    let owner = server.client();
    let (poll, _) = create_poll(&owner, invite_draft(1)).await;
    let id = id_of(&poll);
    let real = codes(&poll).remove(0);
    let guesser = server.client();
    let mut refused = None;
    for n in 0..20u8 {
        let guess: String = std::iter::repeat_n(char::from(b'a' + n), 26).collect();
        let answer = vote_with(&guesser, &id, &[0], &guess).await;
        if answer.status == 429 {
            refused = Some((n, answer));
            break;
        }
        answer.assert_error(403, "invite_invalid");
    }
    let (n, answer) = refused.expect("guessing was never refused");
    assert_eq!(n, 10, "ten wrong codes, then 429");
    answer.assert_error(429, "rate_limited");
    assert!(answer.header("retry-after").is_some());
    // From that address even a real code waits now; voting without a code
    // in another poll does not.
    vote_with(&guesser, &id, &[0], &real)
        .await
        .assert_error(429, "rate_limited");
    let (open, _) = create_poll(&owner, draft(&["a", "b"])).await;
    guesser.vote(&id_of(&open), &[0]).await.assert_json(201);
}

#[tokio::test]
async fn every_method_takes_ballots_with_invite_codes() {
    let server = TestServer::start().await;
    let owner = server.client();
    for (method, ballot) in [
        ("approval", json!({ "choices": [0, 1] })),
        ("ranked", json!({ "ranking": [1, 0] })),
        ("star", json!({ "scores": [5, 2] })),
    ] {
        let mut d = invite_draft(1);
        d["method"] = json!(method);
        let (poll, _) = create_poll(&owner, d).await;
        let id = id_of(&poll);
        let mut body = ballot.clone();
        body["invite"] = json!(codes(&poll)[0]);
        let path = format!("/api/polls/{id}/votes");
        server
            .client()
            .post_json(&path, &body)
            .await
            .assert_json(201);
        server
            .client()
            .post_json(&path, &ballot)
            .await
            .assert_error(403, "invite_required");
        assert_eq!(results_of(&owner, &id).await["total"], 1, "{method}");
    }
}

#[sqlx::test]
async fn one_code_sent_to_two_replicas_at_once_counts_once(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let a = TestServer::with_app(postgres_app(&connect).await.build()).await;
    let b = TestServer::with_app(postgres_app(&connect).await.build()).await;
    let (poll, token) = create_poll(&a.client(), invite_draft(2)).await;
    let id = id_of(&poll);
    let codes = codes(&poll);
    let votes = (0..20).map(|i| {
        let client = if i % 2 == 0 { a.client() } else { b.client() };
        let (id, code) = (id.clone(), codes[0].clone());
        tokio::spawn(async move { vote_with(&client, &id, &[1], &code).await.status.as_u16() })
    });
    let mut statuses: Vec<u16> = join_all(votes)
        .await
        .into_iter()
        .map(|s| s.expect("a vote panicked"))
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses[0], 200);
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 201),
        "{statuses:?}"
    );
    for server in [&a, &b] {
        assert_eq!(results_of(&server.client(), &id).await["total"], 1);
    }

    // Revoked on B, refused on A.
    b.client()
        .send(
            Request::post(format!("/api/polls/{id}/invites/revoke"))
                .bearer(&token)
                .json(&json!({ "code": codes[1] })),
        )
        .await
        .assert_json(200);
    vote_with(&a.client(), &id, &[0], &codes[1])
        .await
        .assert_error(403, "invite_invalid");
}

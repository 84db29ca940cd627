//! The rules of results visibility and of changing a vote, over HTTP, on
//! every backend (`on_both_backends!`).

use std::collections::BTreeSet;

use serde_json::{json, Value};
use tokio::task::JoinSet;

use polling_server::AppBuilder;

use crate::common::{create_poll, id_of, Client, Request, Response, TestServer};

on_both_backends!(
    a_changed_vote_replaces_the_earlier_ballot,
    concurrent_changes_by_one_voter_leave_exact_counts,
    after_vote_hides_counts_until_the_voter_votes,
    after_close_hides_counts_until_the_poll_closes,
    always_shows_counts_to_everyone_and_unknown_visibilities_are_refused,
);

/// A single-choice draft over three options with these extra fields.
fn draft_with(extra: Value) -> Value {
    let mut draft = json!({ "question": "Lunch?", "options": ["pizza", "salad", "soup"] });
    if let (Some(draft), Some(extra)) = (draft.as_object_mut(), extra.as_object()) {
        draft.extend(extra.clone());
    }
    draft
}

async fn results(client: &Client, id: &str) -> Response {
    client.get(&format!("/api/polls/{id}/results")).await
}

async fn results_as_owner(client: &Client, id: &str, token: &str) -> Response {
    client
        .send(
            Request::get(format!("/api/polls/{id}/results"))
                .header("authorization", format!("Bearer {token}")),
        )
        .await
}

async fn close(client: &Client, id: &str, token: &str) {
    client
        .send(
            Request::post(format!("/api/polls/{id}/close"))
                .header("authorization", format!("Bearer {token}")),
        )
        .await
        .assert_json(200);
}

fn counts(results: &Value) -> Vec<u64> {
    results["counts"]
        .as_array()
        .unwrap_or_else(|| panic!("no counts in {results}"))
        .iter()
        .map(|c| c["votes"].as_u64().expect("a count"))
        .collect()
}

/// Asserts `response` is the 403 `results_hidden` refusal, personal and
/// without an ETag; returns its message.
#[track_caller]
fn assert_hidden(response: &Response) -> String {
    let body = response.assert_error(403, "results_hidden");
    assert_eq!(response.header("etag"), None, "a hidden answer has no ETag");
    assert_eq!(response.header("cache-control"), Some("private, no-cache"));
    assert!(
        response
            .header("vary")
            .is_some_and(|v| v.contains("Cookie")),
        "a hidden answer varies on the cookie: {:?}",
        response.headers
    );
    body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Asserts `response` is 200 results, private to who asked; returns them.
#[track_caller]
fn assert_private_results(response: &Response) -> Value {
    let body = response.assert_json(200);
    assert!(
        response.header("etag").is_some(),
        "visible results have an ETag"
    );
    assert_eq!(response.header("cache-control"), Some("private, no-cache"));
    assert!(response
        .header("vary")
        .is_some_and(|v| v.contains("Cookie")));
    body
}

/// With `allow_vote_change`, a different ballot replaces the earlier one
/// (200, new receipt, counts moved, total kept, version + 1) and the same
/// ballot again replays; without it, a different ballot is 409
/// `already_voted`. A change is refused when closed (409) or invalid (422).
async fn a_changed_vote_replaces_the_earlier_ballot(app: AppBuilder) {
    let server = &TestServer::with_app(app).await;
    let voter = server.client();
    let other = server.client();
    let (poll, token) = create_poll(&voter, draft_with(json!({ "allow_vote_change": true }))).await;
    assert_eq!(poll["allow_vote_change"], true);
    assert_eq!(poll["visibility"], "always");
    let id = id_of(&poll);

    let first = voter.vote(&id, &[0]).await.assert_json(201);
    other.vote(&id, &[1]).await.assert_json(201);
    let changed = voter.vote(&id, &[1]).await.assert_json(200);
    assert_eq!(changed["receipt"]["choices"], json!([1]));
    assert_eq!(
        changed["receipt"]["version"], 3,
        "a change is a new version"
    );
    assert_ne!(
        changed["receipt"], first["receipt"],
        "a change has a new receipt"
    );
    assert_eq!(
        counts(&changed["results"]),
        [0, 2, 0],
        "old choice down, new up"
    );
    assert_eq!(changed["results"]["total"], 2, "a change keeps the total");
    assert_eq!(changed["results"]["version"], 3);

    let replay = voter.vote(&id, &[1]).await.assert_json(200);
    assert_eq!(
        replay["receipt"], changed["receipt"],
        "the new ballot replays"
    );
    assert_eq!(replay["results"], changed["results"]);
    assert_eq!(
        results(&other, &id).await.assert_json(200),
        changed["results"]
    );

    voter
        .vote(&id, &[7])
        .await
        .assert_error(422, "invalid_choice");
    voter
        .vote(&id, &[0, 1])
        .await
        .assert_error(422, "invalid_choice");
    close(&voter, &id, &token).await;
    voter.vote(&id, &[2]).await.assert_error(409, "poll_closed");
    assert_eq!(
        voter.vote(&id, &[1]).await.assert_json(200)["receipt"],
        changed["receipt"],
        "the current ballot still replays after close"
    );
    assert_eq!(
        results(&other, &id).await.assert_json(200),
        changed["results"]
    );

    let (fixed, _) = create_poll(&voter, draft_with(json!({}))).await;
    assert_eq!(fixed["allow_vote_change"], false);
    let fixed = id_of(&fixed);
    voter.vote(&fixed, &[0]).await.assert_json(201);
    voter
        .vote(&fixed, &[1])
        .await
        .assert_error(409, "already_voted");
}

/// 50 concurrent changes by one voter, alternating two options, among other
/// voters: every change counts once, in turn (versions contiguous), the total
/// stays, and the counts are exact, with the voter counted for their last
/// ballot.
async fn concurrent_changes_by_one_voter_leave_exact_counts(app: AppBuilder) {
    let server = &TestServer::with_app(app).await;
    const CHANGES: u32 = 50;
    let voter = server.client();
    let (poll, _) = create_poll(&voter, draft_with(json!({ "allow_vote_change": true }))).await;
    let id = id_of(&poll);
    voter.vote(&id, &[2]).await.assert_json(201);
    for choice in 0..3 {
        server.client().vote(&id, &[choice]).await.assert_json(201);
    }

    let mut tasks = JoinSet::new();
    for i in 0..CHANGES {
        let (voter, id) = (voter.clone(), id.clone());
        tasks.spawn(async move { voter.vote(&id, &[i % 2]).await });
    }
    let mut versions = BTreeSet::new();
    while let Some(answer) = tasks.join_next().await {
        let body = answer.expect("a voting task").assert_json(200);
        assert_eq!(body["results"]["total"], 4, "a change keeps the total");
        assert_eq!(counts(&body["results"]).iter().sum::<u64>(), 4);
        versions.insert(body["receipt"]["version"].as_u64().expect("a version"));
    }

    let after = results(&voter, &id).await.assert_json(200);
    let last = after["version"].as_u64().expect("a version");
    assert!(
        last >= 6,
        "alternating ballots changed at least twice: v{last}"
    );
    assert!(
        versions.iter().copied().eq(5..=last),
        "every change has its own version, 5..={last}: {versions:?}"
    );
    assert_eq!(after["total"], 4, "the total is the number of voters");

    // Settle on [0]: a replay if the last change was to [0], else one more change.
    let settled = voter.vote(&id, &[0]).await.assert_json(200);
    let last_was_zero = settled["receipt"]["version"].as_u64() == Some(last);
    let mut expected = vec![1, 1, 1];
    expected[usize::from(!last_was_zero)] += 1;
    assert_eq!(
        counts(&after),
        expected,
        "the voter counts once, for their last ballot"
    );
    assert_eq!(counts(&settled["results"]), [2, 1, 1]);
    assert_eq!(settled["results"]["total"], 4);
}

/// `after_vote`: a voter sees no counts (403 `results_hidden`, no ETag,
/// private) until they vote; the vote's answer carries the counts; the owner
/// sees them all along; everyone sees them once the poll is closed.
async fn after_vote_hides_counts_until_the_voter_votes(app: AppBuilder) {
    let server = &TestServer::with_app(app).await;
    let owner = server.client();
    let (poll, token) =
        create_poll(&owner, draft_with(json!({ "visibility": "after_vote" }))).await;
    assert_eq!(poll["visibility"], "after_vote");
    let id = id_of(&poll);
    let voter = server.client();
    let bystander = server.client();

    let message = assert_hidden(&results(&voter, &id).await);
    assert!(
        message.contains("voted"),
        "the message says when: {message}"
    );
    assert_private_results(&results_as_owner(&owner, &id, &token).await);

    let vote = voter.vote(&id, &[1]).await.assert_json(201);
    assert_eq!(
        counts(&vote["results"]),
        [0, 1, 0],
        "a voter sees counts on voting"
    );
    let seen = assert_private_results(&results(&voter, &id).await);
    assert_eq!(seen, vote["results"]);
    assert_hidden(&results(&bystander, &id).await);
    let foreign = create_poll(&owner, draft_with(json!({}))).await.1;
    assert_hidden(&results_as_owner(&bystander, &id, &foreign).await);

    close(&owner, &id, &token).await;
    assert_eq!(
        assert_private_results(&results(&bystander, &id).await),
        vote["results"],
        "everyone sees the counts once closed"
    );
}

/// `after_close`: nobody but the owner sees counts while the poll is open,
/// not even a voter (their vote answers `results: null`); once closed,
/// everyone does.
async fn after_close_hides_counts_until_the_poll_closes(app: AppBuilder) {
    let server = &TestServer::with_app(app).await;
    let owner = server.client();
    let (poll, token) = create_poll(
        &owner,
        draft_with(json!({ "visibility": "after_close", "allow_vote_change": true })),
    )
    .await;
    let id = id_of(&poll);
    let voter = server.client();

    let vote = voter.vote(&id, &[2]).await.assert_json(201);
    assert_eq!(
        vote["results"],
        Value::Null,
        "no counts in the vote's answer"
    );
    assert_eq!(vote["receipt"]["version"], 1);
    let changed = voter.vote(&id, &[0]).await.assert_json(200);
    assert_eq!(changed["results"], Value::Null, "nor in a change's answer");
    let message = assert_hidden(&results(&voter, &id).await);
    assert!(
        message.contains("closed"),
        "the message says when: {message}"
    );
    let owned = assert_private_results(&results_as_owner(&owner, &id, &token).await);
    assert_eq!(counts(&owned), [1, 0, 0]);

    close(&owner, &id, &token).await;
    assert_eq!(assert_private_results(&results(&voter, &id).await), owned);
    let replay = voter.vote(&id, &[0]).await.assert_json(200);
    assert_eq!(
        replay["results"], owned,
        "a replay after close shows the counts"
    );
}

/// `always` (the default) shows counts to everyone, as a shared answer:
/// `Cache-Control: no-cache`, no `Vary`; an unknown visibility is refused.
async fn always_shows_counts_to_everyone_and_unknown_visibilities_are_refused(app: AppBuilder) {
    let server = &TestServer::with_app(app).await;
    let client = server.client();
    let (poll, _) = create_poll(&client, draft_with(json!({ "visibility": "always" }))).await;
    let id = id_of(&poll);
    let answer = results(&server.client(), &id).await;
    answer.assert_json(200);
    assert_eq!(answer.header("cache-control"), Some("no-cache"));
    assert_eq!(answer.header("vary"), None);

    for bad in [json!("sometimes"), json!(1), json!(null)] {
        client
            .post_json("/api/polls", &draft_with(json!({ "visibility": bad })))
            .await
            .assert_error(422, "invalid_field");
    }
    client
        .post_json(
            "/api/polls",
            &draft_with(json!({ "allow_vote_change": "yes" })),
        )
        .await
        .assert_error(422, "invalid_field");
    results(&client, "0190a0b0-0000-7000-8000-000000000000")
        .await
        .assert_error(404, "not_found");
}

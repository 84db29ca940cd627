//! Approval, ranked and STAR polls over HTTP on every backend
//! (`on_both_backends!`): creation, ballots, replays and changes, the 422
//! cases, results, exports and live sockets.

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use polling_server::AppBuilder;

use crate::common::{
    create_poll, id_of, next_message, results_of, votes_of, Client, Request, TestServer,
};

on_both_backends!(
    approval_polls_count_every_approved_option,
    ranked_polls_count_by_instant_runoff_replay_and_change,
    star_polls_count_scores_then_the_runoff,
    malformed_ballots_and_drafts_for_a_method_are_422,
    live_sockets_carry_the_runoff_of_each_new_version,
);

fn method_draft(method: &str, options: &[&str], allow_vote_change: bool) -> Value {
    json!({
        "question": format!("A {method} poll?"),
        "options": options,
        "method": method,
        "allow_vote_change": allow_vote_change,
    })
}

async fn cast(server: &TestServer, id: &str, body: Value) -> Value {
    let response = Client::new(server.addr())
        .post_json(&format!("/api/polls/{id}/votes"), &body)
        .await;
    response.assert_json(201)
}

async fn ballots_csv(client: &Client, id: &str, token: &str) -> String {
    let response = client
        .send(Request::get(format!("/api/polls/{id}/export/ballots.csv")).bearer(token))
        .await;
    assert_eq!(response.status.as_u16(), 200);
    String::from_utf8(response.body.to_vec()).expect("UTF-8 CSV")
}

async fn approval_polls_count_every_approved_option(app: AppBuilder) {
    let server = TestServer::with_app(app).await;
    let client = server.client();
    let (poll, _) = create_poll(&client, method_draft("approval", &["a", "b", "c"], false)).await;
    assert_eq!(poll["method"], "approval");
    assert_eq!(poll["multiple"], true);
    assert_eq!(poll["max_choices"], 3);
    let id = id_of(&poll);
    for choices in [json!([0, 1, 2]), json!([1]), json!([2, 1])] {
        let answer = cast(&server, &id, json!({ "choices": choices })).await;
        assert!(answer["receipt"]["choices"].is_array(), "{answer}");
    }
    let results = results_of(&client, &id).await;
    assert_eq!(votes_of(&results), [1, 3, 2]);
    assert_eq!(results["total"], 3);
    assert!(results.get("ranked").is_none() && results.get("star").is_none());
}

async fn ranked_polls_count_by_instant_runoff_replay_and_change(app: AppBuilder) {
    let server = TestServer::with_app(app).await;
    let client = server.client();
    let (poll, token) = create_poll(
        &client,
        method_draft("ranked", &["Alice", "Bob", "Carol"], true),
    )
    .await;
    assert_eq!(poll["method"], "ranked");
    let id = id_of(&poll);
    let get = client
        .get(&format!("/api/polls/{id}"))
        .await
        .assert_json(200);
    assert_eq!(get["method"], "ranked", "the method is kept");

    // Textbook: Alice leads the first round, Carol's ballots go to Bob.
    for (ranking, times) in [(json!([0]), 8), (json!([1, 2]), 5), (json!([2, 1]), 3)] {
        for _ in 0..times {
            cast(&server, &id, json!({ "ranking": ranking })).await;
        }
    }
    // The last Carol voter: vote, replay, then change and change back.
    let voter = Client::new(server.addr());
    let path = format!("/api/polls/{id}/votes");
    let first = voter
        .post_json(&path, &json!({ "ranking": [2, 1] }))
        .await
        .assert_json(201);
    assert_eq!(
        first["receipt"]["ranking"],
        json!([2, 1]),
        "the order is kept"
    );
    let replay = voter
        .post_json(&path, &json!({ "ranking": [2, 1] }))
        .await
        .assert_json(200);
    assert_eq!(
        replay["receipt"], first["receipt"],
        "a replay is the original receipt"
    );
    let changed = voter
        .post_json(&path, &json!({ "ranking": [1, 2] }))
        .await
        .assert_json(200);
    assert_eq!(changed["receipt"]["ranking"], json!([1, 2]));
    assert_ne!(changed["receipt"]["version"], first["receipt"]["version"]);
    voter
        .post_json(&path, &json!({ "ranking": [2, 1] }))
        .await
        .assert_json(200);

    let results = results_of(&client, &id).await;
    assert_eq!(results["total"], 17);
    assert_eq!(votes_of(&results), [8, 5, 4], "first preferences");
    let ranked = &results["ranked"];
    assert_eq!(ranked["winner"], 1, "{results}");
    assert_eq!(ranked["rounds"][0]["eliminated"], json!([2]));
    assert_eq!(
        ranked["rounds"][1]["counts"],
        json!([{ "option_id": 0, "votes": 8 }, { "option_id": 1, "votes": 9 }])
    );
    assert_eq!(ranked["rounds"][1]["eliminated"], json!([]));

    let csv = ballots_csv(&client, &id, &token).await;
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(r#""cast_minute","ranking","options""#));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 17);
    assert!(
        rows.iter()
            .any(|row| row.ends_with(r#","2;1","Carol; Bob""#)),
        "rankings keep their order: {csv}"
    );
}

async fn star_polls_count_scores_then_the_runoff(app: AppBuilder) {
    let server = TestServer::with_app(app).await;
    let client = server.client();
    let (poll, token) = create_poll(
        &client,
        method_draft("star", &["Tea", "Coffee", "Juice"], false),
    )
    .await;
    let id = id_of(&poll);
    for (scores, times) in [(json!([5, 0, 0]), 2), (json!([3, 4, 1]), 3)] {
        for _ in 0..times {
            let answer = cast(&server, &id, json!({ "scores": scores })).await;
            assert_eq!(answer["receipt"]["scores"], scores);
        }
    }
    let results = results_of(&client, &id).await;
    assert_eq!(votes_of(&results), [19, 12, 3], "score totals");
    let star = &results["star"];
    assert_eq!(star["finalists"], json!([0, 1]));
    assert_eq!(star["runoff"], json!({ "prefer": [2, 3], "equal": 0 }));
    assert_eq!(star["winner"], 1, "the top scorer loses the runoff");

    let csv = ballots_csv(&client, &id, &token).await;
    assert!(
        csv.starts_with(r#""cast_minute","scores","options""#),
        "{csv}"
    );
    assert!(
        csv.contains(r#","3;4;1","Tea: 3; Coffee: 4; Juice: 1""#),
        "{csv}"
    );
    let export = client
        .send(Request::get(format!("/api/polls/{id}/export/results.json")).bearer(&token))
        .await
        .assert_json(200);
    assert_eq!(export["star"], *star, "the JSON export carries the runoff");
}

async fn malformed_ballots_and_drafts_for_a_method_are_422(app: AppBuilder) {
    let server = TestServer::with_app(app).await;
    let client = server.client();
    let (ranked, _) = create_poll(&client, method_draft("ranked", &["a", "b", "c"], false)).await;
    let (star, _) = create_poll(&client, method_draft("star", &["a", "b", "c"], false)).await;
    let (ranked, star) = (id_of(&ranked), id_of(&star));
    let cases = [
        (
            &ranked,
            json!({ "choices": [0] }),
            "invalid_choice",
            "ranking",
        ),
        (
            &ranked,
            json!({ "ranking": [0, 0] }),
            "invalid_choice",
            "more than once",
        ),
        (
            &ranked,
            json!({ "ranking": [] }),
            "invalid_choice",
            "at least one",
        ),
        (
            &ranked,
            json!({ "ranking": [5] }),
            "invalid_choice",
            "does not exist",
        ),
        (
            &star,
            json!({ "scores": [6, 0, 0] }),
            "invalid_choice",
            "0 to 5",
        ),
        (
            &star,
            json!({ "scores": [-1, 0, 0] }),
            "invalid_choice",
            "0 to 5",
        ),
        (
            &star,
            json!({ "scores": [1, 2] }),
            "invalid_choice",
            "each of the 3",
        ),
        (&star, json!({ "ranking": [0] }), "invalid_choice", "scores"),
        (
            &star,
            json!({ "scores": [1, 2, 3], "ranking": [0] }),
            "invalid_field",
            "",
        ),
        (&star, json!({ "points": [1, 2, 3] }), "invalid_field", ""),
    ];
    for (id, body, code, needle) in cases {
        let response = Client::new(server.addr())
            .post_json(&format!("/api/polls/{id}/votes"), &body)
            .await;
        let error = response.assert_error(422, code);
        let message = error["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{body}: {message}");
    }
    for id in [&ranked, &star] {
        assert_eq!(
            results_of(&client, id).await["total"],
            0,
            "nothing was counted"
        );
    }
    let drafts = [
        (
            json!({ "question": "Q", "options": ["a", "b"], "method": "borda" }),
            "invalid_field",
        ),
        (
            json!({ "question": "Q", "options": ["a", "b"], "method": "ranked", "multiple": true }),
            "invalid_poll",
        ),
        (
            json!({ "question": "Q", "options": ["a", "b"], "method": "star", "max_choices": 1 }),
            "invalid_poll",
        ),
    ];
    for (draft, code) in drafts {
        client
            .post_json("/api/polls", &draft)
            .await
            .assert_error(422, code);
    }
}

async fn live_sockets_carry_the_runoff_of_each_new_version(app: AppBuilder) {
    let server = TestServer::with_app(app).await;
    let client = server.client();
    let (poll, _) = create_poll(&client, method_draft("ranked", &["a", "b", "c"], false)).await;
    let id = id_of(&poll);
    let addr = server.addr();
    let mut request = format!("ws://{addr}/api/polls/{id}/live")
        .into_client_request()
        .expect("a WebSocket URL");
    request.headers_mut().insert(
        "origin",
        format!("http://{addr}").parse().expect("a header value"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the socket opens");
    let snapshot = next_message(&mut socket).await;
    assert_eq!(snapshot["results"]["version"], 0, "{snapshot}");
    assert_eq!(snapshot["results"]["ranked"]["winner"], Value::Null);
    for (i, ranking) in [json!([1, 0]), json!([0]), json!([2, 0])]
        .into_iter()
        .enumerate()
    {
        cast(&server, &id, json!({ "ranking": ranking })).await;
        // Updates may coalesce: read until this version arrives.
        let expected = i as u64 + 1;
        loop {
            let message = next_message(&mut socket).await;
            let version = message["results"]["version"].as_u64().unwrap_or(0);
            if version >= expected {
                assert!(
                    message["results"]["ranked"]["rounds"].is_array(),
                    "{message}"
                );
                if expected == 3 {
                    // First preferences 1, 1, 1: a tie for last that no
                    // earlier round breaks ends the count with no winner.
                    assert_eq!(message["results"]["ranked"]["winner"], Value::Null);
                }
                break;
            }
        }
    }
}

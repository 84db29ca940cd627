//! The owner's exports over real HTTP, on the in-process backends and on
//! PostgreSQL: the files parse (with the csv crate, an independent parser)
//! and match the results; ballots name no voter and no time finer than the
//! minute.

use crate::common;
use crate::common::{
    create_poll, id_of, results_of, votes_of, Client, Request, Response, TestServer,
};
use polling_server::AppBuilder;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Option texts a naive CSV writer gets wrong, and ones a spreadsheet
/// would run as formulas.
const TRICKY: [&str; 5] = [
    "Tabs, obviously",
    "\"Spaces\" (quoted)",
    "=HYPERLINK(\"http://evil.example\")",
    "@SUM(A1:A9)",
    "-1+1",
];

on_both_backends!(
    the_results_csv_parses_and_matches_the_results,
    the_results_json_matches_the_results,
    the_ballots_csv_lists_each_ballot_anonymously_by_minute,
    exports_need_the_polls_manage_token,
);

/// A server with a multiple-choice poll of the [`TRICKY`] options and five
/// voters' ballots; returns the server, the creator, the poll id, its
/// token, and the voters.
async fn voted_poll(app: AppBuilder) -> (TestServer, Client, String, String, Vec<Client>) {
    let server = TestServer::with_app(app).await;
    let owner = server.client();
    let (poll, token) = create_poll(
        &owner,
        json!({ "question": "Which, and why?", "options": TRICKY, "multiple": true }),
    )
    .await;
    let id = id_of(&poll);
    let mut voters = Vec::new();
    for choices in [&[0][..], &[1, 2], &[2], &[0, 2, 4], &[3]] {
        let voter = server.client();
        voter.vote(&id, choices).await.assert_json(201);
        voters.push(voter);
    }
    (server, owner, id, token, voters)
}

async fn download(client: &Client, id: &str, file: &str, token: &str) -> Response {
    let response = client
        .send(Request::get(format!("/api/polls/{id}/export/{file}")).bearer(token))
        .await;
    assert_eq!(response.status.as_u16(), 200, "{file}: {response:?}");
    assert_eq!(
        response.header("content-disposition"),
        Some(&*format!("attachment; filename=\"poll-{id}-{file}\""))
    );
    assert_eq!(response.header("cache-control"), Some("no-store"));
    response
}

/// The rows of a CSV body, header first.
fn rows(response: &Response) -> Vec<Vec<String>> {
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/csv")),
        "{:?}",
        response.headers
    );
    let text = std::str::from_utf8(&response.body).expect("UTF-8 CSV");
    assert!(text.ends_with("\r\n"), "rows end with CRLF");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| {
            r.expect("a well-formed CSV record")
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

/// What a spreadsheet shows for `text` as exported: formulas neutralised.
fn as_exported(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

async fn the_results_csv_parses_and_matches_the_results(app: AppBuilder) {
    let (_server, owner, id, token, _) = voted_poll(app).await;
    let rows = rows(&download(&owner, &id, "results.csv", &token).await);
    assert_eq!(rows[0], ["option_id", "option", "votes"]);
    let expected = votes_of(&results_of(&owner, &id).await);
    assert_eq!(expected, [2, 1, 3, 1, 1]);
    assert_eq!(
        rows.len(),
        1 + TRICKY.len(),
        "a header and one row per option"
    );
    for (i, row) in rows[1..].iter().enumerate() {
        assert_eq!(row[0], i.to_string(), "option id");
        assert_eq!(row[1], as_exported(TRICKY[i]), "option text, safely");
        assert_eq!(row[2], expected[i].to_string(), "votes of {}", TRICKY[i]);
    }
}

async fn the_results_json_matches_the_results(app: AppBuilder) {
    let (_server, owner, id, token, _) = voted_poll(app).await;
    let response = download(&owner, &id, "results.json", &token).await;
    let export = response.json();
    let results = results_of(&owner, &id).await;
    let poll = owner
        .get(&format!("/api/polls/{id}"))
        .await
        .assert_json(200);
    assert_eq!(export["poll"], poll);
    assert_eq!(export["version"], results["version"]);
    assert_eq!(export["total"], 5);
    let counts: Vec<(u64, String, u64)> = export["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .map(|c| {
            (
                c["option_id"].as_u64().unwrap(),
                c["option"].as_str().unwrap().to_owned(),
                c["votes"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(u64, String, u64)> = votes_of(&results)
        .into_iter()
        .enumerate()
        .map(|(i, v)| (i as u64, TRICKY[i].to_owned(), v))
        .collect();
    assert_eq!(counts, expected, "JSON keeps the texts as they are");
    let exported_at = export["exported_at"].as_str().expect("exported_at");
    assert!(OffsetDateTime::parse(exported_at, &Rfc3339).is_ok());
}

async fn the_ballots_csv_lists_each_ballot_anonymously_by_minute(app: AppBuilder) {
    let (_server, owner, id, token, voters) = voted_poll(app).await;
    let response = download(&owner, &id, "ballots.csv", &token).await;
    let text = String::from_utf8(response.body.to_vec()).unwrap();
    for voter in &voters {
        let voter_id = voter.voter_id().expect("a voter id");
        assert!(!text.contains(&voter_id), "a voter id leaked: {text}");
    }
    let rows = rows(&response);
    assert_eq!(rows[0], ["cast_minute", "option_ids", "options"]);
    let ballots = &rows[1..];
    assert_eq!(ballots.len(), 5, "one row per ballot");

    let mut tally = vec![0_u64; TRICKY.len()];
    let mut keys = Vec::new();
    for row in ballots {
        let minute = OffsetDateTime::parse(&row[0], &Rfc3339).expect("an RFC 3339 minute");
        assert_eq!((minute.second(), minute.nanosecond()), (0, 0), "{}", row[0]);
        assert!(row[0].ends_with(":00Z"), "UTC, whole minutes: {}", row[0]);
        let ids: Vec<usize> = row[1].split(';').map(|i| i.parse().unwrap()).collect();
        let texts: Vec<String> = ids.iter().map(|&i| TRICKY[i].to_owned()).collect();
        assert_eq!(row[2], as_exported(&texts.join("; ")), "texts follow ids");
        for &i in &ids {
            tally[i] += 1;
        }
        keys.push((minute, ids));
    }
    assert_eq!(
        tally,
        votes_of(&results_of(&owner, &id).await),
        "ballots add up"
    );
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "sorted by minute, then choices");
}

async fn exports_need_the_polls_manage_token(app: AppBuilder) {
    let (server, owner, id, _token, _) = voted_poll(app).await;
    let (other, other_token) = create_poll(&owner, common::draft(&["a", "b"])).await;
    for file in ["results.csv", "results.json", "ballots.csv"] {
        let path = format!("/api/polls/{id}/export/{file}");
        owner
            .send(Request::get(&path))
            .await
            .assert_error(401, "unauthorized");
        owner
            .send(Request::get(&path).bearer(&other_token))
            .await
            .assert_error(403, "forbidden");
        let unknown = format!(
            "/api/polls/{}/export/{file}",
            polling_core::PollId::generate()
        );
        server
            .client()
            .send(Request::get(unknown).bearer(&other_token))
            .await
            .assert_error(404, "not_found");
    }
    download(&owner, &id_of(&other), "ballots.csv", &other_token).await;
}

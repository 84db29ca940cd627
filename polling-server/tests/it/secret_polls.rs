//! Secret polls end to end, on PostgreSQL and on SQLite: after every
//! method's votes, no row of any table that holds choices, and no log line
//! of the run, holds a voter's id, cookie, or their SHA-256 in hex or
//! base64; receipts carry no choices, a second ballot is 409
//! `already_voted`, an idempotent replay gives the same choiceless answer,
//! exports recount to the results at the minute and not in cast order, and
//! `secret` with `allow_vote_change` is 400 `secret_vote_change`.
//!
//! With them, an invite-only secret poll (eligible voters, secret ballot):
//! each code votes once (409 after), a revoked or unknown code is 403
//! `invite_invalid`, the codes that voted are listed `used` and cannot be
//! revoked (409 `invite_used`), and neither a code, nor its voter id, nor
//! their SHA-256 is found beside any choices.
//!
//! The database is read as an operator would: every table the schema
//! lists (`information_schema` on PostgreSQL, `sqlite_master` on SQLite),
//! every row, every column as text (binary columns both as bytes and as
//! hexadecimal). The logs are the server's JSON lines ([`JsonLines`]),
//! captured for the whole test process at `DEBUG`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use polling_server::telemetry::{JsonLines, JsonSpanFields, LogBuffer};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Row};

use crate::common::{
    create_poll, id_of, postgres_app, results_of, sqlite_app, voter_with_cookie, Client, Request,
    TestServer, VOTER_COOKIE,
};

/// Every JSON log line of this process, from the first [`logs`] on.
static LOGS: OnceLock<LogBuffer> = OnceLock::new();

/// Starts capturing the process's log lines (once; under nextest each test
/// is a process of its own) and gives the buffer they go to.
fn logs() -> LogBuffer {
    LOGS.get_or_init(|| {
        let buffer = LogBuffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .fmt_fields(JsonSpanFields)
            .event_format(JsonLines)
            .with_writer(buffer.clone())
            .finish();
        // Another test of this process may have set one first (`cargo
        // test` runs them in one process): then its lines are not ours,
        // and the check below that the log is not empty says so.
        let _ = tracing::subscriber::set_global_default(subscriber);
        buffer
    })
    .clone()
}

/// One voter: what identifies them. A voter with an invite code has the
/// code, its voter id and its `polling_invite` cookie as more `identities`.
struct Voter {
    client: Client,
    identities: Vec<String>,
}

impl Voter {
    async fn new(server: &TestServer, poll: &str) -> Self {
        let (client, id) = voter_with_cookie(server, poll).await;
        let identities = vec![id.clone(), format!("{VOTER_COOKIE}={id}")];
        Self { client, identities }
    }

    /// Every form in which an identity of this voter could be stored: as
    /// is, and its SHA-256 in hexadecimal (both cases) and base64 (standard
    /// and URL-safe, padded or not).
    fn needles(&self) -> Vec<String> {
        let mut needles = Vec::new();
        for identity in &self.identities {
            let digest: [u8; 32] = Sha256::digest(identity.as_bytes()).into();
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            needles.push(identity.clone());
            needles.push(hex.to_uppercase());
            needles.push(hex);
            for alphabet in [STANDARD, URL_SAFE] {
                let encoded = base64(&digest, alphabet);
                needles.push(encoded.trim_end_matches('=').to_owned());
                needles.push(encoded);
            }
        }
        needles
    }
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `bytes` in base64 with `alphabet`, padded.
fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(alphabet[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A ballot body of `method`'s shape for voter number `i`.
fn body(method: &str, i: u32) -> Value {
    match method {
        "plurality" => json!({ "choices": [i % 3] }),
        "approval" => json!({ "choices": [i % 3, (i + 1) % 3] }),
        "ranked" => json!({ "ranking": [i % 3, (i + 2) % 3] }),
        _ => json!({ "scores": [i % 6, 5 - i % 6, 3] }),
    }
}

/// The polls voted in by [`vote_in_secret_polls`]: for each, its id and
/// method, and its voters.
struct Voted {
    polls: Vec<(String, String, String)>,
    voters: Vec<Voter>,
}

/// Creates a secret poll of each method and has four voters vote in each
/// (half with an `Idempotency-Key`, replayed), checking every answer.
async fn vote_in_secret_polls(server: &TestServer) -> Voted {
    let owner = server.client();
    let refused = owner
        .post_json(
            "/api/polls",
            &json!({
                "question": "Changeable secret?", "options": ["a", "b"],
                "secret": true, "allow_vote_change": true
            }),
        )
        .await;
    refused.assert_error(400, "secret_vote_change");

    let mut voted = Voted {
        polls: Vec::new(),
        voters: Vec::new(),
    };
    for method in ["plurality", "approval", "ranked", "star"] {
        let (poll, token) = create_poll(
            &owner,
            json!({
                "question": format!("A secret {method} poll?"),
                "options": ["Ada", "Grace", "Barbara"],
                "method": method, "secret": true
            }),
        )
        .await;
        assert_eq!(poll["secret"], true, "{poll}");
        let id = id_of(&poll);
        for i in 0..4u32 {
            let voter = Voter::new(server, &id).await;
            let path = format!("/api/polls/{id}/votes");
            let ballot = body(method, i);
            let request = || {
                let request = Request::post(path.clone()).json(&ballot);
                if i % 2 == 0 {
                    request.header("idempotency-key", format!("vote-{method}-{i}"))
                } else {
                    request
                }
            };
            let answer = voter.client.send(request()).await.assert_json(201);
            assert_eq!(
                answer,
                json!({ "receipt": { "poll_id": id, "secret": true }, "results": null }),
                "a secret receipt says only that the voter voted"
            );
            let again = voter.client.send(request()).await;
            if i % 2 == 0 {
                assert_eq!(again.header("idempotent-replayed"), Some("true"));
                assert_eq!(again.assert_json(201), answer, "the replay is the answer");
            } else {
                again.assert_error(409, "already_voted");
            }
            let other = voter.client.post_json(&path, &body(method, i + 1)).await;
            other.assert_error(409, "already_voted");
            voted.voters.push(voter);
        }
        let results = results_of(&owner, &id).await;
        assert_eq!(results["total"], 4, "{method}: {results}");
        voted.polls.push((id, method.to_owned(), token));
    }
    voted
}

/// A well-formed invite code no poll issued.
const STRANGER: &str = "abcdefghijklmnopqrstuvwxyz";

/// The codes of a JSON answer's `invites`, with their statuses.
fn invites_of(body: &Value) -> Vec<(String, String)> {
    body["invites"]
        .as_array()
        .unwrap_or_else(|| panic!("no invites in {body}"))
        .iter()
        .map(|i| {
            let text = |key: &str| i[key].as_str().unwrap_or_default().to_owned();
            (text("code"), text("status"))
        })
        .collect()
}

/// The `polling_invite` cookie a vote with a code set, as `name=value`.
fn invite_cookie(answer: &crate::common::Response) -> String {
    let set = answer
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("polling_invite="))
        .unwrap_or_else(|| panic!("no polling_invite cookie: {:?}", answer.headers));
    set.split(';').next().unwrap().to_owned()
}

/// Creates an invite-only secret plurality poll of six codes and has four
/// of them vote (half with an `Idempotency-Key`, replayed), each from a
/// client with a voter cookie of its own: every second ballot of a code,
/// from that client or another, is 409; a revoked code and one the poll
/// never issued are 403 `invite_invalid`; the owner sees the four codes
/// `used` and cannot revoke them. The voters join `voted`, each with its
/// code, the code's voter id and its cookie among its identities.
async fn vote_in_a_secret_invite_poll(server: &TestServer, voted: &mut Voted) {
    let owner = server.client();
    let (poll, token) = create_poll(
        &owner,
        json!({
            "question": "Who chairs the board?", "options": ["Ada", "Grace", "Barbara"],
            "secret": true, "eligibility": "invite", "invites": 6
        }),
    )
    .await;
    assert_eq!(
        (&poll["secret"], &poll["eligibility"]),
        (&json!(true), &json!("invite"))
    );
    let id = id_of(&poll);
    let codes: Vec<String> = invites_of(&poll)
        .into_iter()
        .map(|(code, _)| code)
        .collect();
    assert_eq!(codes.len(), 6);
    let path = format!("/api/polls/{id}/votes");
    let vote = |code: &str, choice: u32| {
        Request::post(path.clone()).json(&json!({ "choices": [choice], "invite": code }))
    };
    for (i, code) in (0..4u32).zip(&codes) {
        let mut voter = Voter::new(server, &id).await;
        let request = || {
            let request = vote(code, i % 3);
            if i % 2 == 0 {
                request.header("idempotency-key", format!("vote-invite-{i}"))
            } else {
                request
            }
        };
        let answer = voter.client.send(request()).await;
        let cookie = invite_cookie(&answer);
        assert_eq!(
            answer.assert_json(201),
            json!({ "receipt": { "poll_id": id, "secret": true }, "results": null }),
            "a code's secret receipt says only that it voted"
        );
        let again = voter.client.send(request()).await;
        if i % 2 == 0 {
            assert_eq!(again.header("idempotent-replayed"), Some("true"));
            again.assert_json(201);
        } else {
            again.assert_error(409, "already_voted");
        }
        voter
            .client
            .send(vote(code, i + 1))
            .await
            .assert_error(409, "already_voted");
        server
            .client()
            .send(vote(code, i % 3))
            .await
            .assert_error(409, "already_voted");
        let invite_voter = polling_core::InviteCode::presented(code)
            .expect("a code")
            .voter();
        assert_eq!(cookie, format!("polling_invite={}", invite_voter.as_str()));
        voter
            .identities
            .extend([code.clone(), invite_voter.as_str().to_owned(), cookie]);
        voted.voters.push(voter);
    }

    let revoke = format!("/api/polls/{id}/invites/revoke");
    let revoke_code = |code: &str| {
        owner.send(
            Request::post(&revoke)
                .bearer(&token)
                .json(&json!({ "code": code })),
        )
    };
    revoke_code(&codes[4]).await.assert_json(200);
    for (code, what) in [(codes[4].as_str(), "revoked"), (STRANGER, "unknown")] {
        let refused = server.client().send(vote(code, 0)).await;
        assert_eq!(refused.status, 403, "a {what} code: {refused:?}");
        refused.assert_error(403, "invite_invalid");
    }
    for code in &codes[..4] {
        revoke_code(code).await.assert_error(409, "invite_used");
    }
    let listed = owner
        .send(Request::get(format!("/api/polls/{id}/invites")).bearer(&token))
        .await
        .assert_json(200);
    let status: BTreeMap<String, String> = invites_of(&listed).into_iter().collect();
    for (i, code) in codes.iter().enumerate() {
        let expected = match i {
            0..=3 => "used",
            4 => "revoked",
            _ => "unused",
        };
        assert_eq!(status[code], expected, "code {i}: {listed}");
    }
    let results = results_of(&owner, &id).await;
    assert_eq!(results["total"], 4, "four codes, four ballots: {results}");
    voted.polls.push((id, "plurality".to_owned(), token));
}

/// Whether a row of `table` holds a ballot's choices: a ballots table, or
/// any row holding a receipt's or a request's marks as JSON.
fn holds_choices(table: &str, row: &str) -> bool {
    table.starts_with("ballots")
        || table == "secret_ballots"
        || ["\"choices\"", "\"ranking\"", "\"scores\""]
            .iter()
            .any(|key| row.contains(key))
}

/// The rows that hold choices and one of the voters' needles: what a
/// secret poll must never leave.
fn leaks<'a>(rows: &'a [(String, String)], voters: &[Voter]) -> Vec<&'a (String, String)> {
    let needles: Vec<String> = voters.iter().flat_map(Voter::needles).collect();
    rows.iter()
        .filter(|(table, row)| holds_choices(table, row))
        .filter(|(_, row)| needles.iter().any(|needle| row.contains(needle.as_str())))
        .collect()
}

/// Checks the rows and the logs after [`vote_in_secret_polls`], and the
/// exports of its polls.
async fn assert_nothing_ties_choices_to_voters(
    server: &TestServer,
    voted: &Voted,
    rows: &[(String, String)],
    log: &str,
) {
    assert!(rows.iter().any(|(t, _)| t == "secret_ballots"), "scanned");
    let found = leaks(rows, &voted.voters);
    assert!(found.is_empty(), "rows tie choices to a voter: {found:#?}");
    // Stronger: the secret tables hold none of the needles at all.
    for voter in &voted.voters {
        for needle in voter.needles() {
            for (table, row) in rows {
                if table.starts_with("secret_") {
                    assert!(!row.contains(&needle), "{table} holds {needle}: {row}");
                }
            }
            assert!(!log.contains(&needle), "a log line holds {needle}");
        }
    }
    // The scan can see a voter: the idempotency keys hold the cookies of
    // the requests with a key (their responses hold no choices).
    // ... and the invites table holds each code's voter id (beside no
    // choices), so the needles of the codes are searched where they are.
    for voter in voted.voters.iter().filter(|v| v.identities.len() > 2) {
        let invite_voter = &voter.identities[3];
        assert!(
            rows.iter()
                .any(|(t, row)| t == "invites" && row.contains(invite_voter.as_str())),
            "the scan finds the code's voter id {invite_voter} in its invite"
        );
    }
    let first = &voted.voters[0].identities[0];
    assert!(
        rows.iter()
            .any(|(t, row)| t == "idempotency_keys" && row.contains(first.as_str())),
        "the scan finds a voter where one is stored"
    );
    assert!(
        log.contains("\"message\":\"request\""),
        "the run's log lines"
    );
    for (id, _, _) in &voted.polls {
        assert!(log.contains(id.as_str()), "the log names the poll {id}");
    }

    let owner = server.client();
    for (id, method, token) in &voted.polls {
        let csv = owner
            .send(Request::get(format!("/api/polls/{id}/export/ballots.csv")).bearer(token))
            .await;
        assert_eq!(csv.status.as_u16(), 200, "{method}: {csv:?}");
        let text = std::str::from_utf8(&csv.body).expect("UTF-8");
        let ballots = export_rows(text);
        assert_eq!(ballots.len(), 4, "{method}: {text}");
        let results = results_of(&owner, id).await;
        assert_eq!(
            recount(method, &ballots),
            first_counts(&results),
            "{method}: the export recounts to the results"
        );
        for (minute, _) in &ballots {
            assert!(minute.ends_with(":00Z"), "{method}: {minute} is a minute");
        }
    }
}

/// `(cast_minute, marks)` of each row of a `ballots.csv`.
fn export_rows(text: &str) -> Vec<(String, Vec<u32>)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|record| {
            let record = record.expect("a CSV row");
            let marks = record[1]
                .split(';')
                .map(|m| m.trim().parse().expect("an integer mark"))
                .collect();
            (record[0].to_owned(), marks)
        })
        .collect()
}

/// Each option's figure (`counts[].votes`) the exported ballots give.
fn recount(method: &str, ballots: &[(String, Vec<u32>)]) -> Vec<u64> {
    let mut counts = vec![0u64; 3];
    for (_, marks) in ballots {
        match method {
            "plurality" | "approval" => marks.iter().for_each(|&m| counts[m as usize] += 1),
            "ranked" => counts[marks[0] as usize] += 1,
            _ => marks
                .iter()
                .enumerate()
                .for_each(|(i, &s)| counts[i] += u64::from(s)),
        }
    }
    counts
}

fn first_counts(results: &Value) -> Vec<u64> {
    results["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .map(|c| c["votes"].as_u64().expect("a count"))
        .collect()
}

/// 50 voters cast 2, 1, 0, 2, 1, 0, ... in `poll`: its export is not in that
/// order.
async fn assert_export_is_not_in_cast_order(server: &TestServer) {
    let owner = server.client();
    let (poll, token) = create_poll(
        &owner,
        json!({ "question": "Order?", "options": ["a", "b", "c"], "secret": true }),
    )
    .await;
    let id = id_of(&poll);
    let cast: Vec<Vec<u32>> = (0..50).map(|i| vec![2 - i % 3]).collect();
    for choices in &cast {
        server.client().vote(&id, choices).await.assert_json(201);
    }
    let csv = owner
        .send(Request::get(format!("/api/polls/{id}/export/ballots.csv")).bearer(&token))
        .await;
    let exported: Vec<Vec<u32>> = export_rows(std::str::from_utf8(&csv.body).unwrap())
        .into_iter()
        .map(|(_, marks)| marks)
        .collect();
    assert_eq!(exported.len(), 50);
    assert_ne!(exported, cast, "the export must not be in cast order");
}

/// Every row of every table of the PostgreSQL database, as `(table, text)`.
async fn postgres_rows(pool: &sqlx::PgPool) -> Vec<(String, String)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
          WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut rows = Vec::new();
    for table in tables {
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
              WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(&table)
        .fetch_all(pool)
        .await
        .unwrap();
        let fields: Vec<String> = columns
            .iter()
            .map(|(name, kind)| match kind.as_str() {
                "bytea" => format!(
                    "coalesce(encode(\"{name}\", 'escape'), '') || ' ' || coalesce(\"{name}\"::text, '')"
                ),
                _ => format!("coalesce(\"{name}\"::text, '')"),
            })
            .collect();
        let sql = format!(
            "SELECT concat_ws(' | ', {}) FROM \"{table}\"",
            fields.join(", ")
        );
        let texts: Vec<String> = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_all(pool)
            .await
            .unwrap();
        rows.extend(texts.into_iter().map(|text| (table.clone(), text)));
    }
    rows
}

/// Every row of every table of the SQLite database, as `(table, text)`.
async fn sqlite_rows(pool: &sqlx::SqlitePool) -> Vec<(String, String)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut rows = Vec::new();
    for table in tables {
        let columns: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
                .bind(&table)
                .fetch_all(pool)
                .await
                .unwrap();
        // Each column as its bytes and as hexadecimal.
        let fields: Vec<String> = columns
            .iter()
            .map(|name| format!("CAST(\"{name}\" AS BLOB), hex(\"{name}\")"))
            .collect();
        let sql = format!("SELECT {} FROM \"{table}\"", fields.join(", "));
        for row in sqlx::query(AssertSqlSafe(sql))
            .fetch_all(pool)
            .await
            .unwrap()
        {
            let text: Vec<String> = (0..row.len())
                .map(|i| {
                    let bytes: Option<Vec<u8>> = row.try_get(i).ok().flatten();
                    bytes.map_or_else(String::new, |b| String::from_utf8_lossy(&b).into_owned())
                })
                .collect();
            rows.push((table.clone(), text.join(" | ")));
        }
    }
    rows
}

fn log_text() -> String {
    logs().text()
}

#[sqlx::test]
async fn on_postgres_no_row_or_log_line_ties_a_secret_ballot_to_its_voter(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    logs();
    let server = TestServer::with_app(postgres_app(&connect).await.build()).await;
    let mut voted = vote_in_secret_polls(&server).await;
    vote_in_a_secret_invite_poll(&server, &mut voted).await;
    let pool = sqlx::PgPool::connect_with(connect).await.unwrap();
    let rows = postgres_rows(&pool).await;
    let stored: BTreeMap<&str, usize> = rows.iter().fold(BTreeMap::new(), |mut n, (t, _)| {
        *n.entry(t.as_str()).or_default() += 1;
        n
    });
    assert_eq!(stored.get("secret_ballots"), Some(&20), "{stored:?}");
    assert_eq!(stored.get("secret_voters"), Some(&20), "{stored:?}");
    assert_eq!(stored.get("invites"), Some(&6), "{stored:?}");
    assert_eq!(stored.get("ballots"), None, "no ballot row ties a voter id");
    assert_nothing_ties_choices_to_voters(&server, &voted, &rows, &log_text()).await;

    let minutes: Vec<bool> = sqlx::query_scalar(
        "SELECT cast_minute = date_trunc('minute', cast_minute) FROM secret_ballots",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(minutes.iter().all(|m| *m), "every stored time is a minute");
    assert_export_is_not_in_cast_order(&server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_sqlite_no_row_or_log_line_ties_a_secret_ballot_to_its_voter() {
    logs();
    let (app, dir) = sqlite_app().await;
    let server = TestServer::with_app(app.build()).await;
    let mut voted = vote_in_secret_polls(&server).await;
    vote_in_a_secret_invite_poll(&server, &mut voted).await;
    let url = format!("sqlite://{}", dir.path().join("polls.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let rows = sqlite_rows(&pool).await;
    let secret_ballots = rows.iter().filter(|(t, _)| t == "secret_ballots").count();
    assert_eq!(secret_ballots, 20);
    assert_eq!(rows.iter().filter(|(t, _)| t == "invites").count(), 6);
    assert!(!rows.iter().any(|(t, _)| t == "ballots"), "no ballot row");
    assert_nothing_ties_choices_to_voters(&server, &voted, &rows, &log_text()).await;
    assert_export_is_not_in_cast_order(&server).await;
}

/// The check itself can fail: an open poll's ballot row holds its voter id
/// beside its choices, and [`leaks`] finds it.
#[tokio::test(flavor = "multi_thread")]
async fn the_leak_check_finds_an_open_polls_ballot_row() {
    let (app, dir) = sqlite_app().await;
    let server = TestServer::with_app(app.build()).await;
    let (poll, _) = create_poll(
        &server.client(),
        json!({ "question": "Open?", "options": ["a", "b"] }),
    )
    .await;
    let id = id_of(&poll);
    let voter = Voter::new(&server, &id).await;
    voter.client.vote(&id, &[1]).await.assert_json(201);
    let url = format!("sqlite://{}", dir.path().join("polls.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let rows = sqlite_rows(&pool).await;
    let found = leaks(&rows, std::slice::from_ref(&voter));
    assert_eq!(found.len(), 1, "{rows:#?}");
    assert_eq!(found[0].0, "ballots");
}

#[test]
fn base64_is_rfc_4648() {
    assert_eq!(base64(b"foob", STANDARD), "Zm9vYg==");
    assert_eq!(base64(b"fooba", STANDARD), "Zm9vYmE=");
    assert_eq!(base64(b"foobar", STANDARD), "Zm9vYmFy");
    assert_eq!(base64(&[0xfb, 0xff], URL_SAFE), "-_8=");
}

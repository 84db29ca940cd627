//! `Idempotency-Key` over real HTTP, on the in-process backends and on
//! PostgreSQL, and across two server instances sharing one database.

use crate::common;
use std::time::Duration;

use crate::common::{create_poll, draft, id_of, postgres_app, Client, Request, TestServer};
use polling_server::{App, AppBuilder};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// The header marking a replayed response.
const REPLAYED: &str = "idempotent-replayed";

/// An unguessable key named `name`: the name and this run's random suffix
/// (a cookieless request's key must be unguessable, see `guessable_keys…`).
fn key(name: &str) -> String {
    static SUFFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let suffix = SUFFIX.get_or_init(|| uuid::Uuid::new_v4().simple().to_string());
    format!("{name}-{suffix}")
}

fn with_key(request: Request, key: &str) -> Request {
    request.header("idempotency-key", key)
}

fn create_with_key(draft: &Value, key: &str) -> Request {
    with_key(Request::post("/api/polls").json(draft), key)
}

fn vote_with_key(poll_id: &str, choices: &[u32], key: &str) -> Request {
    with_key(
        Request::post(format!("/api/polls/{poll_id}/votes")).json(&json!({ "choices": choices })),
        key,
    )
}

async fn total_votes(client: &Client, poll_id: &str) -> u64 {
    client
        .get(&format!("/api/polls/{poll_id}/results"))
        .await
        .assert_json(200)["total"]
        .as_u64()
        .expect("a total")
}

async fn poll_count(client: &Client) -> usize {
    client.get("/api/polls?limit=100").await.assert_json(200)["polls"]
        .as_array()
        .expect("a page of polls")
        .len()
}

on_both_backends!(
    a_retried_creation_answers_the_first_response_and_creates_one_poll,
    the_same_key_with_another_body_is_422_and_changes_nothing,
    malformed_keys_are_400,
    a_cookieless_voter_retrying_gets_the_same_response_and_voter_id,
    keys_are_scoped_per_voter,
    refusals_are_replayed_too,
    keys_expire_after_the_configured_time,
    requests_without_a_key_are_unaffected,
    concurrent_retries_run_the_request_once,
    guessable_keys_without_a_cookie_are_refused_so_clients_never_share_a_response,
);

async fn guessable_keys_without_a_cookie_are_refused_so_clients_never_share_a_response(
    app: AppBuilder,
) {
    let server = TestServer::with_app(app).await;
    let (poll, _) = create_poll(&server.client(), draft(&["a", "b"])).await;
    let id = id_of(&poll);

    // Three clients with no cookie and one guessable key: before, all three
    // got 201 and the same voter cookie, and one vote was counted.
    for _ in 0..3 {
        let refused = server
            .client()
            .send(vote_with_key(&id, &[1], "vote-1"))
            .await;
        let body = refused.assert_error(400, "invalid_idempotency_key");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("voter cookie"),
            "{body}"
        );
        assert_eq!(
            common::voter_from(&refused.headers),
            None,
            "no voter issued"
        );
        let created = server
            .client()
            .send(create_with_key(&draft(&["x", "y"]), "create-1"))
            .await;
        created.assert_error(400, "invalid_idempotency_key");
    }
    assert_eq!(total_votes(&server.client(), &id).await, 0);
    assert_eq!(
        poll_count(&server.client()).await,
        1,
        "only the test's poll"
    );

    // Unguessable keys: each client is its own voter, replays its own answer.
    let (alice, bob) = (server.client(), server.client());
    let a = alice.send(vote_with_key(&id, &[1], &key("alice"))).await;
    let b = bob.send(vote_with_key(&id, &[1], &key("bob"))).await;
    a.assert_json(201);
    b.assert_json(201);
    assert_ne!(alice.voter_id(), bob.voter_id());
    assert_eq!(total_votes(&server.client(), &id).await, 2);

    // With a cookie, a short key is the voter's own: honoured.
    let with_cookie = alice.send(vote_with_key(&id, &[1], "again")).await;
    assert_eq!(with_cookie.status.as_u16(), 200, "{:?}", with_cookie.json());
}

async fn a_retried_creation_answers_the_first_response_and_creates_one_poll(app: AppBuilder) {
    let server = TestServer::with_app(app).await;
    let client = server.client();
    let draft = draft(&["tabs", "spaces"]);
    let first = client.send(create_with_key(&draft, &key("create-1"))).await;
    let body = first.assert_json(201);
    assert_eq!(
        first.header(REPLAYED),
        None,
        "the first answer is no replay"
    );

    let again = client.send(create_with_key(&draft, &key("create-1"))).await;
    assert_eq!(
        again.assert_json(201),
        body,
        "the same poll and manage token"
    );
    assert_eq!(again.header(REPLAYED), Some("true"));
    assert_eq!(again.header("location"), first.header("location"));
    assert!(again
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json")));
    assert_eq!(poll_count(&client).await, 1, "one poll was created");
}

async fn the_same_key_with_another_body_is_422_and_changes_nothing(app: AppBuilder) {
    let server = TestServer::with_app(app).await;
    let client = server.client();
    client
        .send(create_with_key(&draft(&["a", "b"]), &key("k")))
        .await
        .assert_json(201);
    client
        .send(create_with_key(&draft(&["a", "c"]), &key("k")))
        .await
        .assert_error(422, "idempotency_key_mismatch");
    assert_eq!(poll_count(&client).await, 1);

    let (poll, _) = create_poll(&client, draft(&["x", "y"])).await;
    let id = id_of(&poll);
    client
        .send(vote_with_key(&id, &[0], &key("v")))
        .await
        .assert_json(201);
    client
        .send(vote_with_key(&id, &[1], &key("v")))
        .await
        .assert_error(422, "idempotency_key_mismatch");
    assert_eq!(total_votes(&client, &id).await, 1);
}

async fn malformed_keys_are_400(app: AppBuilder) {
    let server = TestServer::with_app(app).await;
    let client = server.client();
    let long = "k".repeat(256);
    for bad in ["", "two words", long.as_str(), "\"\""] {
        client
            .send(create_with_key(&draft(&["a", "b"]), bad))
            .await
            .assert_error(400, "invalid_idempotency_key");
    }
    let long_path = format!("/api/polls/{}/votes", "x".repeat(4000));
    client
        .send(with_key(
            Request::post(long_path).json(&json!({"choices": [0]})),
            "k",
        ))
        .await
        .assert_error(404, "not_found");
    let twice = create_with_key(&draft(&["a", "b"]), "one").header("idempotency-key", "two");
    client
        .send(twice)
        .await
        .assert_error(400, "invalid_idempotency_key");
    assert_eq!(poll_count(&client).await, 0, "nothing was created");
    client
        .send(create_with_key(
            &draft(&["a", "b"]),
            &format!("\"{}\"", key("quoted")),
        ))
        .await
        .assert_json(201);
}

async fn a_cookieless_voter_retrying_gets_the_same_response_and_voter_id(app: AppBuilder) {
    let server = TestServer::with_app(app).await;
    let (poll, _) = create_poll(&server.client(), draft(&["a", "b"])).await;
    let id = id_of(&poll);

    // Two clients with no cookie: the retry stands for a client whose first
    // answer (and so its cookie) was lost.
    let first = server
        .client()
        .send(vote_with_key(&id, &[1], &key("vote-1")))
        .await;
    let retry = server
        .client()
        .send(vote_with_key(&id, &[1], &key("vote-1")))
        .await;
    assert_eq!(first.assert_json(201), retry.assert_json(201));
    assert_eq!(retry.header(REPLAYED), Some("true"));
    let voter = common::voter_from(&first.headers).expect("a voter cookie");
    assert_eq!(
        common::voter_from(&retry.headers),
        Some(voter),
        "the retry is told the same voter id"
    );
    assert_eq!(total_votes(&server.client(), &id).await, 1, "counted once");
}

async fn keys_are_scoped_per_voter(app: AppBuilder) {
    let server = TestServer::with_app(app).await;
    let alice = server.client();
    let bob = server.client();
    let (poll, _) = create_poll(&alice, draft(&["a", "b"])).await;
    let id = id_of(&poll);
    bob.get(&format!("/api/polls/{id}")).await.assert_json(200); // a cookie

    let a = alice.send(vote_with_key(&id, &[0], &key("same-key"))).await;
    let b = bob.send(vote_with_key(&id, &[0], &key("same-key"))).await;
    a.assert_json(201);
    b.assert_json(201);
    assert_eq!(b.header(REPLAYED), None, "bob's request ran");
    assert_eq!(total_votes(&alice, &id).await, 2, "both voters counted");
    let again = alice.send(vote_with_key(&id, &[0], &key("same-key"))).await;
    assert_eq!(
        again.assert_json(201),
        a.assert_json(201),
        "alice's own response"
    );
    assert_eq!(again.header(REPLAYED), Some("true"));
}

async fn refusals_are_replayed_too(app: AppBuilder) {
    let server = TestServer::with_app(app).await;
    let client = server.client();
    let (poll, token) = create_poll(&client, draft(&["a", "b"])).await;
    let id = id_of(&poll);
    client
        .send(Request::post(format!("/api/polls/{id}/close")).bearer(&token))
        .await
        .assert_json(200);
    let first = client.send(vote_with_key(&id, &[0], &key("late"))).await;
    first.assert_error(409, "poll_closed");
    let again = client.send(vote_with_key(&id, &[0], &key("late"))).await;
    again.assert_error(409, "poll_closed");
    assert_eq!(again.header(REPLAYED), Some("true"), "a kept 4xx");
}

async fn keys_expire_after_the_configured_time(app: AppBuilder) {
    let server = TestServer::with_app(app.idempotency_ttl(Duration::from_secs(1))).await;
    let client = server.client();
    client
        .send(create_with_key(&draft(&["a", "b"]), &key("short")))
        .await
        .assert_json(201);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let after = client
        .send(create_with_key(&draft(&["a", "c"]), &key("short")))
        .await;
    after.assert_json(201);
    assert_eq!(after.header(REPLAYED), None, "the expired key ran again");
    assert_eq!(poll_count(&client).await, 2);
}

async fn concurrent_retries_run_the_request_once(app: AppBuilder) {
    let server = TestServer::with_app(app).await;
    let (poll, _) = create_poll(&server.client(), draft(&["a", "b"])).await;
    let id = id_of(&poll);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let client = server.client();
        let request = vote_with_key(&id, &[1], &key("burst"));
        tasks.spawn(async move { client.send(request).await });
    }
    let (mut ran, mut replayed, mut in_use) = (0, 0, 0);
    while let Some(response) = tasks.join_next().await {
        let response = response.expect("a request task");
        match (response.status.as_u16(), response.header(REPLAYED)) {
            (201, None) => ran += 1,
            (201, Some("true")) => replayed += 1,
            _ => {
                response.assert_error(409, "idempotency_key_in_use");
                assert_eq!(response.header("retry-after"), Some("1"));
                in_use += 1;
            }
        }
    }
    assert_eq!(
        ran, 1,
        "one request ran ({replayed} replayed, {in_use} in use)"
    );
    assert_eq!(ran + replayed + in_use, 12);
    assert_eq!(total_votes(&server.client(), &id).await, 1);
}

async fn requests_without_a_key_are_unaffected(app: AppBuilder) {
    let server = TestServer::with_app(app).await;
    let client = server.client();
    let draft = draft(&["a", "b"]);
    client
        .post_json("/api/polls", &draft)
        .await
        .assert_json(201);
    let second = client.post_json("/api/polls", &draft).await;
    second.assert_json(201);
    assert_eq!(second.header(REPLAYED), None);
    assert_eq!(poll_count(&client).await, 2, "two requests, two polls");
}

#[sqlx::test]
async fn a_vote_replayed_to_another_instance_answers_the_first_response_and_counts_once(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let a = TestServer::with_app(postgres_app(&connect).await.instance("a")).await;
    let b = TestServer::with_app(postgres_app(&connect).await.instance("b")).await;
    let at_a = a.client();
    let (poll, _) = create_poll(&at_a, draft(&["a", "b"])).await;
    let id = id_of(&poll);

    let first = at_a.send(vote_with_key(&id, &[1], &key("cross"))).await;
    assert_eq!(first.header("x-served-by"), Some("a"));
    let at_b = at_a.at(b.addr());
    let replay = at_b.send(vote_with_key(&id, &[1], &key("cross"))).await;
    assert_eq!(replay.header("x-served-by"), Some("b"));
    assert_eq!(
        replay.assert_json(201),
        first.assert_json(201),
        "A's response"
    );
    assert_eq!(replay.header(REPLAYED), Some("true"));
    assert_eq!(total_votes(&at_b, &id).await, 1, "counted once");

    let created = at_a
        .send(create_with_key(&draft(&["x", "y"]), &key("create")))
        .await;
    let replayed = at_b
        .send(create_with_key(&draft(&["x", "y"]), &key("create")))
        .await;
    assert_eq!(replayed.assert_json(201), created.assert_json(201));
    let mismatch = at_b
        .send(create_with_key(&draft(&["x", "z"]), &key("create")))
        .await;
    mismatch.assert_error(422, "idempotency_key_mismatch");
}

#[sqlx::test]
async fn a_503_is_not_kept_so_a_retry_after_the_outage_runs(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    use clap::Parser;
    use polling_testkit::TcpProxy;

    let upstream = format!("127.0.0.1:{}", connect.get_port()).parse().unwrap();
    let mut proxy = TcpProxy::start(upstream).await.unwrap();
    let url = common::database_url(&connect, proxy.addr().port());
    let config = polling_server::Config::try_parse_from([
        "polling-server",
        "--database-url",
        &url,
        // Long enough that a loaded machine connects in time before the
        // cut (CI once answered the poll's creation 503 at 500 ms).
        "--database-acquire-timeout",
        "2s",
        "--startup-timeout",
        "5s",
    ])
    .unwrap();
    // The polls behind a proxy the test cuts, the keys in memory: only the
    // request itself fails.
    let keys = std::sync::Arc::new(polling_core::memory::MemoryIdempotencyStore::new());
    let app = polling_server::Backends::connect(&config)
        .await
        .expect("backends connect")
        .into_builder()
        .idempotency_store(keys)
        .build();
    let server = TestServer::with_app(app).await;
    let client = server.client();
    let (poll, _) = create_poll(&client, draft(&["a", "b"])).await;
    let id = id_of(&poll);

    proxy.cut().await;
    client
        .send(vote_with_key(&id, &[0], &key("outage")))
        .await
        .assert_error(503, "unavailable");
    proxy.restore().await.unwrap();
    let mut answer = None;
    for _ in 0..50 {
        let response = client.send(vote_with_key(&id, &[0], &key("outage"))).await;
        if response.status.as_u16() == 201 {
            answer = Some(response);
            break;
        }
        response.assert_error(503, "unavailable");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer = answer.expect("the retry runs once PostgreSQL is back");
    assert_eq!(answer.header(REPLAYED), None, "the 503 was not replayed");
    let again = client.send(vote_with_key(&id, &[0], &key("outage"))).await;
    assert_eq!(again.header(REPLAYED), Some("true"), "the 201 is kept");
    assert_eq!(total_votes(&client, &id).await, 1);
}

/// The value of the `polling_idempotency_requests_total` sample for
/// `outcome` on the metrics page (0 when absent).
fn idempotency_count(page: &str, outcome: &str) -> f64 {
    let prefix = format!("polling_idempotency_requests_total{{outcome=\"{outcome}\"}} ");
    page.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map_or(0.0, |v| v.trim().parse().expect("a sample value"))
}

#[tokio::test]
async fn outcomes_are_counted_in_the_metrics() {
    let server = TestServer::start().await;
    let client = server.client();
    let before = String::from_utf8(client.get("/metrics").await.body.to_vec()).unwrap();
    let draft = draft(&["a", "b"]);
    client
        .send(create_with_key(&draft, &key("m")))
        .await
        .assert_json(201);
    client
        .send(create_with_key(&draft, &key("m")))
        .await
        .assert_json(201);
    client
        .send(create_with_key(&common::draft(&["a", "c"]), &key("m")))
        .await
        .assert_error(422, "idempotency_key_mismatch");
    let after = String::from_utf8(client.get("/metrics").await.body.to_vec()).unwrap();
    for outcome in ["fresh", "replayed", "mismatch"] {
        assert_eq!(
            idempotency_count(&after, outcome) - idempotency_count(&before, outcome),
            1.0,
            "{outcome} in {after}"
        );
    }
}

/// The value of the unlabelled sample `name` on the metrics page.
fn sample(page: &str, name: &str) -> Option<f64> {
    let prefix = format!("{name} ");
    page.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|v| v.trim().parse().expect("a sample value"))
}

/// Votes on random (valid, unknown) poll ids each leave a key holding a 404:
/// past `--idempotency-max-keys` the oldest go, the count stays at the cap,
/// and an evicted key runs its request again.
#[tokio::test]
async fn keys_in_memory_stay_at_the_cap_and_the_oldest_are_evicted() {
    use clap::Parser;
    let config =
        polling_server::Config::try_parse_from(["polling-server", "--idempotency-max-keys", "8"])
            .unwrap();
    assert_eq!(config.idempotency_max_keys, 8);
    let keys =
        polling_core::memory::MemoryIdempotencyStore::with_max_keys(config.idempotency_max_keys);
    let app = App::builder()
        .idempotency_store(std::sync::Arc::new(keys))
        .build();
    let server = TestServer::with_app(app).await;
    let client = server.client();
    let polls: Vec<String> = (0..20).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    for (i, poll) in polls.iter().enumerate() {
        client
            .send(vote_with_key(poll, &[0], &key(&format!("k{i}"))))
            .await
            .assert_error(404, "not_found");
    }
    let page = String::from_utf8(client.get("/metrics").await.body.to_vec()).unwrap();
    assert_eq!(
        sample(&page, "polling_idempotency_keys"),
        Some(8.0),
        "{page}"
    );
    let evicted = sample(&page, "polling_idempotency_evictions_total").expect("evictions");
    assert!(evicted >= 12.0, "{evicted} evictions of 20 keys into 8");
    assert!(page.contains("# HELP polling_idempotency_keys "), "{page}");

    let newest = client
        .send(vote_with_key(&polls[19], &[0], &key("k19")))
        .await;
    assert_eq!(newest.header(REPLAYED), Some("true"), "the newest is kept");
    let oldest = client
        .send(vote_with_key(&polls[0], &[0], &key("k0")))
        .await;
    oldest.assert_error(404, "not_found");
    assert_eq!(oldest.header(REPLAYED), None, "the oldest was evicted");
}

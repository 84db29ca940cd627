//! Two `polling-server` processes behind PgBouncer in transaction mode, as
//! `docs/pgbouncer.md` sets them up: queries through the pooler
//! (`DATABASE_URL`), the migrations and the `LISTEN` broadcaster over a
//! direct session (`DATABASE_SESSION_URL`), no statement timeout sent at
//! connection. Every acknowledged vote is stored once, retries included, and
//! both replicas' results and sockets converge to it. Without the session
//! URL and the timeout setting, a replica refuses to start and says why.

use std::collections::BTreeSet;

use crate::common::process::ServerProcess;
use crate::common::{
    create_poll, database_url, draft, id_of, next_message, Client, Request, Socket,
};
use futures_util::future::join_all;
use polling_testkit::PgBouncer;
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Voters, half on each replica; each retries its vote once.
const VOTERS: u64 = 200;

/// A replica's settings behind `bouncer`, with `connect`'s database direct
/// for its sessions.
fn env(bouncer: &PgBouncer, connect: &PgConnectOptions) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", bouncer.url()),
        (
            "DATABASE_SESSION_URL",
            database_url(connect, connect.get_port()),
        ),
        ("POLLING_DATABASE_STATEMENT_TIMEOUT", "0".to_owned()),
        ("POLLING_DATABASE_POOL_SIZE", "8".to_owned()),
        ("POLLING_STARTUP_TIMEOUT", "10s".to_owned()),
    ]
}

/// A vote for `choice` with an unguessable `key`, sent with no cookie.
fn keyed_vote(poll: &str, choice: u32, key: &str) -> Request {
    Request::post(format!("/api/polls/{poll}/votes"))
        .json(&json!({ "choices": [choice] }))
        .header("idempotency-key", key)
}

#[sqlx::test]
async fn replicas_behind_pgbouncer_store_each_acknowledged_vote_once_and_converge(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let bouncer = PgBouncer::start(&connect);
    let settings = env(&bouncer, &connect);
    // Started together: their migrations race, on the direct session.
    let (a, b) = tokio::join!(
        ServerProcess::start(&settings),
        ServerProcess::start(&settings)
    );
    let (poll, _) = create_poll(&Client::new(a.addr), draft(&["tea", "coffee"])).await;
    let id = id_of(&poll);
    let mut sockets = Vec::new();
    for replica in [&a, &b] {
        let url = format!("ws://{}/api/polls/{id}/live", replica.addr);
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        assert_eq!(next_message(&mut socket).await["type"], "snapshot");
        sockets.push(socket);
    }

    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (id, suffix) = (&id, &suffix);
    let votes = (0..VOTERS).map(|i| {
        let (first, retry) = if i % 2 == 0 {
            (a.addr, b.addr)
        } else {
            (b.addr, a.addr)
        };
        let key = format!("voter-{i}-{suffix}");
        let choice = u32::from(i % 3 == 0);
        async move {
            // The retry stands for a client whose answer (and cookie) was
            // lost, sent to the other replica as a balancer may.
            let answer = Client::new(first).send(keyed_vote(id, choice, &key)).await;
            let again = Client::new(retry).send(keyed_vote(id, choice, &key)).await;
            let receipt = answer.assert_json(201);
            assert_eq!(
                again.assert_json(201),
                receipt,
                "the retry replays the answer"
            );
            assert_eq!(again.header("idempotent-replayed"), Some("true"));
            (
                choice,
                receipt["receipt"]["version"].as_u64().expect("a version"),
            )
        }
    });
    let acknowledged = join_all(votes).await;
    let versions: BTreeSet<u64> = acknowledged.iter().map(|&(_, v)| v).collect();
    assert_eq!(
        versions,
        (1..=VOTERS).collect(),
        "each vote acknowledged once"
    );
    let coffee = acknowledged
        .iter()
        .filter(|&&(choice, _)| choice == 1)
        .count() as u64;

    let direct = options.connect_with(connect.clone()).await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM ballots")
        .fetch_one(&direct)
        .await
        .unwrap();
    assert_eq!(stored, VOTERS as i64, "stored once each");
    for replica in [&a, &b] {
        let results = Client::new(replica.addr)
            .get(&format!("/api/polls/{id}/results"))
            .await
            .assert_json(200);
        assert_eq!(results["total"], VOTERS, "{results}");
        assert_eq!(results["version"], VOTERS, "{results}");
        assert_eq!(results["counts"][1]["votes"], coffee, "{results}");
        let ready = Client::new(replica.addr)
            .get("/readyz")
            .await
            .assert_json(200);
        assert_eq!(ready["checks"]["broadcaster"], "ok", "{ready}");
    }
    for socket in &mut sockets {
        assert_eq!(last_version(socket, VOTERS).await, VOTERS);
    }
    // The listening connections are direct sessions, not PgBouncer's.
    let listeners: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'polling-listener'",
    )
    .fetch_one(&direct)
    .await
    .unwrap();
    assert_eq!(listeners, 2, "one LISTEN session per replica");
    // The timeout PgBouncer sets is seen, so no warning of its absence.
    for replica in [&a, &b] {
        let log = replica.log();
        assert!(
            log.contains("statement timeout set by the database or its pooler"),
            "{log}"
        );
        assert!(!log.contains("have no statement_timeout"), "{log}");
    }
    direct.close().await;
    assert!(!bouncer.log().contains("ERROR"), "{}", bouncer.log());
}

/// The newest version `socket` receives until it reaches `last`; fails if
/// nothing arrives for 5 s before.
async fn last_version(socket: &mut Socket, last: u64) -> u64 {
    loop {
        let message: Value = next_message(socket).await;
        let version = message["results"]["version"]
            .as_u64()
            .unwrap_or_else(|| panic!("a results message: {message}"));
        if version >= last {
            return version;
        }
    }
}

/// What a replica with `DATABASE_URL` through `bouncer` and `env` writes to
/// its standard error when it refuses to start (it must not start).
fn refusal_behind(bouncer: &PgBouncer, env: &[(&str, &str)]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_polling-server"))
        .env_clear()
        .env("POLLING_LISTEN", "127.0.0.1:0")
        .env("DATABASE_URL", bouncer.url())
        .env("POLLING_STARTUP_TIMEOUT", "5s")
        .envs(env.iter().copied())
        .output()
        .expect("run polling-server");
    assert!(!output.status.success(), "the replica refuses to start");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A replica pointed at PgBouncer as at PostgreSQL sends the statement
/// timeout at connection, which PgBouncer refuses: it exits naming the
/// settings to change, rather than retrying until its start-up timeout
/// with a bare "unsupported startup parameter".
#[sqlx::test]
async fn a_replica_sending_the_statement_timeout_to_pgbouncer_exits_saying_what_to_set(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let stderr = refusal_behind(&PgBouncer::start(&connect), &[]);
    assert!(stderr.contains("--database-url (DATABASE_URL)"), "{stderr}");
    assert!(stderr.contains("--database-statement-timeout"), "{stderr}");
    assert!(stderr.contains("--database-session-url"), "{stderr}");
}

/// A replica told to send no statement timeout, on connections that have
/// none either (no PgBouncer setting one here), warns at start-up.
#[sqlx::test]
async fn a_replica_with_no_statement_timeout_anywhere_warns_at_start(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let replica = ServerProcess::start(&[
        ("DATABASE_URL", database_url(&connect, connect.get_port())),
        ("POLLING_DATABASE_STATEMENT_TIMEOUT", "0".to_owned()),
    ])
    .await;
    Client::new(replica.addr)
        .get("/readyz")
        .await
        .assert_json(200);
    let log = replica.log();
    assert!(log.contains("have no statement_timeout"), "{log}");
}

/// A replica behind PgBouncer without `DATABASE_SESSION_URL` would listen
/// through it and hear nothing: it checks its own NOTIFY at start-up and
/// exits naming the setting.
#[sqlx::test]
async fn a_replica_listening_through_pgbouncer_exits_naming_the_session_url(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let stderr = refusal_behind(
        &PgBouncer::start(&connect),
        &[("POLLING_DATABASE_STATEMENT_TIMEOUT", "0")],
    );
    assert!(stderr.contains("--broadcaster postgres"), "{stderr}");
    assert!(stderr.contains("--database-session-url"), "{stderr}");
}

//! The binary on its durable default, SQLite: polls and votes survive a
//! restart, on a file given with `--database-url` and on the default file
//! of the working directory; `memory` keeps nothing.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::common::process::ServerProcess;
use crate::common::{create_poll, draft, id_of, results_of, votes_of, Client};

/// Stops `server` with SIGTERM, as an operator would, and waits for it.
async fn stop(mut server: ServerProcess) {
    server.terminate();
    let status = server
        .exited_within(Duration::from_secs(15))
        .await
        .expect("the server stops within its grace period");
    assert!(status.success(), "{status:?}");
}

/// A poll with a vote on `server`: the poll's id, the voter and the vote's
/// receipt.
async fn poll_with_a_vote(server: &ServerProcess) -> (String, Client, serde_json::Value) {
    let owner = Client::new(server.addr);
    let (poll, _token) = create_poll(&owner, draft(&["Tea", "Coffee", "Water"])).await;
    let id = id_of(&poll);
    let voter = Client::new(server.addr);
    let vote = voter.vote(&id, &[1]).await.assert_json(201);
    (id, voter, vote)
}

/// Asserts that `server` still has poll `id` with the one vote of `voter`,
/// who gets the original `receipt` when voting the same again.
async fn assert_kept(server: &ServerProcess, id: &str, voter: &Client, vote: &serde_json::Value) {
    let client = Client::new(server.addr);
    let poll = client
        .get(&format!("/api/polls/{id}"))
        .await
        .assert_json(200);
    assert_eq!(poll["question"], json!("Tabs or spaces?"));
    let results = results_of(&client, id).await;
    assert_eq!(votes_of(&results), [0, 1, 0], "{results}");
    assert_eq!(results["version"], 1);
    let again = voter.at(server.addr).vote(id, &[1]).await.assert_json(200);
    assert_eq!(again["receipt"], vote["receipt"], "one ballot per voter");
    let listed = client.get("/api/polls").await.assert_json(200);
    assert!(
        listed["polls"]
            .as_array()
            .is_some_and(|polls| polls.iter().any(|p| p["id"] == json!(id))),
        "{listed}"
    );
}

#[tokio::test]
async fn polls_and_votes_on_a_sqlite_file_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("polls.db");
    let env = [("DATABASE_URL", format!("sqlite://{}", file.display()))];

    let server = ServerProcess::start_in(dir.path(), &env).await;
    let (id, voter, vote) = poll_with_a_vote(&server).await;
    stop(server).await;
    assert!(file.is_file(), "the polls are in {}", file.display());

    let server = ServerProcess::start_in(dir.path(), &env).await;
    assert_kept(&server, &id, &voter, &vote).await;
}

#[tokio::test]
async fn without_a_database_url_the_polls_are_kept_in_polling_db_of_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_in(dir.path(), &[]).await;
    let (id, voter, vote) = poll_with_a_vote(&server).await;
    stop(server).await;
    assert!(
        dir.path().join("polling.db").is_file(),
        "the default file: {:?}",
        files(dir.path())
    );

    let server = ServerProcess::start_in(dir.path(), &[]).await;
    assert_kept(&server, &id, &voter, &vote).await;
}

#[tokio::test]
async fn memory_keeps_nothing_across_a_restart_and_writes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("DATABASE_URL", "memory".to_owned())];
    let server = ServerProcess::start_in(dir.path(), &env).await;
    let (id, _voter, _vote) = poll_with_a_vote(&server).await;
    stop(server).await;

    let server = ServerProcess::start_in(dir.path(), &env).await;
    Client::new(server.addr)
        .get(&format!("/api/polls/{id}"))
        .await
        .assert_error(404, "not_found");
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
}

#[test]
fn an_unknown_database_scheme_fails_start_up_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_polling-server"))
        .env_clear()
        .env("POLLING_LISTEN", "127.0.0.1:0")
        .env("DATABASE_URL", "mysql://root:hunter2@db/polls")
        .current_dir(dir.path())
        .output()
        .expect("run polling-server");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--database-url (DATABASE_URL)"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
}

/// The names of the files in `dir`.
fn files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

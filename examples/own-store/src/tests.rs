//! The store conformance suite on the journal, then what only a journal
//! does: reopening, and the damage a crash can leave.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use polling_core::testing::{ballot, sample_poll};
use polling_core::{PollStore, VoterId};
use tempfile::TempDir;
use warp::http::StatusCode;

use crate::journal::JournalPollStore;

/// A store on a fresh journal in a directory of its own, which is removed
/// at once: the store keeps its open file, which the system frees when the
/// store closes it, so a test leaves nothing behind.
async fn fresh() -> JournalPollStore {
    let dir = TempDir::new().unwrap();
    JournalPollStore::open(dir.path().join("polls.journal"))
        .await
        .unwrap()
}

polling_core::store_conformance_tests!(
    #[tokio::test(flavor = "multi_thread")] => fresh().await
);

/// A journal path in a directory the test keeps.
fn journal_in(dir: &TempDir) -> PathBuf {
    dir.path().join("polls.journal")
}

fn append(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(bytes).unwrap();
}

#[tokio::test]
async fn a_reopened_journal_has_every_change_made_before() {
    let dir = TempDir::new().unwrap();
    let (kept, gone) = (sample_poll(3, false, None), sample_poll(2, false, None));
    let voters: Vec<VoterId> = (0..3).map(|_| VoterId::generate()).collect();
    let before = {
        let store = JournalPollStore::open(journal_in(&dir)).await.unwrap();
        store.create(&kept).await.unwrap();
        store.create(&gone).await.unwrap();
        for (voter, choice) in voters.iter().zip([0, 2, 2]) {
            store.cast(&ballot(&kept, voter, &[choice])).await.unwrap();
        }
        store.close(kept.id, polling_core::now()).await.unwrap();
        store.delete(gone.id).await.unwrap();
        store.results(kept.id).await.unwrap()
    };

    let store = JournalPollStore::open(journal_in(&dir)).await.unwrap();
    assert_eq!(store.results(kept.id).await.unwrap(), before);
    assert_eq!(before.total, 3);
    assert!(store.get(kept.id).await.unwrap().closed_at.is_some());
    assert!(
        store.get(gone.id).await.is_err(),
        "the deleted poll stays deleted"
    );
    let receipt = store.ballot(kept.id, &voters[1]).await.unwrap().unwrap();
    assert_eq!(receipt.version, 2);
    // The first voter's ballot again is a replay, from the replayed receipts.
    let again = store.cast(&ballot(&kept, &voters[0], &[0])).await.unwrap();
    assert!(again.is_replay());
    assert_eq!(store.ballots(kept.id).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_line_cut_short_by_a_crash_is_dropped_and_writing_goes_on() {
    let dir = TempDir::new().unwrap();
    let poll = sample_poll(2, false, None);
    {
        let store = JournalPollStore::open(journal_in(&dir)).await.unwrap();
        store.create(&poll).await.unwrap();
        store
            .cast(&ballot(&poll, &VoterId::generate(), &[1]))
            .await
            .unwrap();
    }
    append(&journal_in(&dir), br#"{"op":"cast","voter":"#);

    {
        let store = JournalPollStore::open(journal_in(&dir)).await.unwrap();
        assert_eq!(store.results(poll.id).await.unwrap().total, 1);
        store
            .cast(&ballot(&poll, &VoterId::generate(), &[0]))
            .await
            .unwrap();
    }
    // The new entry started on a line of its own: the journal reads whole.
    let store = JournalPollStore::open(journal_in(&dir)).await.unwrap();
    let results = store.results(poll.id).await.unwrap();
    assert_eq!((results.total, results.version), (2, 2));
}

#[tokio::test]
async fn a_damaged_line_is_refused_not_skipped() {
    let dir = TempDir::new().unwrap();
    {
        let store = JournalPollStore::open(journal_in(&dir)).await.unwrap();
        store.create(&sample_poll(2, false, None)).await.unwrap();
    }
    append(&journal_in(&dir), b"not an entry\n");
    let error = JournalPollStore::open(journal_in(&dir)).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidData);
    assert!(error.to_string().contains("line 2"), "{error}");
}

#[tokio::test]
async fn the_server_records_its_votes_in_the_journal() {
    let dir = TempDir::new().unwrap();
    let routes = polling_server::routes(crate::app(
        JournalPollStore::open(journal_in(&dir)).await.unwrap(),
    ));
    let created = warp::test::request()
        .method("POST")
        .path("/api/polls")
        .header("content-type", "application/json")
        .body(r#"{"question": "Tea or coffee?", "options": ["Tea", "Coffee"]}"#)
        .reply(&routes)
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let poll: serde_json::Value = serde_json::from_slice(created.body()).unwrap();
    let id = poll["id"].as_str().unwrap();
    let voted = warp::test::request()
        .method("POST")
        .path(&format!("/api/polls/{id}/votes"))
        .header("content-type", "application/json")
        .body(r#"{"choices": [1]}"#)
        .reply(&routes)
        .await;
    assert_eq!(voted.status(), StatusCode::CREATED);
    drop(routes);

    // Another process opening the journal sees the vote.
    let store = JournalPollStore::open(journal_in(&dir)).await.unwrap();
    let results = store.results(id.parse().unwrap()).await.unwrap();
    assert_eq!(results.total, 1);
    assert_eq!(results.counts[1].votes, 1);
}

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

/// An invite-only secret poll: its code's voter id, as the journal could
/// name it (the invite), and its keyed hash (the participation).
fn secret_invite_poll() -> (polling_core::Poll, Vec<polling_core::Invite>) {
    let mut poll = sample_poll(3, false, None);
    let token = polling_core::ManageToken::generate();
    poll.manage_token_hash = token.hash();
    poll.eligibility = polling_core::Eligibility::Invite;
    poll.secret = true;
    let invites = (0..3)
        .map(|_| polling_core::Invite::issue(&token, poll.id, polling_core::now()).0)
        .collect();
    (poll, invites)
}

#[tokio::test]
async fn a_reopened_journal_keeps_invites_revocations_and_secret_participations() {
    let dir = TempDir::new().unwrap();
    let (poll, invites) = secret_invite_poll();
    let before = {
        let store = JournalPollStore::open(journal_in(&dir)).await.unwrap();
        store.create(&poll).await.unwrap();
        store.add_invites(poll.id, &invites).await.unwrap();
        store
            .cast(&ballot(&poll, &invites[0].voter, &[2]))
            .await
            .unwrap();
        let at = polling_core::now();
        store
            .revoke_invite(poll.id, &invites[1].voter, at)
            .await
            .unwrap();
        (
            store.invites(poll.id).await.unwrap(),
            store.results(poll.id).await.unwrap(),
        )
    };
    assert!(before.0[0].used && before.0[1].revoked_at.is_some());

    let store = JournalPollStore::open(journal_in(&dir)).await.unwrap();
    assert_eq!(store.invites(poll.id).await.unwrap(), before.0);
    assert_eq!(store.results(poll.id).await.unwrap(), before.1);
    assert!(store.has_voted(poll.id, &invites[0].voter).await.unwrap());
    assert_eq!(
        store.ballot(poll.id, &invites[0].voter).await.unwrap(),
        None
    );
    let again = store.cast(&ballot(&poll, &invites[0].voter, &[2])).await;
    assert_eq!(again.unwrap_err().code(), "already_voted");
    let revoked = store.cast(&ballot(&poll, &invites[1].voter, &[0])).await;
    assert_eq!(revoked.unwrap_err().code(), "invite_invalid");
    store
        .cast(&ballot(&poll, &invites[2].voter, &[0]))
        .await
        .unwrap();
    assert_eq!(store.results(poll.id).await.unwrap().total, 2);
}

#[tokio::test]
async fn no_journal_line_holds_a_secret_voter_with_marks() {
    let dir = TempDir::new().unwrap();
    let (poll, invites) = secret_invite_poll();
    let store = JournalPollStore::open(journal_in(&dir)).await.unwrap();
    store.create(&poll).await.unwrap();
    store.add_invites(poll.id, &invites).await.unwrap();
    for (invite, choice) in invites.iter().zip([0, 1, 2]) {
        store
            .cast(&ballot(&poll, &invite.voter, &[choice]))
            .await
            .unwrap();
    }
    let text = std::fs::read_to_string(journal_in(&dir)).unwrap();
    let mut participations = 0;
    for invite in &invites {
        let hash = polling_core::domain::VoterHash::of(poll.id, &invite.voter).to_hex();
        for line in text.lines() {
            let names = line.contains(invite.voter.as_str()) || line.contains(&hash);
            assert!(!(names && line.contains("marks")), "{line}");
            participations += usize::from(line.contains(&hash));
        }
    }
    assert_eq!(participations, 3, "one participation line per code");
    assert_eq!(text.matches("\"op\":\"secret_ballot\"").count(), 3);
}

#[tokio::test]
async fn a_participation_whose_ballot_line_was_lost_is_dropped() {
    let dir = TempDir::new().unwrap();
    let mut poll = sample_poll(2, false, None);
    poll.secret = true;
    let voter = VoterId::generate();
    {
        let store = JournalPollStore::open(journal_in(&dir)).await.unwrap();
        store.create(&poll).await.unwrap();
        store.cast(&ballot(&poll, &voter, &[1])).await.unwrap();
    }
    // A crash after the participation line, before its ballot line.
    let text = std::fs::read_to_string(journal_in(&dir)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    let other = VoterId::generate();
    let lost = lines[1].replace(
        &polling_core::domain::VoterHash::of(poll.id, &voter).to_hex(),
        &polling_core::domain::VoterHash::of(poll.id, &other).to_hex(),
    );
    append(&journal_in(&dir), format!("{lost}\n").as_bytes());

    {
        let store = JournalPollStore::open(journal_in(&dir)).await.unwrap();
        assert!(!store.has_voted(poll.id, &other).await.unwrap());
        assert!(store
            .cast(&ballot(&poll, &other, &[0]))
            .await
            .unwrap()
            .is_new());
    }
    let store = JournalPollStore::open(journal_in(&dir)).await.unwrap();
    let results = store.results(poll.id).await.unwrap();
    assert_eq!((results.total, results.version), (2, 2));
    assert!(store.has_voted(poll.id, &other).await.unwrap());
}

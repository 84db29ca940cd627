//! An export's stream reads one snapshot and never holds up the votes.

use std::time::Duration;

use futures_util::TryStreamExt;
use polling_core::testing::{ballot, sample_poll};
use polling_core::{PollStore, VoterId};
use polling_store_sqlite::SqlitePollStore;

use crate::common::TempDatabase;

#[tokio::test(flavor = "multi_thread")]
async fn an_open_stream_blocks_no_vote_and_gives_the_ballots_as_of_its_start() {
    let database = TempDatabase::new();
    let store = SqlitePollStore::new(database.pool().await);
    let poll = sample_poll(2, false, None);
    store.create(&poll).await.unwrap();
    // More than the stream reads ahead, so its reader is still in the rows.
    let before = 600;
    for i in 0..before {
        store
            .cast(&ballot(&poll, &VoterId::generate(), &[i % 2]))
            .await
            .unwrap();
    }
    let stream = store.ballot_stream(poll.id).await.unwrap();

    for _ in 0..5 {
        tokio::time::timeout(
            Duration::from_secs(5),
            store.cast(&ballot(&poll, &VoterId::generate(), &[0])),
        )
        .await
        .expect("a vote while a stream is open does not wait for it")
        .unwrap();
    }
    let streamed: Vec<_> = stream.try_collect().await.unwrap();
    assert_eq!(streamed.len(), before as usize, "the snapshot of its start");
    assert_eq!(
        store.ballots(poll.id).await.unwrap().len(),
        before as usize + 5
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_stream_gives_its_connection_back() {
    let database = TempDatabase::new();
    let config = polling_store_sqlite::SqliteConfig {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(2),
        ..database.config()
    };
    let store = SqlitePollStore::new(crate::common::migrated(&config).await);
    let poll = sample_poll(2, false, None);
    store.create(&poll).await.unwrap();
    for _ in 0..400 {
        store
            .cast(&ballot(&poll, &VoterId::generate(), &[1]))
            .await
            .unwrap();
    }
    // More streams than connections, each dropped after it started.
    for _ in 0..5 {
        let stream = store.ballot_stream(poll.id).await.unwrap();
        drop(stream);
    }
    let all = store.ballots(poll.id).await.unwrap();
    assert_eq!(all.len(), 400);
}

//! Helpers shared by polling-core's integration tests.

use polling_core::memory::MemoryStore;
use polling_core::testing::sample_poll;
use polling_core::{Poll, PollStore};

/// A memory store holding one open three-option single-choice poll.
pub(crate) async fn store_with_poll() -> (MemoryStore, Poll) {
    let store = MemoryStore::new();
    let poll = sample_poll(3, false, None);
    store.create(&poll).await.unwrap();
    (store, poll)
}

//! An application's own [`PollStore`](polling_core::PollStore): polls and
//! ballots in an append-only journal file (`journal.rs`), one JSON line per
//! change (`entry.rs`), replayed into memory on start (`state.rs`), served
//! by `polling-server` like any built-in store.
//!
//! ```text
//! cargo run -p example-own-store -- polls.journal
//! ```
//!
//! Stop it, start it again: the polls and votes are still there. Its test
//! is the store conformance suite of `polling_core::testing`, the same one
//! the SQLite and PostgreSQL stores pass (`tests.rs`):
//!
//! ```text
//! cargo nextest run -p example-own-store
//! ```

mod entry;
mod hex;
mod journal;
mod state;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;

use polling_core::memory::{LocalBroadcaster, MemoryCache};
use polling_server::{App, AppBuilder};
use tokio::net::TcpListener;

use crate::journal::JournalPollStore;

/// The journal used when no path is given.
const DEFAULT_JOURNAL: &str = "polls.journal";

/// Where the server listens unless `EXAMPLE_ADDR` says otherwise.
const DEFAULT_ADDR: &str = "127.0.0.1:3000";

/// The server's app over `store`: the in-process cache and broadcaster
/// beside it, every setting at its default.
fn app(store: JournalPollStore) -> App {
    AppBuilder::new(
        Arc::new(store),
        Arc::new(MemoryCache::new()),
        Arc::new(LocalBroadcaster::new()),
    )
    .build()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_JOURNAL.to_owned());
    let store = JournalPollStore::open(&path).await?;
    let addr: SocketAddr = std::env::var("EXAMPLE_ADDR")
        .unwrap_or_else(|_| DEFAULT_ADDR.to_owned())
        .parse()?;
    let listener = TcpListener::bind(addr).await?;
    println!(
        "serving the polls of {path} on http://{}/api/polls",
        listener.local_addr()?
    );
    polling_server::run(listener, app(store), async {
        tokio::signal::ctrl_c().await.ok();
    })
    .await;
    Ok(())
}

//! A custom [`tower::Layer`] on the vote path: after each accepted vote it
//! POSTs a webhook signed with HMAC-SHA256, retrying failures with
//! exponential backoff, without ever delaying or failing the vote.
//!
//! ```text
//! cargo run -p example-signed-webhook
//! ```
//!
//! The demo starts a receiving end on a free local port (as the
//! application getting the webhooks would run it), stacks the layer with
//! `polling-core`'s cache and broadcast layers over a memory store, casts a
//! few votes and prints what the receiver verified. On the reference
//! server, the same layer goes on with
//! `polling_server::App::builder().vote_layer(layer)` (a test does so).
//!
//! | file | what |
//! |---|---|
//! | `layer.rs` | `WebhookLayer`, its `Webhook` service and `ResponseFuture`: queue the event, never wait |
//! | `delivery.rs` | the bounded queue (full: the event is dropped and counted), the background task, retries with exponential backoff, counts |
//! | `event.rs` | the JSON body: poll, version, results; no voter |
//! | `signature.rs` | `X-Polling-Signature: sha256=<hex>`, made and checked |
//! | `post.rs` | one plain-HTTP `POST` with hyper |
//! | `receiver.rs` | the receiving end: verify the raw body, then parse it |

mod delivery;
mod event;
mod layer;
mod post;
mod receiver;
mod signature;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use polling_core::layer::{BroadcastLayer, CacheLayer};
use polling_core::memory::{LocalBroadcaster, MemoryCache, MemoryStore};
use polling_core::service::PollService;
use polling_core::{
    Ballot, BoxError, ManageToken, NewPoll, OptionId, Poll, PollDraft, PollError, PollStore,
    VoterId,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tower::{ServiceBuilder, ServiceExt};
use warp::http::StatusCode;
use warp::Filter;

use crate::delivery::WebhookConfig;
use crate::receiver::{incoming, Incoming};

/// The secret the sender and the receiver share. A real one comes from the
/// application's secret store, never from the source.
const SECRET: &[u8] = b"demo secret: change me";

/// A new, open poll with three options, stored in `store`; its voters may
/// change their ballot if `allow_vote_change`.
async fn open_poll(store: &impl PollStore, allow_vote_change: bool) -> Result<Poll, PollError> {
    let draft = PollDraft {
        question: "Which editor?".into(),
        options: vec!["Vim".into(), "Emacs".into(), "Helix".into()],
        allow_vote_change,
        ..PollDraft::default()
    };
    let now = polling_core::now();
    let poll = Poll::open(
        NewPoll::new(draft, now)?,
        ManageToken::generate().hash(),
        now,
    );
    store.create(&poll).await?;
    Ok(poll)
}

/// `mutex`, locked; a panic while it was held left nothing half-done.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // 1. The receiving end, on a free port: verify, then trust.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hooks/votes", listener.local_addr()?);
    let (seen, mut verified) = mpsc::unbounded_channel();
    let handled = Arc::new(Mutex::new(HashSet::new()));
    let hook = incoming().map(move |delivery: Incoming| match delivery.verify(SECRET) {
        Ok(event) => {
            // At least once: a delivery seen before is acknowledged again,
            // and not handled twice.
            if lock(&handled).insert(event.delivery) {
                let _ = seen.send(event);
            }
            StatusCode::NO_CONTENT
        }
        Err(refusal) => refusal,
    });
    tokio::spawn(warp::serve(hook).incoming(listener).run());

    // 2. Delivery, and the layer on the vote path, inside cache and broadcast.
    let (webhook, deliveries) = delivery::spawn(WebhookConfig::new(&url, SECRET)?);
    let store = Arc::new(MemoryStore::new());
    let service = ServiceBuilder::new()
        .layer(CacheLayer::new(MemoryCache::new()))
        .layer(BroadcastLayer::new(LocalBroadcaster::new()))
        .layer(webhook)
        .service(PollService::from_arc(Arc::clone(&store)));

    // 3. Votes: each answers at once, whatever the receiver does.
    let poll = open_poll(&*store, false).await?;
    for choice in [0, 2, 2, 1, 2] {
        let ballot = Ballot::new(poll.id, VoterId::generate(), vec![OptionId::new(choice)])?;
        let outcome = service.clone().oneshot(ballot).await?;
        println!(
            "vote for option {choice} accepted: version {}",
            outcome.receipt.version
        );
    }
    println!("so far: {:?}", deliveries.counts());

    // 4. No more votes: let delivery finish, then see what arrived.
    drop(service);
    let counts = deliveries.finish().await;
    while let Ok(event) = verified.try_recv() {
        println!(
            "receiver verified delivery {}: version {}, {} ballots",
            event.delivery, event.version, event.results.total
        );
    }
    println!("{counts:?}");
    Ok(())
}

//! Compose a poll store with the cache and broadcast layers, then vote
//! in-process: no HTTP, no database, no Redis.
//!
//! ```text
//! cargo run -p example-in-process
//! ```
//!
//! The same composition works with any `PollStore`, `ResultsCache` and
//! `Broadcaster`: swap `MemoryStore` for `PgPollStore`, say, and nothing
//! else changes.

use std::sync::Arc;

use futures_util::StreamExt;
use polling_core::layer::{BroadcastLayer, CacheLayer};
use polling_core::memory::{LocalBroadcaster, MemoryCache, MemoryStore};
use polling_core::service::{PollService, ResultsRequest};
use polling_core::{
    Ballot, Broadcaster, ManageToken, NewPoll, OptionId, Poll, PollDraft, PollError, PollStore,
    Results, ResultsEvent, VoterId,
};
use tower::{ServiceBuilder, ServiceExt};

/// What one run of the example saw.
#[derive(Debug)]
struct Summary {
    /// The results read back through the cached results path.
    results: Results,
    /// The highest version a live subscriber saw.
    live_version: u64,
    /// Whether a second ballot from one voter was refused.
    second_ballot_refused: bool,
}

/// Creates a poll, casts `voters` ballots concurrently through the layered
/// stack while a subscriber listens, and reads the results back.
async fn run(voters: u32) -> Result<Summary, PollError> {
    // 1. The backends: in-process here.
    let store = Arc::new(MemoryStore::new());
    let broadcaster = Arc::new(LocalBroadcaster::new());

    // 2. A poll. Validation happens here: a bad draft is an `invalid_poll` error.
    let draft = PollDraft {
        question: "Which editor?".into(),
        options: vec!["Vim".into(), "Emacs".into(), "Helix".into()],
        ..PollDraft::default()
    };
    let now = polling_core::now();
    let token = ManageToken::generate(); // hand this to the creator; keep only its hash
    let poll = Poll::open(NewPoll::new(draft, now)?, token.hash(), now);
    store.create(&poll).await?;

    // 3. The stack: cache outermost, then broadcast, then the store.
    let service = ServiceBuilder::new()
        .layer(CacheLayer::new(MemoryCache::new()))
        .layer(BroadcastLayer::from_arc(Arc::clone(&broadcaster)))
        .service(PollService::from_arc(Arc::clone(&store)));

    // 4. A live subscriber, as a dashboard would have.
    let mut events = broadcaster.subscribe(poll.id).await?;

    // 5. Voters, concurrently. Voter i picks option i % 3.
    let ballots = (0..voters).map(|i| {
        let ballot = Ballot::new(poll.id, VoterId::generate(), vec![OptionId::new(i % 3)]);
        let service = service.clone();
        async move { service.oneshot(ballot?).await }
    });
    for outcome in futures_util::future::join_all(ballots).await {
        outcome?;
    }

    // One ballot per voter: a second, different ballot is refused.
    let voter = VoterId::generate();
    let first = Ballot::new(poll.id, voter.clone(), vec![OptionId::new(0)])?;
    let second = Ballot::new(poll.id, voter, vec![OptionId::new(1)])?;
    service.clone().oneshot(first).await?;
    let second_ballot_refused = matches!(
        service.clone().oneshot(second).await,
        Err(PollError::AlreadyVoted)
    );

    // 6. Read through the cache, and drain what the subscriber saw.
    let results = service.oneshot(ResultsRequest::new(poll.id)).await?;
    let mut live_version = 0;
    while let Ok(Some(event)) =
        tokio::time::timeout(std::time::Duration::from_millis(50), events.next()).await
    {
        if let ResultsEvent::Updated { results } = event {
            live_version = live_version.max(results.version);
        }
    }
    Ok(Summary {
        results,
        live_version,
        second_ballot_refused,
    })
}

#[tokio::main]
async fn main() -> Result<(), PollError> {
    let summary = run(300).await?;
    println!(
        "{} ballots, version {}",
        summary.results.total, summary.results.version
    );
    for count in &summary.results.counts {
        println!("  option {}: {} votes", count.option_id, count.votes);
    }
    println!("live subscriber saw up to version {}", summary.live_version);
    println!(
        "a second ballot from one voter was {}",
        if summary.second_ballot_refused {
            "refused"
        } else {
            "accepted (bug!)"
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn every_ballot_is_counted_and_seen_live() {
        let summary = run(90).await.unwrap();
        // 90 voters plus the one who tried twice.
        assert_eq!(summary.results.total, 91);
        assert_eq!(summary.results.version, 91);
        let votes: Vec<u64> = summary.results.counts.iter().map(|c| c.votes).collect();
        assert_eq!(votes, [31, 30, 30]);
        assert_eq!(summary.live_version, 91);
        assert!(summary.second_ballot_refused);
    }
}

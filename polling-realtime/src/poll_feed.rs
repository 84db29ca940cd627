//! [`PollFeed`]: one poll's upstream subscription, shared by its sockets.
//!
//! The feed's task reads the broadcaster's events of the poll and keeps the
//! newest results in a `watch` channel ([`Latest`]). A watch channel holds
//! one value: every socket reads the newest one when it is ready for it, so a
//! slow socket skips versions, never slows the task or the other sockets,
//! and never holds more than one pending results. The task ends when the
//! last socket drops its [`PollFeed`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use polling_core::relay::Backoff;
use polling_core::{Broadcaster, PollError, PollId, Results, ResultsEvent, VoterTag};
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::snapshot::SnapshotSource;
use crate::voters::{VoterWatch, Voters};

/// The feed of each poll that has sockets; weak, so that a feed goes when its
/// last socket does.
pub(crate) type Feeds = Mutex<HashMap<PollId, Weak<PollFeed>>>;

pub(crate) fn lock(feeds: &Feeds) -> MutexGuard<'_, HashMap<PollId, Weak<PollFeed>>> {
    // Entries are inserted and removed whole, so a poisoned map is consistent.
    feeds.lock().unwrap_or_else(|e| e.into_inner())
}

/// Results together with their JSON text, serialized once for all sockets.
#[derive(Debug)]
pub(crate) struct Published {
    /// The results.
    pub(crate) results: Results,
    /// `results` as JSON.
    pub(crate) json: String,
}

impl Published {
    fn new(results: Results) -> Arc<Self> {
        let json = serde_json::to_string(&results).expect("results serialize to JSON");
        Arc::new(Self { results, json })
    }

    pub(crate) fn version(&self) -> u64 {
        self.results.version
    }
}

/// The state of a poll as its sockets see it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Latest {
    /// The newest results known, if any yet.
    pub(crate) current: Option<Arc<Published>>,
    /// Grows by one with every change of `current` or `generation`: a socket
    /// that sees it grow by more than one skipped changes.
    pub(crate) seq: u64,
    /// Grows by one with every resync: a socket seeing it change sends a
    /// `snapshot` instead of `results`.
    pub(crate) generation: u64,
    /// The poll is gone (found deleted on a resync): sockets close.
    pub(crate) gone: bool,
}

impl Latest {
    /// Makes `results` current if newer than the current ones (the version
    /// rule); says whether it did.
    fn keep_if_newer(&mut self, results: Results) -> bool {
        let newer = self
            .current
            .as_ref()
            .is_none_or(|current| results.is_newer_than(&current.results));
        if newer {
            self.current = Some(Published::new(results));
        }
        newer
    }
}

/// What a feed shares with its task.
#[derive(Debug)]
struct Shared {
    /// The newest state, for the sockets.
    latest: watch::Sender<Latest>,
    /// Whether the first upstream subscription attempt is over, so that a
    /// joining socket reads its snapshot only once events are flowing.
    ready: watch::Sender<bool>,
    /// The voters whose vote ([`ResultsEvent::Voted`]) hidden sockets wait
    /// on.
    voters: Arc<Voters>,
}

impl Shared {
    /// Keeps `results` if newer than the current ones (the version rule).
    fn offer(&self, results: Results) {
        self.latest.send_if_modified(|latest| {
            let newer = latest.keep_if_newer(results);
            if newer {
                latest.seq += 1;
            }
            newer
        });
    }

    /// Starts a new generation with `results` (or the current results, if
    /// newer): every socket sends a fresh snapshot.
    fn resync(&self, results: Results) {
        self.latest.send_modify(|latest| {
            latest.keep_if_newer(results);
            latest.seq += 1;
            latest.generation += 1;
        });
    }
}

/// One poll's upstream subscription; sockets hold it in an `Arc`, the hub a
/// `Weak`. Dropping the last `Arc` ends the task and so the subscription.
#[derive(Debug)]
pub(crate) struct PollFeed {
    /// The poll.
    poll: PollId,
    /// The state shared with the task.
    shared: Arc<Shared>,
    /// The task reading the upstream events.
    task: AbortHandle,
    /// The hub's feeds, to forget this one when it goes.
    feeds: Arc<Feeds>,
}

impl PollFeed {
    /// The feed of `poll`, joining the existing one or starting one.
    pub(crate) fn join(
        feeds: &Arc<Feeds>,
        poll: PollId,
        broadcaster: &Arc<dyn Broadcaster>,
        source: &Arc<dyn SnapshotSource>,
    ) -> Arc<Self> {
        let mut map = lock(feeds);
        if let Some(feed) = map.get(&poll).and_then(Weak::upgrade) {
            return feed;
        }
        let shared = Arc::new(Shared {
            latest: watch::Sender::new(Latest::default()),
            ready: watch::Sender::new(false),
            voters: Arc::default(),
        });
        let task = tokio::spawn(run(
            poll,
            Arc::clone(broadcaster),
            Arc::clone(source),
            Arc::clone(&shared),
        ))
        .abort_handle();
        let feed = Arc::new(Self {
            poll,
            shared,
            task,
            feeds: Arc::clone(feeds),
        });
        map.insert(poll, Arc::downgrade(&feed));
        feed
    }

    /// Waits until the upstream subscription was tried once, so that no
    /// event published after this returns is missed (unless it failed).
    pub(crate) async fn ready(&self) {
        // The sender lives in `self`, so this cannot fail.
        let _ = self.shared.ready.subscribe().wait_for(|ready| *ready).await;
    }

    /// Watches the poll's state; the current state counts as seen.
    pub(crate) fn watch(&self) -> watch::Receiver<Latest> {
        self.shared.latest.subscribe()
    }

    /// Hears from now on when `voter` votes in the poll.
    pub(crate) fn hear(&self, voter: &VoterTag) -> VoterWatch {
        self.shared.voters.hear(voter)
    }

    /// Keeps `results` (a socket's snapshot) if newer than the current ones,
    /// so that the feed never holds less than any socket has sent.
    pub(crate) fn offer(&self, results: Results) {
        self.shared.offer(results);
    }
}

impl Drop for PollFeed {
    fn drop(&mut self) {
        self.task.abort();
        let mut map = lock(&self.feeds);
        // A socket may have started a new feed for the poll already.
        if map.get(&self.poll).is_some_and(|w| w.strong_count() == 0) {
            map.remove(&self.poll);
        }
    }
}

/// The first and the longest wait before subscribing again after the
/// upstream subscription failed or ended, jittered so that the feeds of
/// every poll do not all come back at the same instant.
const RETRY: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(30));

/// The feed's task: subscribes to the poll's events and keeps the newest
/// results; subscribes again (then resyncs) when the subscription fails.
async fn run(
    poll: PollId,
    broadcaster: Arc<dyn Broadcaster>,
    source: Arc<dyn SnapshotSource>,
    shared: Arc<Shared>,
) {
    let mut backoff = Backoff::new(RETRY.0, RETRY.1);
    let mut first = true;
    loop {
        match broadcaster.subscribe(poll).await {
            Ok(mut events) => {
                shared.ready.send_replace(true);
                if !first {
                    // Events may have been missed while unsubscribed.
                    resync(poll, &*source, &shared).await;
                }
                backoff.reset();
                while let Some(event) = events.next().await {
                    match event {
                        ResultsEvent::Updated { results } if results.poll_id == poll => {
                            shared.offer(results);
                        }
                        ResultsEvent::Resync { .. } => resync(poll, &*source, &shared).await,
                        ResultsEvent::Voted { poll_id, voter } if poll_id == poll => {
                            shared.voters.voted(&voter);
                        }
                        _ => {}
                    }
                }
                tracing::warn!(%poll, "upstream results events ended; subscribing again");
            }
            Err(error) => {
                shared.ready.send_replace(true);
                tracing::warn!(%poll, %error, "cannot subscribe to results events; retrying");
            }
        }
        first = false;
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// Fetches fresh results after events were missed and starts a new generation.
async fn resync(poll: PollId, source: &dyn SnapshotSource, shared: &Shared) {
    match source.snapshot(poll).await {
        Ok(results) => shared.resync(results),
        Err(PollError::NotFound) => {
            shared.latest.send_modify(|latest| latest.gone = true);
        }
        Err(error) => {
            // The next event heals the sockets (the version rule).
            tracing::warn!(%poll, %error, "cannot read results to resync sockets");
        }
    }
}

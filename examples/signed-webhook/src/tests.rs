//! The layer over a memory store, delivering to a real local receiver on a
//! free port that fails on purpose.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use polling_core::layer::{BroadcastLayer, CacheLayer};
use polling_core::memory::{LocalBroadcaster, MemoryCache, MemoryStore};
use polling_core::service::PollService;
use polling_core::{Ballot, CastOutcome, OptionId, PollError, PollStore, VoterId};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tower::{Service, ServiceBuilder, ServiceExt};
use warp::http::StatusCode;
use warp::Filter;

use crate::delivery::{self, Counts, Deliveries, WebhookConfig, DELIVERY_HEADER};
use crate::event::VoteEvent;
use crate::open_poll;
use crate::receiver::{incoming, Incoming};

const SECRET: &[u8] = b"test secret";

/// A webhook receiver on `127.0.0.1:0` that answers 500 to its first
/// `fail_first` requests, then holds each later one until the test opens
/// its gate, and accepts it if its signature verifies.
struct Receiver {
    /// Where it listens.
    addr: SocketAddr,
    /// What it shares with its handler.
    state: Arc<ReceiverState>,
    /// Each delivery it accepted: its `X-Polling-Delivery` and its event.
    accepted: mpsc::UnboundedReceiver<(Option<String>, VoteEvent)>,
    /// A word for each request that got past the failures to the gate.
    at_gate: mpsc::UnboundedReceiver<()>,
    /// Stops the server when sent or dropped.
    _shutdown: oneshot::Sender<()>,
}

struct ReceiverState {
    fail_first: usize,
    /// Every request it got, failed ones included.
    requests: AtomicUsize,
    /// One permit per request to let through after the failures.
    gate: Semaphore,
    accepted: mpsc::UnboundedSender<(Option<String>, VoteEvent)>,
    at_gate: mpsc::UnboundedSender<()>,
}

impl ReceiverState {
    async fn answer(&self, header: Option<String>, delivery: Incoming) -> StatusCode {
        if self.requests.fetch_add(1, Ordering::SeqCst) < self.fail_first {
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
        let _ = self.at_gate.send(());
        self.gate
            .acquire()
            .await
            .expect("the gate stays open")
            .forget();
        match delivery.verify(SECRET) {
            Ok(event) => {
                let _ = self.accepted.send((header, event));
                StatusCode::NO_CONTENT
            }
            Err(refusal) => refusal,
        }
    }
}

impl Receiver {
    async fn start(fail_first: usize) -> Self {
        let (accepted, accepted_rx) = mpsc::unbounded_channel();
        let (at_gate, at_gate_rx) = mpsc::unbounded_channel();
        let state = Arc::new(ReceiverState {
            fail_first,
            requests: AtomicUsize::new(0),
            gate: Semaphore::new(0),
            accepted,
            at_gate,
        });
        let handler = Arc::clone(&state);
        let hook = warp::path!("hooks" / "votes")
            .and(warp::header::optional::<String>(DELIVERY_HEADER))
            .and(incoming())
            .then(move |header, delivery| {
                let state = Arc::clone(&handler);
                async move { state.answer(header, delivery).await }
            });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(
            warp::serve(hook)
                .incoming(listener)
                .graceful(async {
                    let _ = stop.await;
                })
                .run(),
        );
        Self {
            addr,
            state,
            accepted: accepted_rx,
            at_gate: at_gate_rx,
            _shutdown: shutdown,
        }
    }

    /// Delivery to this receiver, signed with `secret`, with waits short
    /// enough for a test and attempts long enough never to time out.
    fn config(&self, secret: &[u8]) -> WebhookConfig {
        let url = format!("http://{}/hooks/votes", self.addr);
        WebhookConfig {
            max_attempts: 5,
            first_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(8),
            attempt_timeout: Duration::from_secs(60),
            ..WebhookConfig::new(&url, secret).unwrap()
        }
    }

    /// Lets every later request through the gate: any number the test
    /// does not expect is then seen as one too many, instead of waiting.
    fn open(&self) {
        self.state.gate.add_permits(1 << 20);
    }

    /// Waits for the next request to reach the gate; a minute at most, so
    /// that a sender that never gets there fails the test instead of
    /// hanging it.
    async fn reached_gate(&mut self) {
        let next = tokio::time::timeout(Duration::from_secs(60), self.at_gate.recv());
        next.await
            .expect("no delivery reached the receiver's gate within a minute")
            .expect("the receiver is running");
    }

    /// Every delivery accepted so far, in order, and what each was sent as.
    fn accepted_so_far(&mut self) -> Vec<(Option<String>, VoteEvent)> {
        std::iter::from_fn(|| self.accepted.try_recv().ok()).collect()
    }

    fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }
}

/// The vote path as an application stacks it, with the webhook inside the
/// cache and broadcast layers.
fn stack(
    store: &Arc<MemoryStore>,
    config: WebhookConfig,
) -> (
    impl Service<Ballot, Response = CastOutcome, Error = PollError> + Clone,
    Deliveries,
) {
    let (webhook, deliveries) = delivery::spawn(config);
    let service = ServiceBuilder::new()
        .layer(CacheLayer::new(MemoryCache::new()))
        .layer(BroadcastLayer::new(LocalBroadcaster::new()))
        .layer(webhook)
        .service(PollService::from_arc(Arc::clone(store)));
    (service, deliveries)
}

async fn vote(
    service: &(impl Service<Ballot, Response = CastOutcome, Error = PollError> + Clone),
    ballot: Ballot,
) -> CastOutcome {
    service
        .clone()
        .oneshot(ballot)
        .await
        .expect("the vote is accepted")
}

fn choose(poll: polling_core::PollId, voter: &VoterId, option: u32) -> Ballot {
    Ballot::new(poll, voter.clone(), vec![OptionId::new(option)]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_vote_is_delivered_once_signed_after_retries_and_after_its_receipt() {
    let mut receiver = Receiver::start(3).await;
    let store = Arc::new(MemoryStore::new());
    let (service, deliveries) = stack(&store, receiver.config(SECRET));
    let poll = open_poll(&*store, true).await.unwrap();

    // Four voters, one of whom changes their ballot, and a replay.
    let voters: Vec<VoterId> = (0..4).map(|_| VoterId::generate()).collect();
    let mut receipts = Vec::new();
    for (voter, option) in voters.iter().zip([0, 1, 2, 1]) {
        receipts.push(vote(&service, choose(poll.id, voter, option)).await);
    }
    receipts.push(vote(&service, choose(poll.id, &voters[0], 2)).await);
    let replay = vote(&service, choose(poll.id, &voters[0], 2)).await;
    assert!(replay.is_replay());

    // Every receipt is in hand; the first delivery got through its three
    // failures and waits at the receiver's gate: nothing is delivered yet.
    receiver.reached_gate().await;
    assert_eq!(deliveries.counts().delivered, 0);
    assert!(receiver.accepted_so_far().is_empty());

    receiver.open();
    drop(service);
    let counts = deliveries.finish().await;
    let delivered = receiver.accepted_so_far();

    // Once each, in the order of the votes, the replay not at all.
    let versions: Vec<u64> = delivered.iter().map(|(_, event)| event.version).collect();
    let receipt_versions: Vec<u64> = receipts.iter().map(|o| o.receipt.version).collect();
    assert_eq!(versions, receipt_versions);
    assert_eq!(versions, [1, 2, 3, 4, 5]);
    let kinds: Vec<&str> = delivered.iter().map(|(_, e)| e.kind.as_str()).collect();
    assert_eq!(kinds, ["new", "new", "new", "new", "changed"]);
    for ((header, event), outcome) in delivered.iter().zip(&receipts) {
        assert_eq!(header.as_deref(), Some(event.delivery.to_string().as_str()));
        assert_eq!(event.poll_id, poll.id);
        assert_eq!(event.results, outcome.results);
        assert_eq!(event.cast_at, outcome.receipt.cast_at);
    }
    let mut ids: Vec<_> = delivered.iter().map(|(_, e)| e.delivery).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), receipts.len(), "every delivery has its own id");
    assert_eq!(
        counts,
        Counts {
            delivered: 5,
            retries: 3,
            failed: 0,
            dropped: 0
        }
    );
    assert_eq!(receiver.requests(), 3 + 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_keeps_failing_is_given_up_on_and_the_vote_stands() {
    let receiver = Receiver::start(usize::MAX).await;
    let store = Arc::new(MemoryStore::new());
    let config = WebhookConfig {
        max_attempts: 3,
        ..receiver.config(SECRET)
    };
    let (service, deliveries) = stack(&store, config);
    let poll = open_poll(&*store, false).await.unwrap();

    let outcome = vote(&service, choose(poll.id, &VoterId::generate(), 1)).await;
    assert!(outcome.is_new());
    drop(service);
    let counts = deliveries.finish().await;

    assert_eq!(
        counts,
        Counts {
            delivered: 0,
            retries: 2,
            failed: 1,
            dropped: 0
        }
    );
    assert_eq!(receiver.requests(), 3);
    assert_eq!(store.results(poll.id).await.unwrap().total, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_the_receiver_refuses_is_not_retried() {
    let mut receiver = Receiver::start(0).await;
    receiver.open();
    let store = Arc::new(MemoryStore::new());
    // Signed with a secret the receiver does not share: 401, final.
    let (service, deliveries) = stack(&store, receiver.config(b"wrong secret"));
    let poll = open_poll(&*store, false).await.unwrap();

    vote(&service, choose(poll.id, &VoterId::generate(), 0)).await;
    drop(service);
    let counts = deliveries.finish().await;

    assert_eq!(counts.failed, 1);
    assert_eq!(counts.retries, 0);
    assert_eq!(receiver.requests(), 1);
    assert!(receiver.accepted_so_far().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_new_events_and_never_the_vote() {
    let mut receiver = Receiver::start(0).await;
    let store = Arc::new(MemoryStore::new());
    let config = WebhookConfig {
        queue_capacity: 1,
        ..receiver.config(SECRET)
    };
    let (service, deliveries) = stack(&store, config);
    let poll = open_poll(&*store, false).await.unwrap();

    // The first event is out of the queue, held at the receiver's gate.
    vote(&service, choose(poll.id, &VoterId::generate(), 0)).await;
    receiver.reached_gate().await;
    // The second waits in the queue, which is then full: the next two
    // events are dropped, their votes accepted all the same.
    for option in [1, 2, 0] {
        let outcome = vote(&service, choose(poll.id, &VoterId::generate(), option)).await;
        assert!(outcome.is_new());
    }
    assert_eq!(deliveries.counts().dropped, 2);

    receiver.open();
    drop(service);
    let counts = deliveries.finish().await;
    assert_eq!(
        counts,
        Counts {
            delivered: 2,
            retries: 0,
            failed: 0,
            dropped: 2
        }
    );
    let versions: Vec<u64> = receiver
        .accepted_so_far()
        .iter()
        .map(|(_, event)| event.version)
        .collect();
    assert_eq!(versions, [1, 2]);
    assert_eq!(store.results(poll.id).await.unwrap().total, 4);
}

/// The same layer on the reference server's vote path
/// (`AppBuilder::vote_layer`): a vote over the server's routes is
/// answered 201 and delivered once, signed; creating the poll and reading
/// its results deliver nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layer_goes_on_the_reference_servers_vote_path() {
    let mut receiver = Receiver::start(0).await;
    receiver.open();
    let (webhook, deliveries) = delivery::spawn(receiver.config(SECRET));
    let routes = polling_server::routes(polling_server::App::builder().vote_layer(webhook).build());
    let post = |path: String, body: &'static str| {
        warp::test::request()
            .method("POST")
            .path(&path)
            .header("content-type", "application/json")
            .body(body)
            .reply(&routes)
    };
    let created = post(
        "/api/polls".to_owned(),
        r#"{"question":"Lunch?","options":["soup","salad"]}"#,
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let poll: serde_json::Value = serde_json::from_slice(created.body()).unwrap();
    let id = poll["id"].as_str().unwrap().to_owned();
    let voted = post(format!("/api/polls/{id}/votes"), r#"{"choices":[1]}"#).await;
    assert_eq!(voted.status(), StatusCode::CREATED, "{:?}", voted.body());
    let results = warp::test::request()
        .path(&format!("/api/polls/{id}/results"))
        .reply(&routes)
        .await;
    assert_eq!(results.status(), StatusCode::OK);

    drop(routes); // the app, and the layer's end of the queue with it
    let counts = deliveries.finish().await;
    assert_eq!(counts.delivered, 1, "{counts:?}");
    let delivered = receiver.accepted_so_far();
    assert_eq!(delivered.len(), 1);
    let (_, event) = &delivered[0];
    assert_eq!(event.poll_id.to_string(), id);
    assert_eq!((event.version, event.kind.as_str()), (1, "new"));
}

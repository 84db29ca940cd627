//! The delivery of webhooks: a bounded [`Queue`] the vote path pushes
//! events into without waiting, and one background task posting them in
//! order, retrying failures with exponential backoff.
//!
//! # When the queue is full
//!
//! [`Queue::push`] never waits: when `queue_capacity` events are already
//! waiting (the receiver is down or slower than the votes), the new event
//! is **dropped**, logged and counted in [`Stats::dropped`], and the vote
//! goes on as if nothing happened. The queue bounds the memory a dead
//! receiver can cost; a receiver that must see every vote reconciles
//! from the results (each event carries the poll's results and version,
//! so a gap in versions shows what it missed).
//!
//! # Delivery guarantees
//!
//! At least once for each event that entered the queue, while the process
//! lives and the receiver answers within `max_attempts`: a delivery whose
//! 2xx answer was lost is sent again with the same `X-Polling-Delivery`
//! id. A 4xx other than 408 and 429 is the receiver refusing the event,
//! and is not retried.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::StatusCode;
use polling_core::{BoxError, CastOutcome};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::task::JoinHandle;

use crate::event::VoteEvent;
use crate::layer::WebhookLayer;
use crate::post::{post, Target};
use crate::signature::{sign, SIGNATURE_HEADER};

/// The header naming the delivery, the same on each of its retries.
pub(crate) const DELIVERY_HEADER: &str = "x-polling-delivery";

/// Where webhooks go and how hard delivery tries.
#[derive(Clone)]
pub(crate) struct WebhookConfig {
    /// The receiver's URL.
    pub(crate) target: Target,
    /// The secret shared with the receiver, that signs each body.
    pub(crate) secret: Vec<u8>,
    /// How many events may wait for delivery before new ones are dropped.
    pub(crate) queue_capacity: usize,
    /// How many times one event is sent at most (the first try included).
    pub(crate) max_attempts: u32,
    /// The wait before the first retry; each further retry waits twice as
    /// long as the one before, up to `max_backoff`.
    pub(crate) first_backoff: Duration,
    /// The longest wait between two attempts.
    pub(crate) max_backoff: Duration,
    /// How long one attempt may take before it counts as failed.
    pub(crate) attempt_timeout: Duration,
}

impl WebhookConfig {
    /// Delivery to `url`, signed with `secret`: up to 1024 events waiting,
    /// 6 attempts each, waits of 0.5 s doubling up to 30 s in between (about
    /// 15 s from the first attempt to the last), 10 s per attempt.
    ///
    /// # Errors
    ///
    /// When `url` is not an `http://` URL (see [`Target::parse`]).
    pub(crate) fn new(url: &str, secret: impl Into<Vec<u8>>) -> Result<Self, BoxError> {
        Ok(Self {
            target: Target::parse(url)?,
            secret: secret.into(),
            queue_capacity: 1024,
            max_attempts: 6,
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            attempt_timeout: Duration::from_secs(10),
        })
    }

    /// The wait before retry number `retry` (1 for the first retry).
    fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.first_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

impl std::fmt::Debug for WebhookConfig {
    // Without the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("target", &self.target)
            .field("queue_capacity", &self.queue_capacity)
            .field("max_attempts", &self.max_attempts)
            .field("first_backoff", &self.first_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish_non_exhaustive()
    }
}

/// Starts delivering to `config`'s receiver: the layer to put on the vote
/// path, and the handle of the background task. Must be called inside a
/// tokio runtime.
pub(crate) fn spawn(config: WebhookConfig) -> (WebhookLayer, Deliveries) {
    let (sender, receiver) = mpsc::channel(config.queue_capacity);
    let stats = Arc::new(Stats::default());
    let queue = Queue {
        sender,
        stats: Arc::clone(&stats),
    };
    let worker = tokio::spawn(deliver_all(config, receiver, Arc::clone(&stats)));
    (WebhookLayer::new(queue), Deliveries { stats, worker })
}

/// The sending side of the delivery queue, held by the layer and every
/// service it makes.
#[derive(Clone, Debug)]
pub(crate) struct Queue {
    /// Where events wait for the delivery task.
    sender: mpsc::Sender<VoteEvent>,
    /// Counts the events dropped here.
    stats: Arc<Stats>,
}

impl Queue {
    /// Queues the event of `outcome`, if it changed results, without
    /// waiting: dropped and counted when the queue is full (see the
    /// [module docs](self)).
    pub(crate) fn push(&self, outcome: &CastOutcome) {
        let Some(event) = VoteEvent::of(outcome) else {
            return;
        };
        if let Err(refused) = self.sender.try_send(event) {
            let (why, event) = match refused {
                TrySendError::Full(event) => ("the queue is full", event),
                TrySendError::Closed(event) => ("delivery has stopped", event),
            };
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                poll_id = %event.poll_id,
                version = event.version,
                "webhook dropped: {why}"
            );
        }
    }
}

/// What delivery did so far; every field only grows.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Events a receiver answered with 2xx.
    pub(crate) delivered: AtomicU64,
    /// Attempts after an event's first one.
    pub(crate) retries: AtomicU64,
    /// Events given up on: every attempt failed, or the receiver refused.
    pub(crate) failed: AtomicU64,
    /// Events dropped because the queue was full or closed.
    pub(crate) dropped: AtomicU64,
}

/// A copy of [`Stats`] at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// See [`Stats::delivered`].
    pub(crate) delivered: u64,
    /// See [`Stats::retries`].
    pub(crate) retries: u64,
    /// See [`Stats::failed`].
    pub(crate) failed: u64,
    /// See [`Stats::dropped`].
    pub(crate) dropped: u64,
}

impl Stats {
    fn counts(&self) -> Counts {
        Counts {
            delivered: self.delivered.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// The background delivery task.
#[derive(Debug)]
pub(crate) struct Deliveries {
    /// What it did so far.
    stats: Arc<Stats>,
    /// The task; it ends once every [`Queue`] is dropped and the queue is
    /// empty.
    worker: JoinHandle<()>,
}

impl Deliveries {
    /// What delivery did so far.
    pub(crate) fn counts(&self) -> Counts {
        self.stats.counts()
    }

    /// Waits until every event queued was delivered or given up on, once
    /// the layer and every service it made are dropped (until then more
    /// may come); what delivery did, in the end.
    pub(crate) async fn finish(self) -> Counts {
        if let Err(error) = self.worker.await {
            tracing::error!(%error, "the webhook delivery task failed");
        }
        self.stats.counts()
    }
}

/// Delivers every event of `queue`, one after the other, until it closes.
async fn deliver_all(
    config: WebhookConfig,
    mut queue: mpsc::Receiver<VoteEvent>,
    stats: Arc<Stats>,
) {
    while let Some(event) = queue.recv().await {
        let outcome = deliver(&config, &event, &stats).await;
        let counter = match outcome {
            Ok(()) => &stats.delivered,
            Err(why) => {
                tracing::error!(
                    delivery = %event.delivery,
                    poll_id = %event.poll_id,
                    version = event.version,
                    "webhook given up: {why}"
                );
                &stats.failed
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sends `event` until its receiver answers 2xx, refuses it, or
/// `max_attempts` ran out.
async fn deliver(config: &WebhookConfig, event: &VoteEvent, stats: &Stats) -> Result<(), String> {
    // Serialized and signed once: every attempt sends the same bytes.
    let body = Bytes::from(serde_json::to_vec(event).map_err(|e| e.to_string())?);
    let headers = [
        (
            HeaderName::from_static(SIGNATURE_HEADER),
            HeaderValue::try_from(sign(&config.secret, &body)).map_err(|e| e.to_string())?,
        ),
        (
            HeaderName::from_static(DELIVERY_HEADER),
            HeaderValue::try_from(event.delivery.to_string()).map_err(|e| e.to_string())?,
        ),
    ];
    let mut last = String::from("no attempt made (max_attempts is 0)");
    for attempt in 1..=config.max_attempts {
        if attempt > 1 {
            stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(config.backoff(attempt - 1)).await;
        }
        let sent = tokio::time::timeout(
            config.attempt_timeout,
            post(&config.target, &headers, body.clone()),
        )
        .await;
        last = match sent {
            Ok(Ok(status)) if status.is_success() => return Ok(()),
            Ok(Ok(status)) if !retryable(status) => {
                return Err(format!("the receiver refused it with {status}"));
            }
            Ok(Ok(status)) => format!("answered {status}"),
            Ok(Err(error)) => format!("failed: {error}"),
            Err(_) => format!("no answer within {:?}", config.attempt_timeout),
        };
        tracing::warn!(delivery = %event.delivery, attempt, "webhook attempt {last}");
    }
    Err(format!("{} attempts, the last {last}", config.max_attempts))
}

/// Whether an attempt answered `status` (not 2xx) is worth another: server
/// errors, 408 Request Timeout and 429 Too Many Requests.
fn retryable(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_wait_up_to_the_cap() {
        let config = WebhookConfig::new("http://127.0.0.1:1/", "s").unwrap();
        let waits: Vec<Duration> = (1..=8).map(|retry| config.backoff(retry)).collect();
        let ms = |ms| Duration::from_millis(ms);
        assert_eq!(
            waits,
            [
                ms(500),
                ms(1_000),
                ms(2_000),
                ms(4_000),
                ms(8_000),
                ms(16_000),
                ms(30_000),
                ms(30_000)
            ]
        );
        assert_eq!(config.backoff(u32::MAX), ms(30_000));
    }

    #[test]
    fn server_errors_and_throttling_are_retried_other_refusals_not() {
        for status in [500, 502, 503, 408, 429] {
            assert!(retryable(StatusCode::from_u16(status).unwrap()), "{status}");
        }
        for status in [400, 401, 404, 410, 422] {
            assert!(
                !retryable(StatusCode::from_u16(status).unwrap()),
                "{status}"
            );
        }
    }

    #[test]
    fn the_config_shows_no_secret() {
        let config = WebhookConfig::new("http://127.0.0.1:1/", "hunter2").unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}

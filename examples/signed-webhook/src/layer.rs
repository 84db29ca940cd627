//! [`WebhookLayer`]: after each accepted vote, queue its webhook, without
//! waiting for the delivery.
//!
//! The trio of a tower middleware: the layer, the [`Webhook`] service it
//! makes, and that service's [`ResponseFuture`]. The service answers
//! exactly what the service inside it answers, at the moment it answers:
//! the event goes into the bounded [`Queue`] with a `try_send`, and the
//! delivery task (see [`crate::delivery`]) does the rest. A failing or
//! slow receiver never delays or fails a vote.
//!
//! # Where it goes in the stack
//!
//! Inside `polling-core`'s cache and broadcast layers, next to the
//! `PollService`:
//!
//! ```text
//! CacheLayer → BroadcastLayer → WebhookLayer → PollService
//! ```
//!
//! There, a vote whose caller hangs up mid-way still gets its webhook once
//! the store commits it: the outer layers' futures finish on drop, carrying
//! this one with them (`polling_core::layer`, "Post-commit effects").

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;
use polling_core::service::ResultsRequest;
use polling_core::{Ballot, CastOutcome, Results};
use tower::{Layer, Service};

use crate::delivery::Queue;

/// Applies [`Webhook`] to a service; made by
/// [`delivery::spawn`](crate::delivery::spawn).
#[derive(Clone, Debug)]
pub(crate) struct WebhookLayer {
    /// Where every service this layer makes queues its events.
    queue: Queue,
}

impl WebhookLayer {
    /// Queues the events into `queue`.
    pub(crate) fn new(queue: Queue) -> Self {
        Self { queue }
    }
}

impl<S> Layer<S> for WebhookLayer {
    type Service = Webhook<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Webhook {
            inner,
            queue: self.queue.clone(),
        }
    }
}

/// Queues a webhook for every ballot its inner service records (new or
/// changed; a replay changed nothing). See the [module docs](self).
#[derive(Clone, Debug)]
pub(crate) struct Webhook<S> {
    /// The service that records ballots.
    inner: S,
    /// Where the events go.
    queue: Queue,
}

impl<S> Service<Ballot> for Webhook<S>
where
    S: Service<Ballot, Response = CastOutcome>,
{
    type Response = CastOutcome;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, ballot: Ballot) -> Self::Future {
        ResponseFuture {
            inner: self.inner.call(ballot),
            queue: Some(self.queue.clone()),
        }
    }
}

/// Results reads pass through untouched, so the layer fits the same
/// stacks as `polling-core`'s.
impl<S> Service<ResultsRequest> for Webhook<S>
where
    S: Service<ResultsRequest, Response = Results>,
{
    type Response = Results;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: ResultsRequest) -> Self::Future {
        self.inner.call(request)
    }
}

pin_project! {
    /// The response future of [`Webhook`]: the inner cast, then, once it
    /// succeeded, the event queued (which never waits).
    #[derive(Debug)]
    pub(crate) struct ResponseFuture<F> {
        #[pin]
        inner: F,
        // Taken when the cast completes, so the event is queued once.
        queue: Option<Queue>,
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<CastOutcome, E>>,
{
    type Output = Result<CastOutcome, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = ready!(this.inner.poll(cx));
        if let (Ok(outcome), Some(queue)) = (&output, this.queue.take()) {
            queue.push(outcome);
        }
        Poll::Ready(output)
    }
}

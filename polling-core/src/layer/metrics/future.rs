use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

pin_project! {
    /// The response future of [`Metrics`](super::Metrics): the inner
    /// future, recorded when it completes.
    pub struct ResponseFuture<F: Future> {
        // The inner service's future.
        #[pin]
        inner: F,
        // When the request was made.
        start: Instant,
        // Records the response and the time it took.
        record: fn(&F::Output, Duration),
    }
}

impl<F: Future> ResponseFuture<F> {
    pub(crate) fn new(inner: F, record: fn(&F::Output, Duration)) -> Self {
        Self {
            inner,
            start: Instant::now(),
            record,
        }
    }
}

impl<F: Future> Future for ResponseFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = ready!(this.inner.poll(cx));
        (this.record)(&output, this.start.elapsed());
        Poll::Ready(output)
    }
}

impl<F: Future> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

//! The response future shared by the layers whose work continues after the
//! inner service answers.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use pin_project_lite::pin_project;

pin_project! {
    /// The response future of [`Cache`](super::Cache) and of
    /// [`Broadcast`](super::Broadcast) on the vote path: the inner call, then
    /// the layer's own follow-up (a cache `put`, a publish).
    pub struct ResponseFuture<T, E> {
        #[pin]
        inner: BoxFuture<'static, Result<T, E>>,
    }
}

impl<T, E> ResponseFuture<T, E> {
    pub(crate) fn new(inner: impl Future<Output = Result<T, E>> + Send + 'static) -> Self {
        Self {
            inner: Box::pin(inner),
        }
    }
}

impl<T, E> Future for ResponseFuture<T, E> {
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

impl<T, E> std::fmt::Debug for ResponseFuture<T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

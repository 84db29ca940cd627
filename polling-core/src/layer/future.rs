//! The response future shared by the layers whose work continues after the
//! inner service answers.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_util::future::BoxFuture;
use pin_project_lite::pin_project;

use crate::domain::Abandoner;

pin_project! {
    /// The response future of [`Cache`](super::Cache) and of
    /// [`Broadcast`](super::Broadcast): the inner call, then the layer's own
    /// follow-up (a cache `put`, a publish).
    ///
    /// On the vote path it **finishes on drop**: dropped before it completed
    /// (its caller hung up, timed out or was shed), it
    /// [abandons](crate::Ballot::abandon) the ballot it was called with, so a
    /// store that has not started recording it never does, and hands the rest
    /// of its work (the inner cast and the follow-up) to a task on the
    /// current tokio runtime, so a ballot the store was already recording
    /// still gets its cache `put` and publish after the commit. Outside a
    /// runtime it only abandons the ballot. In a stack of such layers the
    /// outermost dropped future moves the whole chain into one task: the
    /// inner futures are not dropped, so nothing is done twice. See the
    /// [layer module docs](super).
    ///
    /// On the results path, and once it has completed, dropping it does
    /// nothing more.
    pub struct ResponseFuture<T, E> {
        // The inner call and the follow-up; `None` once they completed.
        inner: Option<BoxFuture<'static, Result<T, E>>>,
        // On the vote path, what to do with an unfinished `inner` on drop;
        // `None` on the results path, whose work nobody needs once its
        // caller left.
        on_drop: Option<Finish<T, E>>,
    }

    impl<T, E> PinnedDrop for ResponseFuture<T, E> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let (Some(rest), Some(finish)) = (this.inner.take(), this.on_drop.take()) {
                finish.abandoner.abandon();
                (finish.detach)(rest);
            }
        }
    }
}

/// How a vote's [`ResponseFuture`] finishes when dropped early.
struct Finish<T, E> {
    /// Abandons the ballot the layer was called with.
    abandoner: Abandoner,
    /// Runs the rest of the future in a task; a function pointer, so that
    /// the `'static` bounds spawning needs are checked where the future is
    /// made and not carried by the type.
    detach: fn(BoxFuture<'static, Result<T, E>>),
}

/// Runs `rest` to completion in a task on the current tokio runtime, or
/// drops it when there is none.
fn detach<T: 'static, E: 'static>(rest: BoxFuture<'static, Result<T, E>>) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            // Nobody waits for the outcome: the cast's answer (or error)
            // only matters to the follow-up, done inside.
            runtime.spawn(async move {
                let _ = rest.await;
            });
        }
        Err(_) => tracing::warn!(
            "a vote's response future was dropped outside a tokio runtime; \
             its ballot is abandoned and, if it commits anyway, its cache and \
             broadcast updates are left to the next vote"
        ),
    }
}

impl<T, E> ResponseFuture<T, E> {
    /// The future of a vote: `inner` finishes in a task of its own if the
    /// caller drops this early, after abandoning the ballot of `abandoner`.
    pub(crate) fn vote(
        inner: impl Future<Output = Result<T, E>> + Send + 'static,
        abandoner: Abandoner,
    ) -> Self
    where
        T: 'static,
        E: 'static,
    {
        Self {
            inner: Some(Box::pin(inner)),
            on_drop: Some(Finish {
                abandoner,
                detach: detach::<T, E>,
            }),
        }
    }

    /// The future of a results read: `inner` is dropped with it.
    pub(crate) fn read(inner: impl Future<Output = Result<T, E>> + Send + 'static) -> Self {
        Self {
            inner: Some(Box::pin(inner)),
            on_drop: None,
        }
    }
}

impl<T, E> Future for ResponseFuture<T, E> {
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this
            .inner
            .as_mut()
            .expect("ResponseFuture polled after it completed");
        let output = ready!(inner.as_mut().poll(cx));
        // Completed: nothing is left to finish if it is dropped now.
        *this.inner = None;
        Poll::Ready(output)
    }
}

impl<T, E> std::fmt::Debug for ResponseFuture<T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("completed", &self.inner.is_none())
            .field("finishes_on_drop", &self.on_drop.is_some())
            .finish()
    }
}

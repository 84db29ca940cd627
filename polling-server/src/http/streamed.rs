//! [`channel`]: a response body written by a task, chunk by chunk, that is
//! complete only when the task says so.
//!
//! A body stream that simply ends looks complete to the client (hyper writes
//! the last chunk). So the writer must [`finish`](ChunkSender::finish) it:
//! if the writer fails ([`fail`](ChunkSender::fail)) or stops without
//! finishing (a panic, a dropped task), the body ends with an error
//! instead, hyper closes the connection before the last chunk, and the
//! client sees a failed download, never a shorter file.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// What a writer sends.
#[derive(Debug)]
enum Chunk {
    /// The next bytes of the body.
    Data(Bytes),
    /// The body failed: it ends with this error.
    Failed(std::io::Error),
    /// The body is complete.
    End,
}

/// The writing end of a [`channel`].
#[derive(Debug)]
pub(crate) struct ChunkSender {
    /// Where chunks go, until the body ends.
    chunks: mpsc::Sender<Chunk>,
}

/// The client went away: nobody reads the body any more.
#[derive(Debug)]
pub(crate) struct Gone;

impl ChunkSender {
    /// Sends the next bytes, waiting while the client is behind.
    pub(crate) async fn send(&self, bytes: Bytes) -> Result<(), Gone> {
        self.chunks.send(Chunk::Data(bytes)).await.map_err(|_| Gone)
    }

    /// Ends the body as failed.
    pub(crate) async fn fail(self, error: std::io::Error) {
        let _ = self.chunks.send(Chunk::Failed(error)).await;
    }

    /// Ends the body as complete.
    pub(crate) async fn finish(self) {
        let _ = self.chunks.send(Chunk::End).await;
    }
}

/// The reading end of a [`channel`]: the body's stream for
/// `warp::reply::stream`.
#[derive(Debug)]
pub(crate) struct Streamed {
    /// The chunks as the writer sends them.
    chunks: ReceiverStream<Chunk>,
    /// Whether the body has ended (complete or failed).
    ended: bool,
}

/// A body of at most `ahead` chunks waiting for the client, and its writer.
pub(crate) fn channel(ahead: usize) -> (ChunkSender, Streamed) {
    let (chunks, receiver) = mpsc::channel(ahead);
    let body = Streamed {
        chunks: ReceiverStream::new(receiver),
        ended: false,
    };
    (ChunkSender { chunks }, body)
}

impl Stream for Streamed {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let chunk = ready!(Pin::new(&mut self.chunks).poll_next(cx));
        Poll::Ready(match chunk {
            Some(Chunk::Data(bytes)) => Some(Ok(bytes)),
            Some(Chunk::End) => {
                self.ended = true;
                None
            }
            Some(Chunk::Failed(error)) => {
                self.ended = true;
                Some(Err(error))
            }
            None => {
                self.ended = true;
                Some(Err(std::io::Error::other(
                    "the body's writer stopped before its end",
                )))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    #[tokio::test]
    async fn a_finished_body_ends_and_an_unfinished_one_fails() {
        let (sender, body) = channel(4);
        sender.send(Bytes::from_static(b"a")).await.unwrap();
        sender.finish().await;
        let items: Vec<_> = body.collect().await;
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].as_ref().unwrap(), &Bytes::from_static(b"a"));

        let (sender, body) = channel(4);
        sender.send(Bytes::from_static(b"a")).await.unwrap();
        drop(sender);
        let items: Vec<_> = body.collect().await;
        assert_eq!(items.len(), 2);
        assert!(
            items[1].is_err(),
            "a writer gone before finishing fails the body"
        );

        let (sender, body) = channel(4);
        sender.fail(std::io::Error::other("store")).await;
        let items: Vec<_> = body.collect().await;
        assert_eq!(items.len(), 1);
        assert!(items[0].is_err());
    }
}

//! [`Pair`]: a socket's two halves, a sink and a stream, as one duplex.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::{Sink, Stream};

/// A sink and a stream served as one socket, for
/// [`serve_gated_socket`](crate::serve_gated_socket)'s callers that hold the
/// two halves apart (channels in tests, a split WebSocket).
pub(crate) struct Pair<Si, St> {
    /// Frames to the client.
    sink: Pin<Box<Si>>,
    /// Frames from the client.
    stream: Pin<Box<St>>,
}

impl<Si, St> Pair<Si, St> {
    /// The two halves, pinned where they are moved now.
    pub(crate) fn new(sink: Si, stream: St) -> Self {
        Self {
            sink: Box::pin(sink),
            stream: Box::pin(stream),
        }
    }
}

impl<Item, Si: Sink<Item>, St> Sink<Item> for Pair<Si, St> {
    type Error = Si::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().sink.as_mut().poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Item) -> Result<(), Self::Error> {
        self.get_mut().sink.as_mut().start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().sink.as_mut().poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().sink.as_mut().poll_close(cx)
    }
}

impl<Si, St: Stream> Stream for Pair<Si, St> {
    type Item = St::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().stream.as_mut().poll_next(cx)
    }
}

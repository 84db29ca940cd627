//! [`RemoteConnection`]: the one connection a [`Listener`](super::Listener)
//! listens on, as a backend adapts it.

use std::future::Future;

use crate::error::BoxError;

/// A connection that listens to channels of a remote service.
///
/// Four operations are all the listener needs: start and stop listening to
/// channels, check that the connection still answers, and wait for the next
/// message. The listener puts a timeout on each (see [`RelayConfig`](super::RelayConfig))
/// and treats any error as the loss of the connection.
///
/// # Example
///
/// An in-process "service" over a tokio channel, which drops messages on
/// channels it does not listen to (as Redis and PostgreSQL do):
///
/// ```
/// use std::collections::HashSet;
/// use polling_core::relay::RemoteConnection;
/// use polling_core::BoxError;
/// use tokio::sync::mpsc::UnboundedReceiver;
///
/// struct InProcess {
///     listening: HashSet<String>,
///     // (channel, payload)
///     incoming: UnboundedReceiver<(String, String)>,
/// }
///
/// impl RemoteConnection for InProcess {
///     type Message = (String, String);
///
///     async fn listen(&mut self, channels: &[String]) -> Result<(), BoxError> {
///         self.listening.extend(channels.iter().cloned());
///         Ok(())
///     }
///
///     async fn unlisten(&mut self, channel: &str) -> Result<(), BoxError> {
///         self.listening.remove(channel);
///         Ok(())
///     }
///
///     async fn ping(&mut self) -> Result<(), BoxError> {
///         Ok(())
///     }
///
///     async fn next_message(&mut self) -> Result<Option<Self::Message>, BoxError> {
///         while let Some((channel, payload)) = self.incoming.recv().await {
///             if self.listening.contains(&channel) {
///                 return Ok(Some((channel, payload)));
///             }
///         }
///         Ok(None)
///     }
/// }
/// ```
pub trait RemoteConnection: Send + 'static {
    /// What the service delivers on a channel; read by
    /// [`Remote::message_channel`](super::Remote::message_channel) and
    /// [`Remote::decode`](super::Remote::decode).
    type Message: Send;

    /// Starts listening to `channels` (one round trip for all of them, if the
    /// service allows it), and returns once the service has confirmed it.
    fn listen(&mut self, channels: &[String]) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// Stops listening to `channel`, and returns once the service has
    /// confirmed it.
    fn unlisten(&mut self, channel: &str) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// A round trip that fails if the connection died silently.
    fn ping(&mut self) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// The next message on a channel listened to; `None` when the service
    /// closed the connection.
    ///
    /// Must be cancel-safe: the listener waits for it together with its
    /// commands and drops it when a command comes first, and a message half
    /// read then must not be lost.
    fn next_message(
        &mut self,
    ) -> impl Future<Output = Result<Option<Self::Message>, BoxError>> + Send;
}

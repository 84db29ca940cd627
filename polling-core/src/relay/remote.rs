//! [`Remote`]: what a backend tells the [`Listener`](super::Listener) about
//! its service: how to open a connection, how channels are named, and how
//! messages are read.

use std::future::Future;

use crate::domain::{PollId, ResultsEvent};
use crate::error::BoxError;

use super::connection::RemoteConnection;

/// A remote service a broadcaster relays events through.
///
/// # Example
///
/// ```
/// # use std::collections::HashSet;
/// # use std::sync::Mutex;
/// # use polling_core::relay::RemoteConnection;
/// # use polling_core::BoxError;
/// # use tokio::sync::mpsc::UnboundedReceiver;
/// # struct InProcess {
/// #     listening: HashSet<String>,
/// #     incoming: UnboundedReceiver<(String, String)>,
/// # }
/// # impl RemoteConnection for InProcess {
/// #     type Message = (String, String);
/// #     async fn listen(&mut self, channels: &[String]) -> Result<(), BoxError> { Ok(()) }
/// #     async fn unlisten(&mut self, channel: &str) -> Result<(), BoxError> { Ok(()) }
/// #     async fn ping(&mut self) -> Result<(), BoxError> { Ok(()) }
/// #     async fn next_message(&mut self) -> Result<Option<Self::Message>, BoxError> {
/// #         Ok(self.incoming.recv().await)
/// #     }
/// # }
/// use polling_core::relay::Remote;
/// use polling_core::{PollId, ResultsEvent};
///
/// /// Hands out one connection (the example's "service" has only one).
/// struct InProcessRemote(Mutex<Option<InProcess>>);
///
/// impl Remote for InProcessRemote {
///     type Connection = InProcess;
///     const CONNECTION: &'static str = "in-process connection";
///
///     async fn connect(&self) -> Result<InProcess, BoxError> {
///         let connection = self.0.lock().unwrap().take();
///         connection.ok_or_else(|| "the service is gone".into())
///     }
///
///     fn channel(&self, poll: PollId) -> String {
///         format!("poll:{poll}")
///     }
///
///     fn poll_of_channel(&self, channel: &str) -> Option<PollId> {
///         channel.strip_prefix("poll:")?.parse().ok()
///     }
///
///     fn message_channel<'m>(&self, message: &'m (String, String)) -> &'m str {
///         &message.0
///     }
///
///     fn decode(&self, message: &(String, String)) -> Result<ResultsEvent, BoxError> {
///         let poll_id = message.1.parse()?;
///         Ok(ResultsEvent::Resync { poll_id })
///     }
/// }
/// ```
pub trait Remote: Send + Sync + 'static {
    /// The listening connection.
    type Connection: RemoteConnection;

    /// Names the listening connection in logs and errors, such as
    /// `"redis pub/sub connection"`.
    const CONNECTION: &'static str;

    /// Opens a listening connection. The listener bounds it with
    /// [`RelayConfig::connect_timeout`](super::RelayConfig::connect_timeout).
    fn connect(&self) -> impl Future<Output = Result<Self::Connection, BoxError>> + Send;

    /// The channel of `poll`'s events.
    fn channel(&self, poll: PollId) -> String;

    /// The poll whose channel `channel` is, if it is one.
    fn poll_of_channel(&self, channel: &str) -> Option<PollId>;

    /// The channel `message` came on.
    fn message_channel<'m>(
        &self,
        message: &'m <Self::Connection as RemoteConnection>::Message,
    ) -> &'m str;

    /// The event `message` carries; an error skips the message (logged and
    /// counted).
    fn decode(
        &self,
        message: &<Self::Connection as RemoteConnection>::Message,
    ) -> Result<ResultsEvent, BoxError>;

    /// Called whenever the listening connection goes up (its channels in
    /// place) or down, for a backend's own gauge. Does nothing by default.
    fn set_connected(&self, connected: bool) {
        let _ = connected;
    }

    /// Called once when the listener stops, after its connection is dropped,
    /// to release what the backend holds for it. Does nothing by default.
    fn close(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

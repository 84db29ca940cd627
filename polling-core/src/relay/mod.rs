//! Building blocks of a [`Broadcaster`](crate::Broadcaster) that relays
//! events through a remote service, such as Redis Pub/Sub or PostgreSQL
//! `LISTEN`/`NOTIFY`, so that every replica sees every vote.
//!
//! Such a broadcaster publishes each event on a channel of its poll, and
//! keeps one connection per process that listens to the channels of the
//! polls with local subscribers. Everything but the service itself lives
//! here:
//!
//! * [`Relay`]: what the broadcaster holds; its
//!   [`subscribe`](Relay::subscribe) is the broadcaster's.
//! * The [listener](Relay::spawn) task behind it, owning the one listening
//!   connection: it listens to a poll's channel while the poll has local
//!   subscribers, pings the connection, reconnects with [`Backoff`], and
//!   then sends every poll it listens to again a
//!   [`ResultsEvent::Resync`](crate::ResultsEvent::Resync) (what was
//!   published meanwhile is lost).
//! * [`Subscriptions`]: the local subscribers of each poll, on a bounded
//!   queue per poll; a subscriber that falls behind gets a `Resync` instead
//!   of the events it skipped.
//! * [`Reconcile`]: the command that makes the listening connection's
//!   channels match the polls with local subscribers.
//! * [`RelayConfig`]: queue size, timeouts, ping interval, reconnect delays.
//!
//! A backend adds its [`Remote`]: how to open a [`RemoteConnection`], the
//! channel names, and the payload format; and it publishes on its own.
//! Metrics go under the names of [`metrics`](crate::metrics):
//! [`BROADCAST_RESYNCS_TOTAL`](crate::metrics::BROADCAST_RESYNCS_TOTAL),
//! [`BROADCAST_RECONNECTS_TOTAL`](crate::metrics::BROADCAST_RECONNECTS_TOTAL)
//! and [`BROADCAST_RECEIVE_ERRORS_TOTAL`](crate::metrics::BROADCAST_RECEIVE_ERRORS_TOTAL).
//!
//! # Example
//!
//! A relay over an in-process "service" (a tokio broadcast channel of
//! `(channel, payload)` pairs), standing in for Redis or PostgreSQL:
//!
//! ```
//! use std::time::Duration;
//! use futures_util::StreamExt;
//! use polling_core::relay::{Relay, RelayConfig, Remote, RemoteConnection};
//! use polling_core::{BoxError, PollId, ResultsEvent};
//! use tokio::sync::broadcast;
//!
//! type Message = (String, String);
//!
//! struct Service(broadcast::Sender<Message>);
//!
//! struct Connection {
//!     incoming: broadcast::Receiver<Message>,
//!     listening: Vec<String>,
//! }
//!
//! impl RemoteConnection for Connection {
//!     type Message = Message;
//!     async fn listen(&mut self, channels: &[String]) -> Result<(), BoxError> {
//!         Ok(self.listening.extend_from_slice(channels))
//!     }
//!     async fn unlisten(&mut self, channel: &str) -> Result<(), BoxError> {
//!         Ok(self.listening.retain(|c| c != channel))
//!     }
//!     async fn ping(&mut self) -> Result<(), BoxError> {
//!         Ok(())
//!     }
//!     async fn next_message(&mut self) -> Result<Option<Message>, BoxError> {
//!         loop {
//!             let message = self.incoming.recv().await?;
//!             if self.listening.contains(&message.0) {
//!                 return Ok(Some(message));
//!             }
//!         }
//!     }
//! }
//!
//! impl Remote for Service {
//!     type Connection = Connection;
//!     const CONNECTION: &'static str = "in-process connection";
//!     async fn connect(&self) -> Result<Connection, BoxError> {
//!         Ok(Connection { incoming: self.0.subscribe(), listening: Vec::new() })
//!     }
//!     fn channel(&self, poll: PollId) -> String {
//!         format!("poll:{poll}")
//!     }
//!     fn poll_of_channel(&self, channel: &str) -> Option<PollId> {
//!         channel.strip_prefix("poll:")?.parse().ok()
//!     }
//!     fn message_channel<'m>(&self, message: &'m Message) -> &'m str {
//!         &message.0
//!     }
//!     fn decode(&self, message: &Message) -> Result<ResultsEvent, BoxError> {
//!         Ok(serde_json::from_str(&message.1)?)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> polling_core::Result<()> {
//! let service = broadcast::channel(16).0;
//! let config = RelayConfig {
//!     subscriber_capacity: 64,
//!     connect_timeout: Duration::from_secs(1),
//!     response_timeout: Duration::from_secs(1),
//!     ping_interval: Duration::from_secs(5),
//!     reconnect_min_delay: Duration::from_millis(50),
//!     reconnect_max_delay: Duration::from_secs(2),
//! };
//! let relay = Relay::spawn(Service(service.clone()), &config);
//!
//! let poll = PollId::generate();
//! let mut events = relay.subscribe(poll).await?;
//! assert!(relay.is_listening());
//!
//! // What a broadcaster on another replica publishes:
//! let event = ResultsEvent::Resync { poll_id: poll };
//! let payload = serde_json::to_string(&event).unwrap();
//! service.send((format!("poll:{poll}"), payload)).unwrap();
//! assert_eq!(events.next().await, Some(event));
//! # Ok(())
//! # }
//! ```

mod backoff;
mod config;
mod connection;
mod handle;
mod listener;
mod reconcile;
mod remote;
mod subscriptions;

pub use backoff::Backoff;
pub use config::RelayConfig;
pub use connection::RemoteConnection;
pub use handle::Relay;
pub use reconcile::Reconcile;
pub use remote::Remote;
pub use subscriptions::Subscriptions;

//! [`PgListening`]: PostgreSQL `LISTEN`/`NOTIFY` as the [`Remote`] of a
//! [`Relay`](polling_core::relay::Relay), and [`ListeningConnection`], its
//! listening connection.
//!
//! Channels are `polling:poll:{poll_id}` (see [`channel`]); notifications
//! carry [`ResultsEvent`]s as JSON. The connection listens with `LISTEN`,
//! stops with `UNLISTEN` and checks itself with `SELECT 1`.
//!
//! The connection comes from a pool of its own (one connection, named
//! [`LISTENER_APPLICATION_NAME`] in `pg_stat_activity`), so it never takes a
//! slot of the pool the votes use; the pool is closed when the relay stops.

use polling_core::relay::{Remote, RemoteConnection};
use polling_core::{BoxError, PollId, ResultsEvent};
use sqlx::postgres::{PgListener, PgNotification};
use sqlx::{Executor, PgPool};

use crate::channel::{channel, poll_of_channel};

/// The `application_name` of the listening connection.
pub const LISTENER_APPLICATION_NAME: &str = "polling-listener";

/// Opens listening connections from a one-connection pool of their own.
#[derive(Debug)]
pub(crate) struct PgListening {
    /// The one-connection pool the listening connection comes from.
    pool: PgPool,
}

impl PgListening {
    /// Listening connections from `pool` (of its own).
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

impl Remote for PgListening {
    type Connection = ListeningConnection;

    const CONNECTION: &'static str = "postgres listening connection";

    async fn connect(&self) -> Result<ListeningConnection, BoxError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        // A lost connection is the relay's to replace, with backoff and a
        // resync, not the listener's to hide.
        listener.eager_reconnect(false);
        Ok(ListeningConnection(listener))
    }

    fn channel(&self, poll: PollId) -> String {
        channel(poll)
    }

    fn poll_of_channel(&self, channel: &str) -> Option<PollId> {
        poll_of_channel(channel)
    }

    fn message_channel<'m>(&self, notification: &'m PgNotification) -> &'m str {
        notification.channel()
    }

    fn decode(&self, notification: &PgNotification) -> Result<ResultsEvent, BoxError> {
        Ok(serde_json::from_str(notification.payload())?)
    }

    /// The listening connection (dropped by now) gives itself back with an
    /// `UNLISTEN *`; closing waits for that and then closes it, so the
    /// database is left with no session of this broadcaster.
    async fn close(&self) {
        self.pool.close().await;
    }
}

/// The listening connection.
pub(crate) struct ListeningConnection(PgListener);

impl RemoteConnection for ListeningConnection {
    type Message = PgNotification;

    async fn listen(&mut self, channels: &[String]) -> Result<(), BoxError> {
        Ok(self
            .0
            .listen_all(channels.iter().map(String::as_str))
            .await?)
    }

    async fn unlisten(&mut self, channel: &str) -> Result<(), BoxError> {
        Ok(self.0.unlisten(channel).await?)
    }

    async fn ping(&mut self) -> Result<(), BoxError> {
        self.0.execute("SELECT 1").await?;
        Ok(())
    }

    /// Cancel-safe: a notification half read when the call is dropped stays
    /// buffered for the next one.
    async fn next_message(&mut self) -> Result<Option<PgNotification>, BoxError> {
        Ok(self.0.try_recv().await?)
    }
}

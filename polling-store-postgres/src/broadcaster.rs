//! [`PgBroadcaster`]: the [`Broadcaster`] over PostgreSQL `LISTEN`/`NOTIFY`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::StreamExt;
use polling_core::relay::Relay;
use polling_core::{Broadcaster, EventStream, PollError, PollId, Result, Results, ResultsEvent};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::broadcaster_config::PgBroadcasterConfig;
use crate::channel::{channel, MAX_PAYLOAD_BYTES};
use crate::error::unavailable;
use crate::listening::{PgListening, LISTENER_APPLICATION_NAME};
use crate::publisher::Publisher;

/// A [`Broadcaster`] over PostgreSQL `LISTEN`/`NOTIFY`, so that every
/// replica on one database sees every vote without Redis. Clones share the
/// connection and the subscribers; the last one dropped stops the background
/// task.
///
/// # Channels
///
/// Each poll has its own channel, `polling:poll:{poll_id}`, carrying
/// [`ResultsEvent`]s as JSON. PostgreSQL then routes by poll: a replica
/// receives the events of the polls its own subscribers watch, not every
/// vote of every poll (as one channel for all polls would make it), at the
/// price of a `LISTEN` when a poll gets its first local subscriber and an
/// `UNLISTEN` when it loses its last. Notifications are per database, so
/// deployments on separate databases never see each other's events.
///
/// # Publishing
///
/// [`publish`](Broadcaster::publish) calls `pg_notify(channel, payload)` on
/// the pool it was given; a failure is a [`PollError::Unavailable`] and is
/// counted ([`PgBroadcaster::publish_failures`]). Events published while a
/// statement is in flight go out together in the next one, in publish order,
/// so publishing holds at most one connection of the pool however many
/// ballots commit at once. PostgreSQL refuses payloads
/// of 8000 bytes or more: an event that large (the results of a poll with
/// hundreds of options) is sent as a [`ResultsEvent::Resync`] instead, which
/// makes subscribers read the results from the store.
///
/// # Subscribing
///
/// Each broadcaster has exactly one listening connection, however many polls
/// and subscribers, owned by a background task and taken from a one-connection
/// pool of its own (with the given pool's settings, and `application_name`
/// `polling-listener`), so it never holds a connection the votes need. Local
/// subscribers of a poll share a tokio broadcast channel, as with
/// polling-core's `LocalBroadcaster`: one that falls behind gets a
/// [`ResultsEvent::Resync`] instead of the events it skipped. Malformed
/// notifications are logged, counted and skipped.
///
/// When the connection is lost (PostgreSQL restarted, the backend was
/// terminated, a `SELECT 1` every [`ping_interval`](PgBroadcasterConfig::ping_interval)
/// went unanswered), the task reconnects with exponential backoff (from
/// [`reconnect_min_delay`](PgBroadcasterConfig::reconnect_min_delay), doubling,
/// jittered, up to [`reconnect_max_delay`](PgBroadcasterConfig::reconnect_max_delay)),
/// listens to every poll that still has subscribers, and sends each of them a
/// `Resync` (`NOTIFY` reaches only the sessions listening at commit time:
/// whatever was published meanwhile is lost, and a `Resync` makes
/// subscribers fetch a fresh snapshot). [`subscribe`](Broadcaster::subscribe)
/// works while PostgreSQL is down: the stream starts with that `Resync` once
/// it is back.
///
/// # Health and metrics
///
/// [`check`](Broadcaster::check) fails while the listening connection is
/// down or the pool does not answer a `SELECT 1`. Through the `metrics`
/// facade, under the names of [`polling_core::metrics`], the broadcaster
/// records [`BROADCAST_RESYNCS_TOTAL`](polling_core::metrics::BROADCAST_RESYNCS_TOTAL)
/// (once per poll resynced),
/// [`BROADCAST_RECONNECTS_TOTAL`](polling_core::metrics::BROADCAST_RECONNECTS_TOTAL)
/// and [`BROADCAST_RECEIVE_ERRORS_TOTAL`](polling_core::metrics::BROADCAST_RECEIVE_ERRORS_TOTAL)
/// (malformed notifications). Failed publishes are counted by the
/// [`BroadcastLayer`](polling_core::layer::BroadcastLayer) that makes them.
///
/// # Example
///
/// ```no_run
/// use futures_util::StreamExt;
/// use polling_core::{Broadcaster, PollId, ResultsEvent};
/// use polling_store_postgres::{PgBroadcaster, PgConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = PgConfig::new("postgres://postgres@127.0.0.1/polling").connect().await?;
/// let broadcaster = PgBroadcaster::new(&pool);
/// let poll = PollId::generate();
/// let mut events = broadcaster.subscribe(poll).await?;
/// broadcaster.publish(&ResultsEvent::Resync { poll_id: poll }).await?;
/// assert_eq!(events.next().await, Some(ResultsEvent::Resync { poll_id: poll }));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PgBroadcaster {
    /// Shared by the clones; its drop closes the listener's command channel.
    inner: Arc<Inner>,
}

/// The state the clones of a [`PgBroadcaster`] share.
struct Inner {
    /// Answers `check`.
    pool: PgPool,
    /// Sends the events, batched, on `pool`.
    publisher: Arc<Publisher>,
    /// The local subscribers and the task owning the listening connection;
    /// dropped with the last clone, which stops the task.
    relay: Relay,
    /// Publishes that failed since the broadcaster was made.
    publish_failures: AtomicU64,
}

impl PgBroadcaster {
    /// Publishes through `pool` and listens on a connection of its own to
    /// the same database, with the default [`PgBroadcasterConfig`]. See
    /// [`with_config`](Self::with_config).
    ///
    /// # Panics
    ///
    /// When called outside a Tokio runtime, as `tokio::spawn` does.
    pub fn new(pool: &PgPool) -> Self {
        Self::with_config(pool, &PgBroadcasterConfig::default())
    }

    /// Publishes through `pool` and opens the listening connection (with
    /// `pool`'s connection options) in the background: this returns at once,
    /// even while PostgreSQL is down; [`is_listening`](Self::is_listening)
    /// says when the connection is up.
    ///
    /// # Panics
    ///
    /// When called outside a Tokio runtime, as `tokio::spawn` does.
    pub fn with_config(pool: &PgPool, config: &PgBroadcasterConfig) -> Self {
        Self::with_listener(pool, pool.connect_options().as_ref().clone(), config)
    }

    /// Publishes through `pool` and listens on a connection made with
    /// `listen` instead of `pool`'s options: a direct one (a
    /// [`PgConfig::session_options`](crate::PgConfig::session_options)) when
    /// `pool` goes through PgBouncer in transaction mode, where a `LISTEN`
    /// would stay behind on a server connection other clients then use, and
    /// its notifications would break their queries. Otherwise as
    /// [`with_config`](Self::with_config).
    ///
    /// # Panics
    ///
    /// When called outside a Tokio runtime, as `tokio::spawn` does.
    pub fn with_listener(
        pool: &PgPool,
        listen: PgConnectOptions,
        config: &PgBroadcasterConfig,
    ) -> Self {
        let options = listen.application_name(LISTENER_APPLICATION_NAME);
        let listener_pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(config.response_timeout)
            .connect_lazy_with(options);
        let relay = Relay::spawn(PgListening::new(listener_pool), &config.relay_config());
        Self {
            inner: Arc::new(Inner {
                pool: pool.clone(),
                publisher: Publisher::new(pool.clone()),
                relay,
                publish_failures: AtomicU64::new(0),
            }),
        }
    }

    /// How many publishes failed so far (each also returned an error).
    pub fn publish_failures(&self) -> u64 {
        self.inner.publish_failures.load(Ordering::Relaxed)
    }

    /// How many listening connections this broadcaster opened so far: 1,
    /// plus one per reconnect. Never more than one is open at a time.
    pub fn connections_established(&self) -> u64 {
        self.inner.relay.connections_established()
    }

    /// Whether the listening connection is up with its `LISTEN`s in place
    /// (for readiness checks).
    pub fn is_listening(&self) -> bool {
        self.inner.relay.is_listening()
    }

    /// Whether a `NOTIFY` published through the pool reaches this
    /// broadcaster's listening connection within `within`: an event on a
    /// poll of its own, sent every 200 ms until it comes back.
    ///
    /// A pooler in transaction mode (PgBouncer) between PostgreSQL and the
    /// listening connection breaks this: the `LISTEN` stays on a server
    /// connection the pooler lends to other clients, so the notification
    /// never comes back, or breaks the query of whoever holds that
    /// connection. The server checks it once at start-up.
    ///
    /// # Errors
    ///
    /// `Unavailable` when a publish fails or nothing comes back in time.
    pub async fn round_trip(&self, within: Duration) -> Result<()> {
        let probe = PollId::generate();
        let mut events = self.subscribe(probe).await?;
        let event = ResultsEvent::Updated {
            results: Results {
                poll_id: probe,
                version: 1,
                total: 0,
                counts: Vec::new(),
                ranked: None,
                star: None,
            },
        };
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            self.publish(&event).await?;
            let until = deadline.min(Instant::now() + Duration::from_millis(200));
            loop {
                match tokio::time::timeout_at(until.into(), events.next()).await {
                    Ok(Some(received)) if received == event => return Ok(()),
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        return Err(PollError::unavailable(
                            "the broadcaster stopped during its NOTIFY round trip",
                        ))
                    }
                    // Time to publish again.
                    Err(_) => break,
                }
            }
        }
        Err(PollError::unavailable(format!(
            "a NOTIFY published through the pool did not reach the listening connection \
             within {} ms",
            within.as_millis()
        )))
    }

    /// Notifies `event`'s poll channel.
    async fn send(&self, event: &ResultsEvent) -> Result<()> {
        let payload = payload(event)?;
        self.inner
            .publisher
            .publish(channel(event.poll_id()), payload)
            .await
    }
}

/// `event` as JSON, or, if that is too long for a `NOTIFY`, the `Resync` of
/// its poll: subscribers then read the results themselves.
fn payload(event: &ResultsEvent) -> Result<String> {
    let json = serde_json::to_string(event).map_err(PollError::unavailable)?;
    if json.len() < MAX_PAYLOAD_BYTES {
        return Ok(json);
    }
    tracing::debug!(
        poll_id = %event.poll_id(),
        bytes = json.len(),
        "event too large for NOTIFY; sending a resync instead"
    );
    let resync = ResultsEvent::Resync {
        poll_id: event.poll_id(),
    };
    serde_json::to_string(&resync).map_err(PollError::unavailable)
}

impl fmt::Debug for PgBroadcaster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgBroadcaster")
            .field("listening", &self.is_listening())
            .field("connections_established", &self.connections_established())
            .field("publish_failures", &self.publish_failures())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Broadcaster for PgBroadcaster {
    async fn publish(&self, event: &ResultsEvent) -> Result<()> {
        let sent = self.send(event).await;
        if sent.is_err() {
            self.inner.publish_failures.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// `Unavailable` when the listening connection is not up (see
    /// [`PgBroadcaster::is_listening`]) or a `SELECT 1` through the
    /// publishing pool fails (within its acquire timeout).
    async fn check(&self) -> Result<()> {
        if !self.is_listening() {
            return Err(PollError::unavailable(
                "the postgres listening connection is down",
            ));
        }
        sqlx::query("SELECT 1")
            .execute(&self.inner.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn subscribe(&self, poll: PollId) -> Result<EventStream> {
        self.inner.relay.subscribe(poll).await
    }
}

#[cfg(test)]
mod tests {
    use polling_core::{OptionCount, OptionId, Results};

    use super::*;

    fn updated(poll_id: PollId, options: u32) -> ResultsEvent {
        ResultsEvent::Updated {
            results: Results {
                poll_id,
                version: 7,
                total: 7,
                counts: (0..options)
                    .map(|i| OptionCount {
                        option_id: OptionId::new(i),
                        votes: 1,
                    })
                    .collect(),
                ranked: None,
                star: None,
            },
        }
    }

    #[test]
    fn an_event_that_fits_a_notify_is_sent_whole() {
        let event = updated(PollId::generate(), 3);
        let sent: ResultsEvent = serde_json::from_str(&payload(&event).unwrap()).unwrap();
        assert_eq!(sent, event);
    }

    #[test]
    fn an_event_too_large_for_a_notify_becomes_a_resync() {
        let poll_id = PollId::generate();
        let event = updated(poll_id, 1000);
        assert!(serde_json::to_string(&event).unwrap().len() >= MAX_PAYLOAD_BYTES);
        let sent = payload(&event).unwrap();
        assert!(sent.len() < MAX_PAYLOAD_BYTES);
        let sent: ResultsEvent = serde_json::from_str(&sent).unwrap();
        assert_eq!(sent, ResultsEvent::Resync { poll_id });
    }
}

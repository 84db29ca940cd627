//! [`Publisher`]: the `pg_notify` calls of a broadcaster, batched.
//!
//! Every recorded ballot publishes an event, and on a hot poll hundreds of
//! ballots commit at once (coalesced casts). One statement per event would
//! take as many pool connections as the ballots, from the pool the next
//! batch of ballots needs. Instead, events queue up while one statement is
//! in flight and go out together in the next one, in queue order:
//!
//! ```sql
//! SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS t(c, p)
//! ```
//!
//! So publishing holds at most one connection at a time, and an event waits
//! at most for the statement before its own. Each caller gets its own
//! statement's outcome. Within one statement PostgreSQL delivers identical
//! notifications (same channel, same payload) once: the same event twice
//! carries nothing more than once.
//!
//! The statements run in a task of their own, started by the first event of
//! an idle publisher, so a caller that stops waiting never strands the queue.

use std::sync::{Arc, Mutex, MutexGuard};

use polling_core::{PollError, Result};
use sqlx::PgPool;
use tokio::sync::oneshot;

/// Queued `pg_notify` calls, sent one batch at a time.
#[derive(Debug)]
pub(crate) struct Publisher {
    /// Where the statements run.
    pool: PgPool,
    /// The events waiting for the next statement.
    state: Mutex<State>,
}

/// What the callers and the sending task share.
#[derive(Debug, Default)]
struct State {
    /// Events queued for the next statement, in publish order.
    pending: Vec<Pending>,
    /// Whether a sending task runs (it drains `pending` before it stops).
    sending: bool,
}

/// One queued event.
#[derive(Debug)]
struct Pending {
    /// Its poll's channel.
    channel: String,
    /// The event as JSON.
    payload: String,
    /// Told the outcome of the statement that carried it.
    done: oneshot::Sender<std::result::Result<(), Arc<sqlx::Error>>>,
}

impl Publisher {
    /// A publisher running its statements on `pool`.
    pub(crate) fn new(pool: PgPool) -> Arc<Self> {
        Arc::new(Self {
            pool,
            state: Mutex::default(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Changed whole under the lock: a poisoned state is consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notifies `channel` with `payload`, in the next statement.
    ///
    /// # Errors
    ///
    /// [`PollError::Unavailable`] when that statement failed.
    pub(crate) async fn publish(self: &Arc<Self>, channel: String, payload: String) -> Result<()> {
        // Checked first, so that a queued event never waits for a task that
        // cannot start (outside a runtime, as when a runtime shuts down).
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| PollError::unavailable("publishing outside a tokio runtime"))?;
        let (done, outcome) = oneshot::channel();
        let start = {
            let mut state = self.state();
            state.pending.push(Pending {
                channel,
                payload,
                done,
            });
            !std::mem::replace(&mut state.sending, true)
        };
        if start {
            runtime.spawn(Arc::clone(self).send_all());
        }
        match outcome.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(PollError::unavailable(error)),
            Err(_) => Err(PollError::unavailable(
                "the postgres publishing task stopped",
            )),
        }
    }

    /// Sends the queue, one statement per batch, until it is empty.
    async fn send_all(self: Arc<Self>) {
        loop {
            let batch = {
                let mut state = self.state();
                if state.pending.is_empty() {
                    state.sending = false;
                    return;
                }
                std::mem::take(&mut state.pending)
            };
            let (channels, payloads): (Vec<&str>, Vec<&str>) = batch
                .iter()
                .map(|p| (p.channel.as_str(), p.payload.as_str()))
                .unzip();
            let outcome = sqlx::query(
                "SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS t(c, p)",
            )
            .bind(channels)
            .bind(payloads)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(Arc::new);
            for pending in batch {
                // A caller that stopped waiting needs no answer.
                let _ = pending.done.send(outcome.clone());
            }
        }
    }
}

//! [`ballot_stream`]: a poll's ballots read row by row, for
//! [`SqlitePollStore::ballot_stream`](crate::SqlitePollStore).
//!
//! The rows come from one read transaction (one snapshot: with the
//! write-ahead log, readers never block writers nor wait for them) on one
//! pool connection, read by a task of its own as the stream's consumer
//! takes them, in the order of the `ballots_export` index: at most
//! [`BUFFERED`] ballots wait in memory and the database file holds the
//! rest, so an export's memory does not grow with the poll. The connection
//! goes back to the pool when the rows end, when the stream is dropped, or
//! when its consumer takes no ballot for [`STALL_TIMEOUT`] (a client that
//! stopped reading its download holds no connection for long; its stream
//! then ends with an error, never as if the ballots ended).
//!
//! A pool of one connection (an in-memory database, whose every connection
//! is that one) cannot lend it to a slow reader: there the ballots are read
//! at once, which costs no more memory than the database itself.

use std::time::Duration;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use polling_core::{AnonymousBallot, BallotStream, Method, PollError, PollId, Result};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::mpsc;

use crate::error::unavailable;
use crate::rows;

const GET_METHOD: &str = "SELECT method, secret FROM polls WHERE id = ?1";

/// Every ballot of the poll in export order (the minute in UTC, then the
/// marks, whose bytes sort as [`AnonymousBallot`] orders them; every cast
/// stores choices sorted), by the `ballots_export` index.
const GET_BALLOTS: &str = "SELECT marks, cast_at FROM ballots WHERE poll_id = ?1 \
     ORDER BY cast_at / 60000000, marks";

/// A secret poll's ballots in the same order, by the `secret_ballots_export`
/// index: never in the order they were cast, nor in that of their keys.
const GET_SECRET_BALLOTS: &str = "SELECT marks, cast_minute AS cast_at FROM secret_ballots \
     WHERE poll_id = ?1 ORDER BY cast_minute, marks";

/// The most ballots read ahead of the stream's consumer.
pub(crate) const BUFFERED: usize = 256;

/// How long the reading task waits for the consumer to take a ballot
/// before it gives up, ending the stream with an error.
pub(crate) const STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// What the reading task passes on.
enum Message {
    /// The poll exists (the first message, unless it does not).
    Found,
    /// A ballot, or the failure that ends the rows.
    Row(Result<AnonymousBallot>),
    /// The rows ended: without it, the stream ends with an error, so a
    /// reader that gave up is never taken for the end of the ballots. The
    /// first message when the poll does not exist.
    End,
}

/// The ballots of `id`, read on one connection of `pool` as the stream is
/// polled; `NotFound` (before any ballot) for an unknown poll.
pub(crate) async fn ballot_stream(pool: &SqlitePool, id: PollId) -> Result<BallotStream> {
    if pool.options().get_max_connections() <= 1 {
        let ballots = read_all(pool, id).await?;
        return Ok(stream::iter(ballots).map(Ok).boxed());
    }
    let (rows_tx, mut rows_rx) = mpsc::channel::<Message>(BUFFERED);
    tokio::spawn(read(pool.clone(), id, rows_tx));
    // The first message says whether the poll exists.
    match rows_rx.recv().await {
        Some(Message::Found) => {}
        Some(Message::End) => return Err(PollError::NotFound),
        Some(Message::Row(Err(error))) => return Err(error),
        Some(Message::Row(Ok(_))) => {
            return Err(PollError::unavailable("a ballot before its poll was found"))
        }
        None => return Err(gave_up()),
    }
    let rows = stream::unfold(Some(rows_rx), |rows_rx| async move {
        let mut rows_rx = rows_rx?;
        match rows_rx.recv().await {
            Some(Message::Row(row)) => {
                let failed = row.is_err();
                Some((row, (!failed).then_some(rows_rx)))
            }
            Some(Message::End) => None,
            Some(Message::Found) => Some((Err(gave_up()), None)),
            None => Some((Err(gave_up()), None)),
        }
    });
    Ok(rows.boxed())
}

/// The error of a stream whose reader stopped before the end of the rows.
fn gave_up() -> PollError {
    PollError::unavailable("the ballot stream's reader stopped before the last row")
}

/// The poll's method in `tx`'s snapshot and the query of its ballots (of a
/// secret poll or not), or `None` when it does not exist.
async fn method(
    tx: &mut Transaction<'static, Sqlite>,
    id: &str,
) -> Result<Option<(Method, &'static str)>> {
    let Some(row) = sqlx::query(GET_METHOD)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(unavailable)?
    else {
        return Ok(None);
    };
    let secret: bool = sqlx::Row::try_get(&row, "secret").map_err(unavailable)?;
    let query = if secret {
        GET_SECRET_BALLOTS
    } else {
        GET_BALLOTS
    };
    Ok(Some((rows::method(&row)?, query)))
}

/// Every ballot of `id` at once.
async fn read_all(pool: &SqlitePool, id: PollId) -> Result<Vec<AnonymousBallot>> {
    let key = rows::id(id);
    let mut tx = pool.begin().await.map_err(unavailable)?;
    let (method, query) = method(&mut tx, &key).await?.ok_or(PollError::NotFound)?;
    let ballots = sqlx::query(query)
        .bind(&key)
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable)?
        .iter()
        .map(|row| rows::anonymous_ballot(method, row))
        .collect();
    tx.commit().await.map_err(unavailable)?;
    ballots
}

/// Reads the rows of `id` into `rows_tx`: [`Message::Found`], the rows,
/// then [`Message::End`], until the receiver is dropped, a row fails (the
/// last message), or the receiver takes nothing for [`STALL_TIMEOUT`]
/// (then the stream ends with an error).
async fn read(pool: SqlitePool, id: PollId, rows_tx: mpsc::Sender<Message>) {
    let key = rows::id(id);
    let mut tx = match pool.begin().await {
        Ok(tx) => tx,
        Err(error) => {
            let _ = rows_tx.send(Message::Row(Err(unavailable(error)))).await;
            return;
        }
    };
    let (method, query) = match method(&mut tx, &key).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            let _ = rows_tx.send(Message::End).await;
            return;
        }
        Err(error) => {
            let _ = rows_tx.send(Message::Row(Err(error))).await;
            return;
        }
    };
    if rows_tx.send(Message::Found).await.is_err() {
        return;
    }
    // The read transaction ends (rolled back: it wrote nothing) when `tx` is
    // dropped on return, and its connection goes back to the pool.
    let mut rows = sqlx::query(query).bind(&key).fetch(&mut *tx);
    loop {
        let message = match rows.try_next().await {
            Ok(None) => Message::End,
            Ok(Some(row)) => Message::Row(rows::anonymous_ballot(method, &row)),
            Err(error) => Message::Row(Err(unavailable(error))),
        };
        let last = matches!(message, Message::End | Message::Row(Err(_)));
        match tokio::time::timeout(STALL_TIMEOUT, rows_tx.send(message)).await {
            Ok(Ok(())) if !last => {}
            // Sent the last message, or the receiver is gone.
            Ok(_) => return,
            Err(_) => {
                tracing::warn!(poll = %id, "a ballot stream's consumer stalled; giving up its connection");
                return;
            }
        }
    }
}

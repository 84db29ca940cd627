//! [`ballot_stream`]: a poll's ballots read row by row, for
//! [`PgPollStore::ballot_stream`](crate::PgPollStore).
//!
//! The rows come from one `SELECT ... ORDER BY` on one pool connection, read
//! by a task of its own as the stream's consumer takes them: at most
//! [`BUFFERED`] ballots wait in memory, and PostgreSQL (then the socket)
//! holds the rest, so an export's memory does not grow with the poll. The
//! connection goes back to the pool when the rows end, when the stream is
//! dropped, or when its consumer takes no ballot for [`STALL_TIMEOUT`] (a
//! client that stopped reading its download holds no connection for long;
//! its stream then ends with an error, never as if the ballots ended).

use std::time::Duration;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use polling_core::{AnonymousBallot, BallotStream, PollError, PollId, Result};
use sqlx::PgPool;
use tokio::sync::mpsc;

use crate::error::unavailable;
use crate::rows;

/// Every ballot of the poll in export order (the minute in UTC, then the
/// marks, which every cast stores as [`AnonymousBallot`] orders them:
/// choices sorted), from `ballots` or, for a secret poll, `secret_ballots`
/// (never in the order of their insertion or of their random keys); one
/// row with NULLs for a poll without ballots, none for an unknown poll.
const GET_BALLOTS: &str = "SELECT p.method, b.choices, b.cast_at FROM polls p \
     LEFT JOIN LATERAL ( \
         SELECT choices, cast_at FROM ballots WHERE poll_id = $1 AND NOT p.secret \
         UNION ALL \
         SELECT choices, cast_minute FROM secret_ballots WHERE poll_id = $1 AND p.secret \
     ) AS b ON true WHERE p.id = $1 \
     ORDER BY date_trunc('minute', b.cast_at AT TIME ZONE 'UTC'), b.choices";

/// The most ballots read ahead of the stream's consumer.
pub(crate) const BUFFERED: usize = 256;

/// How long the reading task waits for the consumer to take a ballot
/// before it gives up, ending the stream with an error.
pub(crate) const STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// What the reading task passes on.
enum Message {
    /// A row: `Ok(None)` is the row of nulls of a poll without ballots.
    Row(Result<Option<AnonymousBallot>>),
    /// The rows ended: without it, the stream ends with an error, so a
    /// reader that gave up is never taken for the end of the ballots.
    End,
}

/// The ballots of `id`, read on one connection of `pool` as the stream is
/// polled; `NotFound` (before any ballot) for an unknown poll.
pub(crate) async fn ballot_stream(pool: &PgPool, id: PollId) -> Result<BallotStream> {
    let (rows_tx, mut rows_rx) = mpsc::channel::<Message>(BUFFERED);
    tokio::spawn(read(pool.clone(), id, rows_tx));
    // The first row says whether the poll exists.
    let first = match rows_rx.recv().await {
        Some(Message::End) => return Err(PollError::NotFound),
        None => return Err(gave_up()),
        Some(Message::Row(Err(error))) => return Err(error),
        Some(Message::Row(Ok(first))) => first,
    };
    let rest = stream::unfold(Some(rows_rx), |rows_rx| async move {
        let mut rows_rx = rows_rx?;
        match rows_rx.recv().await {
            Some(Message::Row(row)) => {
                let failed = row.is_err();
                Some((row, (!failed).then_some(rows_rx)))
            }
            Some(Message::End) => None,
            None => Some((Err(gave_up()), None)),
        }
    });
    let ballots = stream::iter([Ok(first)])
        .chain(rest)
        .try_filter_map(|ballot| async move { Ok(ballot) });
    Ok(ballots.boxed())
}

/// The error of a stream whose reader stopped before the end of the rows.
fn gave_up() -> PollError {
    PollError::unavailable("the ballot stream's reader stopped before the last row")
}

/// Reads the rows of `id` into `rows_tx`, then [`Message::End`], until the
/// receiver is dropped, a row fails (the last message), or the receiver
/// takes nothing for [`STALL_TIMEOUT`] (then the stream ends with an error).
async fn read(pool: PgPool, id: PollId, rows_tx: mpsc::Sender<Message>) {
    let mut connection = match pool.acquire().await {
        Ok(connection) => connection,
        Err(error) => {
            let _ = rows_tx.send(Message::Row(Err(unavailable(error)))).await;
            return;
        }
    };
    let mut rows = sqlx::query(GET_BALLOTS)
        .bind(rows::uuid(id))
        .fetch(&mut *connection);
    loop {
        let message = match rows.try_next().await {
            Ok(None) => Message::End,
            Ok(Some(row)) => Message::Row(
                rows::method(&row).and_then(|method| rows::anonymous_ballot(method, &row)),
            ),
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

//! [`ballot_stream`]: a poll's ballots read row by row, for
//! [`PgPollStore::ballot_stream`](crate::PgPollStore).
//!
//! The rows come from one `SELECT ... ORDER BY` on one pool connection, read
//! by a task of its own as the stream's consumer takes them: at most
//! [`BUFFERED`] ballots wait in memory, and PostgreSQL (then the socket)
//! holds the rest, so an export's memory does not grow with the poll. The
//! connection goes back to the pool when the rows end, when the stream is
//! dropped, or when its consumer takes no ballot for [`STALL_TIMEOUT`] (a
//! client that stopped reading its download holds no connection for long).

use std::time::Duration;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use polling_core::{AnonymousBallot, BallotStream, PollError, PollId, Result};
use sqlx::PgPool;
use tokio::sync::mpsc;

use crate::error::unavailable;
use crate::rows;

/// Every ballot of the poll in export order (the minute in UTC, then the
/// choices, which every cast stores sorted, as [`AnonymousBallot`] orders
/// them); one row with NULLs for a poll without ballots, none for an
/// unknown poll.
const GET_BALLOTS: &str = "SELECT b.choices, b.cast_at FROM polls p \
     LEFT JOIN ballots b ON b.poll_id = p.id WHERE p.id = $1 \
     ORDER BY date_trunc('minute', b.cast_at AT TIME ZONE 'UTC'), b.choices";

/// The most ballots read ahead of the stream's consumer.
pub(crate) const BUFFERED: usize = 256;

/// How long the reading task waits for the consumer to take a ballot
/// before it gives up, ending the stream with an error.
pub(crate) const STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A row as the reading task passes it on: `Ok(None)` is the row of nulls
/// of a poll without ballots.
type Item = Result<Option<AnonymousBallot>>;

/// The ballots of `id`, read on one connection of `pool` as the stream is
/// polled; `NotFound` (before any ballot) for an unknown poll.
pub(crate) async fn ballot_stream(pool: &PgPool, id: PollId) -> Result<BallotStream> {
    let (rows_tx, mut rows_rx) = mpsc::channel::<Item>(BUFFERED);
    tokio::spawn(read(pool.clone(), id, rows_tx));
    // The first row says whether the poll exists.
    let first = match rows_rx.recv().await {
        None => return Err(PollError::NotFound),
        Some(Err(error)) => return Err(error),
        Some(Ok(first)) => first,
    };
    let rest = stream::unfold(rows_rx, |mut rows_rx| async move {
        rows_rx.recv().await.map(|item| (item, rows_rx))
    });
    let ballots = stream::iter([Ok(first)])
        .chain(rest)
        .try_filter_map(|ballot| async move { Ok(ballot) });
    Ok(ballots.boxed())
}

/// Reads the rows of `id` into `rows_tx` until they end, the receiver is
/// dropped, or it takes no row for [`STALL_TIMEOUT`].
async fn read(pool: PgPool, id: PollId, rows_tx: mpsc::Sender<Item>) {
    let mut connection = match pool.acquire().await {
        Ok(connection) => connection,
        Err(error) => {
            let _ = rows_tx.send(Err(unavailable(error))).await;
            return;
        }
    };
    let mut rows = sqlx::query(GET_BALLOTS)
        .bind(rows::uuid(id))
        .fetch(&mut *connection);
    loop {
        let item = match rows.try_next().await {
            Ok(None) => return,
            Ok(Some(row)) => rows::anonymous_ballot(&row),
            Err(error) => Err(unavailable(error)),
        };
        let failed = item.is_err();
        match tokio::time::timeout(STALL_TIMEOUT, rows_tx.send(item)).await {
            Ok(Ok(())) if !failed => {}
            // The receiver is gone, or the row was an error (the last).
            Ok(_) => return,
            Err(_) => {
                tracing::warn!(poll = %id, "a ballot stream's reader stalled; giving up its connection");
                // Room or not, the consumer learns why the stream ends.
                let _ = rows_tx.try_send(Err(PollError::unavailable(
                    "the ballot stream's consumer stalled",
                )));
                return;
            }
        }
    }
}

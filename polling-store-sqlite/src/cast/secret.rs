//! A secret poll's batch (see `polling_core::domain::secrecy`): the
//! participations in `secret_voters`, the ballots in `secret_ballots`, in
//! the batch's transaction, with nothing linking the two.

use polling_core::store_kit::{Plan, SecretBatch, SecretRows};
use polling_core::{Ballot, Poll, PollId, Result, Tally};
use serde_json::{json, Value};

use super::transaction::hex;
use crate::error::unavailable;
use crate::rows;

/// Which of the batch's voters (`?2`, a JSON array of their keyed hashes in
/// hexadecimal) took part before: one primary-key lookup each.
const PARTICIPATED: &str = "SELECT voter_hash FROM secret_voters \
     WHERE poll_id = ?1 AND voter_hash IN (SELECT unhex(value) FROM json_each(?2))";

/// The batch's participations (`?2`, hashes in hexadecimal).
const RECORD_VOTERS: &str = "INSERT INTO secret_voters (poll_id, voter_hash) \
     SELECT ?1, unhex(v.value) FROM json_each(?2) AS v";

/// The batch's ballots (`?2`, a JSON array of `[random key, hex marks]`) at
/// the minute `?3`.
const RECORD_BALLOTS: &str = "INSERT INTO secret_ballots (poll_id, ballot_id, marks, cast_minute) \
     SELECT ?1, b.value ->> 0, unhex(b.value ->> 1), ?3 FROM json_each(?2) AS b";

/// Decides the batch under the write lock: the voters who took part before
/// are refused, the others decided as [`Plan::decide_secret`] says.
pub(super) async fn decide(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    poll: &Poll,
    tally: Tally,
    version: u64,
    ballots: &[Ballot],
) -> Result<Plan> {
    let batch = SecretBatch::of(poll, ballots);
    let keys: Vec<String> = batch.hashes().map(|h| hex(h.as_bytes())).collect();
    let found: Vec<Vec<u8>> = sqlx::query_scalar(PARTICIPATED)
        .bind(rows::id(poll.id))
        .bind(Value::from(keys).to_string())
        .fetch_all(&mut **tx)
        .await
        .map_err(unavailable)?;
    Ok(batch.decide(found, tally, version))
}

/// Writes the participations and ballots of the plan of a secret poll's
/// batch ([`SecretRows`]: neither follows the order the batch decided them
/// in).
pub(super) async fn record(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    poll_id: PollId,
    plan: &Plan,
) -> Result<()> {
    let id = rows::id(poll_id);
    let written = SecretRows::of(poll_id, plan);
    let voters: Vec<String> = written.voters.iter().map(|h| hex(h.as_bytes())).collect();
    let ballots = written
        .ballots
        .iter()
        .map(|(key, marks)| Ok(json!([key.to_string(), hex(&rows::marks_bytes(marks)?)])))
        .collect::<Result<Vec<Value>>>()?;
    sqlx::query(RECORD_VOTERS)
        .bind(&id)
        .bind(Value::from(voters).to_string())
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
    sqlx::query(RECORD_BALLOTS)
        .bind(&id)
        .bind(Value::from(ballots).to_string())
        .bind(rows::micros(plan.cast_at)?)
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
    Ok(())
}

//! A secret poll's batch (see `polling_core::domain::secrecy`): the
//! participations in `secret_voters`, the ballots in `secret_ballots`, in
//! the batch's transaction, with nothing linking the two.

use std::collections::{HashMap, HashSet};

use polling_core::domain::VoterHash;
use polling_core::store_kit::Plan;
use polling_core::{Ballot, Poll, PollId, Result, Tally, VoterId};
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
    let hashes: HashMap<VoterHash, &VoterId> = ballots
        .iter()
        .map(|b| (VoterHash::of(poll.id, b.voter()), b.voter()))
        .collect();
    let keys: Vec<String> = hashes.keys().map(|h| hex(h.as_bytes())).collect();
    let found: Vec<Vec<u8>> = sqlx::query_scalar(PARTICIPATED)
        .bind(rows::id(poll.id))
        .bind(Value::from(keys).to_string())
        .fetch_all(&mut **tx)
        .await
        .map_err(unavailable)?;
    let participated: HashSet<VoterId> = found
        .iter()
        .filter_map(|bytes| {
            let hash = VoterHash::from_bytes(bytes.as_slice().try_into().ok()?);
            hashes.get(&hash).map(|voter| (*voter).clone())
        })
        .collect();
    Ok(Plan::decide_secret(
        poll,
        tally,
        version,
        &participated,
        ballots,
        polling_core::now(),
    ))
}

/// Writes the participations and ballots of the plan of a secret poll's
/// batch, each sorted by its key (hash, random id), so that neither follows
/// the order the batch decided them in.
pub(super) async fn record(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    poll_id: PollId,
    plan: &Plan,
) -> Result<()> {
    let id = rows::id(poll_id);
    let mut voters: Vec<String> = plan
        .new_ballots
        .iter()
        .map(|(voter, _)| hex(VoterHash::of(poll_id, voter).as_bytes()))
        .collect();
    voters.sort_unstable();
    let mut ballots = plan
        .new_ballots
        .iter()
        .map(|(_, receipt)| {
            let marks = hex(&rows::marks_bytes(&receipt.marks)?);
            Ok((uuid::Uuid::new_v4().to_string(), marks))
        })
        .collect::<Result<Vec<(String, String)>>>()?;
    ballots.sort_unstable();
    let ballots: Vec<Value> = ballots.into_iter().map(|(k, m)| json!([k, m])).collect();
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

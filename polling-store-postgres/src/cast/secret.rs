//! A secret poll's batch (see `polling_core::domain::secrecy`): the
//! participations in `secret_voters`, the ballots in `secret_ballots`, in
//! the batch's transaction, with nothing linking the two.

use polling_core::store_kit::{Plan, SecretBatch, SecretRows};
use polling_core::{Ballot, Poll, Result, Tally};

use super::transaction::{listed_marks, Sums};
use crate::error::unavailable;
use crate::rows;

/// Which of the batch's voters (`$2`, their keyed hashes) took part before:
/// one primary-key lookup each, bounded by the batch.
const PARTICIPATED: &str = "SELECT voter_hash FROM secret_voters \
     WHERE poll_id = $1 AND voter_hash = ANY ($2::bytea[])";

/// The batch's participations (`$2`, in the order of their hashes) and
/// ballots (`$3` random keys and `$4` marks, in the order of their keys, at
/// the minute `$5`), the rankings whose count changed and the poll's sums,
/// in one statement. A participation already there (a voter racing itself
/// past the poll's row lock, which cannot happen) fails the batch on the key.
const RECORD: &str = concat!(
    "WITH voted AS ( \
         INSERT INTO secret_voters (poll_id, voter_hash) \
         SELECT $1, h FROM unnest($2::bytea[]) AS h \
     ), cast_ballots AS ( \
         INSERT INTO secret_ballots (poll_id, ballot_id, choices, cast_minute) \
         SELECT $1, b.id, string_to_array(b.choices, ',')::integer[], $5 \
           FROM unnest($3::uuid[], $4::text[]) AS b(id, choices) \
     ), ",
    record_sums!()
);

/// Decides the batch under the poll's row lock: the voters who took part
/// before are refused, the others decided as [`Plan::decide_secret`] says.
pub(super) async fn decide(
    tx: &mut sqlx::PgTransaction<'_>,
    poll: &Poll,
    tally: Tally,
    version: u64,
    ballots: &[Ballot],
) -> Result<Plan> {
    let batch = SecretBatch::of(poll, ballots);
    let keys: Vec<&[u8]> = batch.hashes().map(|h| h.as_bytes().as_slice()).collect();
    let found: Vec<Vec<u8>> = sqlx::query_scalar(PARTICIPATED)
        .bind(rows::uuid(poll.id))
        .bind(&keys)
        .fetch_all(&mut **tx)
        .await
        .map_err(unavailable)?;
    Ok(batch.decide(found, tally, version))
}

/// Writes the plan of a secret poll's batch ([`SecretRows`]: neither row
/// order follows the order the batch decided them in).
pub(super) async fn record(
    tx: &mut sqlx::PgTransaction<'_>,
    id: uuid::Uuid,
    plan: &Plan,
) -> Result<()> {
    let written = SecretRows::of(polling_core::PollId::from_uuid(id), plan);
    let voters: Vec<&[u8]> = written
        .voters
        .iter()
        .map(|h| h.as_bytes().as_slice())
        .collect();
    let (keys, marks): (Vec<uuid::Uuid>, Vec<String>) = written
        .ballots
        .iter()
        .map(|(key, marks)| (*key, listed_marks(marks)))
        .unzip();
    let query = sqlx::query(RECORD)
        .bind(id)
        .bind(&voters)
        .bind(&keys)
        .bind(&marks)
        .bind(plan.cast_at);
    Sums::of(plan)?
        .bind(query)
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
    Ok(())
}

//! A secret poll's batch (see `polling_core::domain::secrecy`): the
//! participations in `secret_voters`, the ballots in `secret_ballots`, in
//! the batch's transaction, with nothing linking the two.

use std::collections::{HashMap, HashSet};

use polling_core::domain::VoterHash;
use polling_core::store_kit::Plan;
use polling_core::{Ballot, Poll, Result, Tally, VoterId};

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
    let hashes: HashMap<VoterHash, &VoterId> = ballots
        .iter()
        .map(|b| (VoterHash::of(poll.id, b.voter()), b.voter()))
        .collect();
    let keys: Vec<&[u8]> = hashes.keys().map(|h| h.as_bytes().as_slice()).collect();
    let found: Vec<Vec<u8>> = sqlx::query_scalar(PARTICIPATED)
        .bind(rows::uuid(poll.id))
        .bind(&keys)
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

/// Writes the plan of a secret poll's batch: participations sorted by hash,
/// ballots sorted by their random keys, so neither row order follows the
/// order the batch decided them in.
pub(super) async fn record(
    tx: &mut sqlx::PgTransaction<'_>,
    id: uuid::Uuid,
    plan: &Plan,
) -> Result<()> {
    let poll_id = polling_core::PollId::from_uuid(id);
    let mut voters: Vec<VoterHash> = plan
        .new_ballots
        .iter()
        .map(|(voter, _)| VoterHash::of(poll_id, voter))
        .collect();
    voters.sort_unstable();
    let voters: Vec<&[u8]> = voters.iter().map(|h| h.as_bytes().as_slice()).collect();
    let mut ballots: Vec<(uuid::Uuid, String)> = plan
        .new_ballots
        .iter()
        .map(|(_, receipt)| (uuid::Uuid::new_v4(), listed_marks(&receipt.marks)))
        .collect();
    ballots.sort_unstable();
    let (keys, marks): (Vec<uuid::Uuid>, Vec<String>) = ballots.into_iter().unzip();
    let sums = Sums::of(plan)?;
    sqlx::query(RECORD)
        .bind(id)
        .bind(&voters)
        .bind(&keys)
        .bind(&marks)
        .bind(plan.cast_at)
        .bind(sums.version)
        .bind(sums.total)
        .bind(&sums.votes)
        .bind(&sums.pairwise)
        .bind(&sums.rankings)
        .bind(&sums.ranked_ballots)
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
    Ok(())
}

//! [`cast_batch`]: one transaction recording a batch of ballots on one poll.

use std::collections::HashMap;

use polling_core::store_kit::{batch_failure, Eligible, LiveBallots, Plan};
use polling_core::{Ballot, CastOutcome, PollError, PollId, Result, VoteReceipt, VoterId};
use serde_json::{json, Value};

use crate::database::Database;
use crate::error::unavailable;
use crate::rows;

/// The poll with its current sums and, for a ranked poll, its rankings, read
/// under the write lock (`BEGIN IMMEDIATE`), so nobody changes them until
/// the batch commits.
const LOCKED_POLL: &str = concat!(
    "SELECT ",
    poll_columns!(),
    ", ",
    tally_columns!(),
    ", ",
    rankings_column!(),
    " FROM polls WHERE id = ?1"
);

/// The batch voters' earlier ballots: one primary-key lookup per voter of
/// the batch (`?2`, a JSON array of voter ids), whatever the poll holds.
const EARLIER_BALLOTS: &str = "SELECT voter_id, marks, cast_at, version FROM ballots \
     WHERE poll_id = ?1 AND voter_id IN (SELECT value FROM json_each(?2))";

/// The batch's new and changed ballots (`?2`, a JSON array of
/// `[voter, hex marks, version]`), each found through the primary key as
/// the conflict arbiter. (`WHERE true` keeps `ON CONFLICT` from being read
/// as a join's `ON`.)
const RECORD_BALLOTS: &str = "INSERT INTO ballots (poll_id, voter_id, marks, cast_at, version) \
     SELECT ?1, b.value ->> 0, unhex(b.value ->> 1), ?3, b.value ->> 2 FROM json_each(?2) AS b \
     WHERE true \
     ON CONFLICT (poll_id, voter_id) DO UPDATE \
        SET marks = excluded.marks, cast_at = excluded.cast_at, version = excluded.version";

/// The rankings whose count changed (`?2`, a JSON array of
/// `[ranking, ballots]`): set where some ballots hold them.
const SET_RANKINGS: &str = "INSERT INTO rankings (poll_id, ranking, ballots) \
     SELECT ?1, r.value ->> 0, r.value ->> 1 FROM json_each(?2) AS r WHERE r.value ->> 1 > 0 \
     ON CONFLICT (poll_id, ranking) DO UPDATE SET ballots = excluded.ballots";

/// ... and deleted where none do.
const UNSET_RANKINGS: &str = "DELETE FROM rankings WHERE poll_id = ?1 AND ranking IN \
     (SELECT r.value ->> 0 FROM json_each(?2) AS r WHERE r.value ->> 1 = 0)";

const SET_SUMS: &str =
    "UPDATE polls SET version = ?2, total = ?3, votes = ?4, pairwise = ?5 WHERE id = ?1";

/// Records `ballots` (all for `poll_id`) in one transaction and returns one
/// outcome per ballot, in order.
///
/// Each ballot is decided as if cast alone (see [`Plan::decide`]); the
/// outcomes are returned only once the transaction has committed (with
/// `synchronous = FULL`, once its log is on disk), so an acknowledged vote
/// is durable. If the transaction fails, every ballot of the batch gets the
/// same `Unavailable` error and none of them was recorded.
pub(crate) async fn cast_batch(
    database: &Database,
    poll_id: PollId,
    ballots: &[Ballot],
) -> Vec<Result<CastOutcome>> {
    match try_cast_batch(database, poll_id, ballots).await {
        Ok(outcomes) => outcomes,
        Err(error) => batch_failure(error, ballots.len()),
    }
}

async fn try_cast_batch(
    database: &Database,
    poll_id: PollId,
    ballots: &[Ballot],
) -> Result<Vec<Result<CastOutcome>>> {
    let id = rows::id(poll_id);
    let mut write = database.write().await?;
    let tx = &mut write.tx;

    let Some(row) = sqlx::query(LOCKED_POLL)
        .bind(&id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(unavailable)?
    else {
        return Ok(ballots.iter().map(|_| Err(PollError::NotFound)).collect());
    };
    let poll = rows::poll(&row)?;
    let (tally, version) = rows::tally(poll.method, &row, rows::rankings(&row)?)?;

    // The wait for the write lock may have taken long: a ballot whose caller
    // gave up meanwhile (answered as a failure) is left out, so no later
    // commit contradicts that answer.
    let live = LiveBallots::of(ballots);
    if live.is_empty() {
        return Ok(live.outcomes(Vec::new()));
    }

    // Invite-only polls take only their invites' voters, checked under the
    // write lock, which a revocation takes too.
    let invited = crate::invites::valid_voters(tx, &poll, live.ballots()).await?;
    let eligible = Eligible::of(&poll, live.ballots(), |voter| invited.contains(voter));

    if poll.secret {
        let plan = super::secret::decide(tx, &poll, tally, version, eligible.ballots()).await?;
        if plan.writes() {
            super::secret::record(tx, poll_id, &plan).await?;
            record_sums(tx, &id, &plan).await?;
        }
        write.tx.commit().await.map_err(unavailable)?;
        return Ok(live.outcomes(eligible.outcomes(plan.outcomes)));
    }

    let voters: Vec<&str> = eligible
        .ballots()
        .iter()
        .map(|b| b.voter().as_str())
        .collect();
    let earlier = sqlx::query(EARLIER_BALLOTS)
        .bind(&id)
        .bind(Value::from(voters).to_string())
        .fetch_all(&mut **tx)
        .await
        .map_err(unavailable)?
        .iter()
        .map(|row| rows::ballot(poll_id, poll.method, row))
        .collect::<Result<HashMap<VoterId, _>>>()?;

    let plan = Plan::decide(
        &poll,
        tally,
        version,
        earlier,
        eligible.ballots(),
        polling_core::now(),
    );
    if plan.writes() {
        record(tx, &id, &plan).await?;
    }
    write.tx.commit().await.map_err(unavailable)?;
    Ok(live.outcomes(eligible.outcomes(plan.outcomes)))
}

async fn record(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    id: &str,
    plan: &Plan,
) -> Result<()> {
    let ballots = plan
        .new_ballots
        .iter()
        .chain(&plan.changed_ballots)
        .map(|(voter, receipt): &(VoterId, VoteReceipt)| {
            Ok(json!([
                voter.as_str(),
                hex(&rows::marks_bytes(&receipt.marks)?),
                rows::to_i64(receipt.version)?
            ]))
        })
        .collect::<Result<Vec<Value>>>()?;
    sqlx::query(RECORD_BALLOTS)
        .bind(id)
        .bind(Value::from(ballots).to_string())
        .bind(rows::micros(plan.cast_at)?)
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
    record_sums(tx, id, plan).await
}

/// Writes what a batch changed beside its ballots: the rankings whose count
/// changed and the poll's sums (the same for a secret poll's batch).
pub(super) async fn record_sums(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    id: &str,
    plan: &Plan,
) -> Result<()> {
    if !plan.touched_rankings.is_empty() {
        let rankings = plan
            .touched_rankings
            .iter()
            .map(|ranking| {
                let ballots = rows::to_i64(plan.tally.ballots_ranking(ranking))?;
                Ok(json!([rows::ranking_key(ranking), ballots]))
            })
            .collect::<Result<Vec<Value>>>()?;
        let rankings = Value::from(rankings).to_string();
        for statement in [SET_RANKINGS, UNSET_RANKINGS] {
            sqlx::query(statement)
                .bind(id)
                .bind(&rankings)
                .execute(&mut **tx)
                .await
                .map_err(unavailable)?;
        }
    }

    sqlx::query(SET_SUMS)
        .bind(id)
        .bind(rows::to_i64(plan.results.version)?)
        .bind(rows::to_i64(plan.results.total)?)
        .bind(rows::json_array(plan.tally.counts()))
        .bind(rows::json_array(plan.tally.pairwise()))
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
    Ok(())
}

/// `bytes` in lowercase hexadecimal, as SQLite's `unhex` reads it.
pub(super) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

//! [`cast_batch`]: one transaction recording a batch of ballots on one poll.

use std::collections::HashMap;

use polling_core::store_kit::{batch_failure, Eligible, LiveBallots, Plan};
use polling_core::{Ballot, CastOutcome, Method, PollError, PollId, Result, VoterId};
use sqlx::PgPool;

use crate::error::unavailable;
use crate::rows;

/// Starts the batch's transaction with generic plans for its statements, in
/// the same round trip. Every statement here names one poll, so a generic
/// plan reads one partition of `ballots` (the others removed when it starts)
/// and costs what its batch costs (`bounded_cost.rs`); under the default
/// `plan_cache_mode`, PostgreSQL would plan them again on every batch (the
/// generic plan of a partitioned table is costed with every partition),
/// inside the poll's row lock, which every writer of the poll waits for.
const BEGIN: &str = "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan";

/// Locks the poll row, so every writer of this poll in every replica waits its
/// turn, and reads the poll with its current counts. `NO KEY UPDATE` is the
/// lock the batch's own `UPDATE polls` takes: writers and deletes still
/// exclude each other, but the foreign-key checks of ballots being inserted
/// (`KEY SHARE`) do not wait for it.
const LOCK_POLL: &str = concat!(
    "SELECT ",
    poll_columns!(),
    ", ",
    tally_columns!(),
    " FROM polls WHERE id = $1 FOR NO KEY UPDATE"
);

/// A ranked poll's rankings, read after the lock (a subquery of the locking
/// read would see them as of before the wait), so they agree with the
/// poll row's counts. One row per distinct ranking, however many ballots.
const RANKINGS: &str = concat!("SELECT ", rankings_columns!(), " FROM polls WHERE id = $1");

/// The batch voters' earlier ballots. A separate statement after the lock, so
/// it sees every ballot committed before the lock was granted.
///
/// One primary-key lookup per voter of the batch, whatever the planner knows:
/// the `OFFSET 0` keeps the lateral subquery from being flattened into a join,
/// which a plan made without statistics (a new poll, no `ANALYZE`) or a cached
/// generic plan could run as a scan of the poll's ballots. Its cost is bounded
/// by the batch, not by the poll.
pub(super) const EARLIER_BALLOTS: &str = "SELECT b.voter_id, b.choices, b.cast_at, b.version \
       FROM unnest($2::text[]) AS v(voter_id) \
       CROSS JOIN LATERAL ( \
         SELECT voter_id, choices, cast_at, version FROM ballots \
          WHERE poll_id = $1 AND voter_id = v.voter_id OFFSET 0 \
       ) AS b";

/// The batch's new and changed ballots, the rankings whose count changed
/// (ranked polls: set where some ballots hold them, deleted where none do)
/// and the poll's sums, in one statement. A changed ballot finds its row
/// through the primary key as the conflict arbiter, never through a join the
/// planner could turn into a scan of the poll's ballots. Each voter appears
/// once (see [`Plan::decide`]), and the poll row lock makes the plan's
/// new-or-changed decision hold.
pub(super) const RECORD: &str = concat!(
    "WITH recorded AS ( \
         INSERT INTO ballots (poll_id, voter_id, choices, cast_at, version) \
         SELECT $1, b.voter_id, string_to_array(b.choices, ',')::integer[], $4, b.version \
           FROM unnest($2::text[], $3::text[], $5::bigint[]) AS b(voter_id, choices, version) \
         ON CONFLICT (poll_id, voter_id) DO UPDATE \
            SET choices = EXCLUDED.choices, cast_at = EXCLUDED.cast_at, version = EXCLUDED.version \
     ), ",
    record_sums!()
);

/// Records `ballots` (all for `poll_id`) in one transaction and returns one
/// outcome per ballot, in order.
///
/// Each ballot is decided as if cast alone (see [`Plan::decide`]); the
/// outcomes are returned only once the transaction has committed, so an
/// acknowledged vote is durable. If the transaction fails, every ballot of the
/// batch gets the same `Unavailable` error and none of them was recorded.
pub(crate) async fn cast_batch(
    pool: &PgPool,
    poll_id: PollId,
    ballots: &[Ballot],
) -> Vec<Result<CastOutcome>> {
    match try_cast_batch(pool, poll_id, ballots).await {
        Ok(outcomes) => outcomes,
        Err(error) => batch_failure(error, ballots.len()),
    }
}

async fn try_cast_batch(
    pool: &PgPool,
    poll_id: PollId,
    ballots: &[Ballot],
) -> Result<Vec<Result<CastOutcome>>> {
    let id = rows::uuid(poll_id);
    let mut tx = pool.begin_with(BEGIN).await.map_err(unavailable)?;

    let Some(row) = sqlx::query(LOCK_POLL)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(unavailable)?
    else {
        return Ok(ballots.iter().map(|_| Err(PollError::NotFound)).collect());
    };
    let poll = rows::poll(&row)?;
    let rankings = match poll.method {
        Method::Ranked => {
            let row = sqlx::query(RANKINGS)
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .map_err(unavailable)?;
            rows::rankings(&row)?
        }
        _ => Vec::new(),
    };
    let (tally, version) = rows::tally(poll.method, &row, rankings)?;

    // The lock may have taken long: a ballot whose caller gave up meanwhile
    // (answered as a failure) is left out, so no later commit contradicts
    // that answer.
    let live = LiveBallots::of(ballots);
    if live.is_empty() {
        return Ok(live.outcomes(Vec::new()));
    }

    // Invite-only polls take only their invites' voters, checked after the
    // lock: a revocation of the poll takes it too, so none commits between
    // this check and the batch's commit.
    let invited = crate::invites::valid_voters(&mut tx, &poll, live.ballots()).await?;
    let eligible = Eligible::of(&poll, live.ballots(), |voter| invited.contains(voter));

    if poll.secret {
        let plan =
            super::secret::decide(&mut tx, &poll, tally, version, eligible.ballots()).await?;
        if plan.writes() {
            super::secret::record(&mut tx, id, &plan).await?;
        }
        tx.commit().await.map_err(unavailable)?;
        return Ok(live.outcomes(eligible.outcomes(plan.outcomes)));
    }

    let voters: Vec<&str> = eligible
        .ballots()
        .iter()
        .map(|b| b.voter().as_str())
        .collect();
    let earlier = sqlx::query(EARLIER_BALLOTS)
        .bind(id)
        .bind(&voters)
        .fetch_all(&mut *tx)
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
        record(&mut tx, id, &plan).await?;
    }
    tx.commit().await.map_err(unavailable)?;
    Ok(live.outcomes(eligible.outcomes(plan.outcomes)))
}

async fn record(tx: &mut sqlx::PgTransaction<'_>, id: uuid::Uuid, plan: &Plan) -> Result<()> {
    let ballots = Columns::of(plan.new_ballots.iter().chain(&plan.changed_ballots))?;
    let query = sqlx::query(RECORD)
        .bind(id)
        .bind(&ballots.voters)
        .bind(&ballots.choices)
        .bind(plan.cast_at)
        .bind(&ballots.versions);
    Sums::of(plan)?
        .bind(query)
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
    Ok(())
}

/// What a batch writes to the poll row and `rankings`, as the columns take
/// it: the same for a secret poll's batch.
pub(super) struct Sums {
    version: i64,
    total: i64,
    votes: Vec<i64>,
    pairwise: Vec<i64>,
    /// The rankings whose count changed, each comma-separated ...
    rankings: Vec<String>,
    /// ... and how many ballots hold each now (0: delete its row).
    ranked_ballots: Vec<i64>,
}

impl Sums {
    pub(super) fn of(plan: &Plan) -> Result<Self> {
        let sums = |values: &[u64]| {
            values
                .iter()
                .map(|&n| rows::to_i64(n))
                .collect::<Result<Vec<_>>>()
        };
        let (mut rankings, mut ranked_ballots) = (Vec::new(), Vec::new());
        for ranking in &plan.touched_rankings {
            rankings.push(rows::ranking_key(ranking));
            ranked_ballots.push(rows::to_i64(plan.tally.ballots_ranking(ranking))?);
        }
        Ok(Self {
            version: rows::to_i64(plan.results.version)?,
            total: rows::to_i64(plan.results.total)?,
            votes: sums(plan.tally.counts())?,
            pairwise: sums(plan.tally.pairwise())?,
            rankings,
            ranked_ballots,
        })
    }

    /// Binds the sums as `$6` to `$11` of [`record_sums!`], after the five
    /// parameters of the batch's ballots `query` binds.
    pub(super) fn bind(
        self,
        query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
        query
            .bind(self.version)
            .bind(self.total)
            .bind(self.votes)
            .bind(self.pairwise)
            .bind(self.rankings)
            .bind(self.ranked_ballots)
    }
}

/// `marks` as integers, comma-separated, as `string_to_array` reads them.
pub(super) fn listed_marks(marks: &polling_core::Marks) -> String {
    let listed: Vec<String> = marks
        .to_integers()
        .iter()
        .map(ToString::to_string)
        .collect();
    listed.join(",")
}

/// Ballot rows as the parallel arrays `unnest` takes.
struct Columns<'a> {
    voters: Vec<&'a str>,
    /// Each ballot's marks as integers, comma-separated.
    choices: Vec<String>,
    versions: Vec<i64>,
}

impl<'a> Columns<'a> {
    fn of(ballots: impl Iterator<Item = &'a (VoterId, polling_core::VoteReceipt)>) -> Result<Self> {
        let mut columns = Self {
            voters: Vec::new(),
            choices: Vec::new(),
            versions: Vec::new(),
        };
        for (voter, receipt) in ballots {
            columns.voters.push(voter.as_str());
            columns.choices.push(listed_marks(&receipt.marks));
            columns.versions.push(rows::to_i64(receipt.version)?);
        }
        Ok(columns)
    }
}

//! [`SqlitePollStore`]: the [`PollStore`] on SQLite.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use polling_core::domain::VoterHash;
use polling_core::{
    AnonymousBallot, Ballot, BallotStream, CastOutcome, Invite, Method, Page, Poll, PollError,
    PollId, PollStore, Result, Results, VoteReceipt, VoterId,
};
use sqlx::{Row, SqlitePool};
use time::OffsetDateTime;

use crate::cast::{CastMode, Caster};
use crate::database::Database;
use crate::error::unavailable;
use crate::rows;

const INSERT_POLL: &str = "INSERT INTO polls (id, question, options, method, multiple, \
     max_choices, closes_at, closed_at, created_at, manage_token_hash, visibility, \
     allow_vote_change, votes, pairwise, eligibility, secret) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";

const GET_POLL: &str = concat!("SELECT ", poll_columns!(), " FROM polls WHERE id = ?1");

const LIST_POLLS: &str = concat!(
    "SELECT ",
    poll_columns!(),
    " FROM polls WHERE ?2 IS NULL OR id < ?2 ORDER BY id DESC LIMIT ?1"
);

const CLOSE_POLL: &str = concat!(
    "UPDATE polls SET closed_at = COALESCE(closed_at, ?2) WHERE id = ?1 RETURNING ",
    poll_columns!()
);

/// Its ballots and rankings go with it (`ON DELETE CASCADE`, with foreign
/// keys on).
const DELETE_POLL: &str = "DELETE FROM polls WHERE id = ?1";

/// The voter's ballot, and whether the poll exists (a poll without the
/// voter's ballot gives a row of nulls; no poll, no row).
const GET_BALLOT: &str = "SELECT p.method, b.voter_id, b.marks, b.cast_at, b.version FROM polls p \
     LEFT JOIN ballots b ON b.poll_id = p.id AND b.voter_id = ?2 WHERE p.id = ?1";

/// Whether the voter holds a ballot (`?2`, the voter id) or, in a secret
/// poll, a participation (`?3`, their keyed hash); no row for no poll.
const HAS_VOTED: &str =
    "SELECT EXISTS (SELECT 1 FROM ballots WHERE poll_id = ?1 AND voter_id = ?2) \
     OR EXISTS (SELECT 1 FROM secret_voters WHERE poll_id = ?1 AND voter_hash = ?3) AS voted \
     FROM polls WHERE id = ?1";

/// The sums, and the rankings of a ranked poll, in one statement: one snapshot.
const GET_RESULTS: &str = concat!(
    "SELECT method, ",
    tally_columns!(),
    ", ",
    rankings_column!(),
    " FROM polls WHERE id = ?1"
);

/// Polls and ballots in SQLite, through a sqlx [`SqlitePool`].
///
/// Open the pool with [`SqliteConfig::connect`](crate::SqliteConfig::connect)
/// (write-ahead log, busy timeout, foreign keys on) and run
/// [`migrate`](crate::migrate) on it first. Cheap to clone: clones share the
/// pool, the vote writers and the turns writers take. See the [crate
/// example](crate#example).
///
/// One process per database file: the store is correct with several (every
/// write takes SQLite's write lock and reads what it changes under it), but
/// each process's results cache and broadcaster would only see its own votes.
#[derive(Clone, Debug)]
pub struct SqlitePollStore {
    /// The pool, and the turns this process's writers take.
    database: Database,
    /// Records ballots, alone or in batches.
    caster: Caster,
}

impl SqlitePollStore {
    /// A store on `pool`, coalescing concurrent ballots ([`CastMode::default`]).
    pub fn new(pool: SqlitePool) -> Self {
        Self::with_cast_mode(pool, CastMode::default())
    }

    /// A store on `pool` that casts ballots as `mode` says.
    pub fn with_cast_mode(pool: SqlitePool, mode: CastMode) -> Self {
        let database = Database::new(pool);
        Self {
            caster: Caster::new(database.clone(), mode),
            database,
        }
    }

    /// The pool this store queries.
    pub fn pool(&self) -> &SqlitePool {
        &self.database.pool
    }
}

#[async_trait]
impl PollStore for SqlitePollStore {
    async fn create(&self, poll: &Poll) -> Result<()> {
        let options: Vec<&str> = poll.options.iter().map(|o| o.text.as_str()).collect();
        let n = poll.options.len();
        let pairwise = match poll.method {
            Method::Star => vec![0; n * n],
            _ => Vec::new(),
        };
        let options = serde_json::to_string(&options)
            .map_err(|_| PollError::unavailable("options that are not JSON"))?;
        let closes_at = poll.closes_at.map(rows::micros).transpose()?;
        let closed_at = poll.closed_at.map(rows::micros).transpose()?;
        let _turn = self.database.turn().await;
        sqlx::query(INSERT_POLL)
            .bind(rows::id(poll.id))
            .bind(&poll.question)
            .bind(options)
            .bind(poll.method.as_str())
            .bind(poll.multiple)
            .bind(i64::from(poll.max_choices))
            .bind(closes_at)
            .bind(closed_at)
            .bind(rows::micros(poll.created_at)?)
            .bind(poll.manage_token_hash.as_str())
            .bind(poll.visibility.as_str())
            .bind(poll.allow_vote_change)
            .bind(rows::json_array(&vec![0; n]))
            .bind(rows::json_array(&pairwise))
            .bind(poll.eligibility.as_str())
            .bind(poll.secret)
            .execute(self.pool())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get(&self, id: PollId) -> Result<Poll> {
        let row = sqlx::query(GET_POLL)
            .bind(rows::id(id))
            .fetch_optional(self.pool())
            .await
            .map_err(unavailable)?
            .ok_or(PollError::NotFound)?;
        rows::poll(&row)
    }

    async fn list(&self, limit: usize, before: Option<PollId>) -> Result<Page> {
        // One more than asked tells whether there is a next page.
        let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
        let mut polls = sqlx::query(LIST_POLLS)
            .bind(fetch)
            .bind(before.map(rows::id))
            .fetch_all(self.pool())
            .await
            .map_err(unavailable)?
            .iter()
            .map(rows::poll)
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = if polls.len() > limit {
            polls.truncate(limit);
            polls.last().map(|p| p.id)
        } else {
            None
        };
        Ok(Page { polls, next_cursor })
    }

    async fn close(&self, id: PollId, at: OffsetDateTime) -> Result<Poll> {
        let at = rows::micros(at)?;
        let _turn = self.database.turn().await;
        let row = sqlx::query(CLOSE_POLL)
            .bind(rows::id(id))
            .bind(at)
            .fetch_optional(self.pool())
            .await
            .map_err(unavailable)?
            .ok_or(PollError::NotFound)?;
        rows::poll(&row)
    }

    async fn delete(&self, id: PollId) -> Result<()> {
        let _turn = self.database.turn().await;
        let deleted = sqlx::query(DELETE_POLL)
            .bind(rows::id(id))
            .execute(self.pool())
            .await
            .map_err(unavailable)?;
        if deleted.rows_affected() == 0 {
            return Err(PollError::NotFound);
        }
        Ok(())
    }

    async fn cast(&self, ballot: &Ballot) -> Result<CastOutcome> {
        self.caster.cast(ballot).await
    }

    async fn ballot(&self, poll: PollId, voter: &VoterId) -> Result<Option<VoteReceipt>> {
        let row = sqlx::query(GET_BALLOT)
            .bind(rows::id(poll))
            .bind(voter.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(unavailable)?
            .ok_or(PollError::NotFound)?;
        let voted: Option<String> = row.try_get("voter_id").map_err(unavailable)?;
        match voted {
            None => Ok(None),
            Some(_) => rows::ballot(poll, rows::method(&row)?, &row).map(|(_, r)| Some(r)),
        }
    }

    async fn has_voted(&self, poll: PollId, voter: &VoterId) -> Result<bool> {
        let hash = VoterHash::of(poll, voter);
        sqlx::query_scalar(HAS_VOTED)
            .bind(rows::id(poll))
            .bind(voter.as_str())
            .bind(hash.as_bytes().as_slice())
            .fetch_optional(self.pool())
            .await
            .map_err(unavailable)?
            .ok_or(PollError::NotFound)
    }

    async fn results(&self, id: PollId) -> Result<Results> {
        let row = sqlx::query(GET_RESULTS)
            .bind(rows::id(id))
            .fetch_optional(self.pool())
            .await
            .map_err(unavailable)?
            .ok_or(PollError::NotFound)?;
        let method = rows::method(&row)?;
        let (tally, version) = rows::tally(method, &row, rows::rankings(&row)?)?;
        Ok(tally.results(id, version))
    }

    async fn ballots(&self, id: PollId) -> Result<Vec<AnonymousBallot>> {
        self.ballot_stream(id).await?.try_collect().await
    }

    async fn ballot_stream(&self, id: PollId) -> Result<BallotStream> {
        crate::ballot_rows::ballot_stream(self.pool(), id).await
    }

    async fn add_invites(&self, poll: PollId, invites: &[Invite]) -> Result<()> {
        crate::invites::add(&self.database, poll, invites).await
    }

    async fn invites(&self, poll: PollId) -> Result<Vec<Invite>> {
        crate::invites::list(&self.database, poll).await
    }

    async fn revoke_invite(
        &self,
        poll: PollId,
        voter: &VoterId,
        at: OffsetDateTime,
    ) -> Result<Invite> {
        crate::invites::revoke(&self.database, poll, voter, at).await
    }
}

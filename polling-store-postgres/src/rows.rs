//! Rows to domain values, and domain values to column types.

use polling_core::{
    AnonymousBallot, Eligibility, Marks, Method, OptionId, Poll, PollId, PollOption, Tally,
    TokenHash, Visibility, VoteReceipt, VoterId,
};
use sqlx::postgres::PgRow;
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{corrupt, unavailable};
use polling_core::Result;

/// The columns [`poll`] reads, as a literal for `concat!`.
macro_rules! poll_columns {
    () => {
        "id, question, options, method, multiple, max_choices, closes_at, closed_at, \
         created_at, manage_token_hash, visibility, allow_vote_change, eligibility, secret"
    };
}

/// The columns [`tally`] reads, as a literal for `concat!`.
macro_rules! tally_columns {
    () => {
        "version, total, votes, pairwise"
    };
}

/// A ranked poll's rankings as two columns [`tally`] reads, `rankings`
/// (each one comma-separated) and `ranked_ballots`, from a subquery on
/// `polls.id`, as a literal for `concat!`: one statement reads them with
/// the poll row, so both come from the same snapshot.
macro_rules! rankings_columns {
    () => {
        "(SELECT array_agg(array_to_string(r.ranking, ',')) FROM rankings r \
           WHERE r.poll_id = polls.id) AS rankings, \
         (SELECT array_agg(r.ballots) FROM rankings r WHERE r.poll_id = polls.id) \
           AS ranked_ballots"
    };
}

/// A poll from a row with [`POLL_COLUMNS`].
pub(crate) fn poll(row: &PgRow) -> Result<Poll> {
    let texts: Vec<String> = get(row, "options")?;
    let options = texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let id = u32::try_from(i).map_err(|_| corrupt("too many options"))?;
            Ok(PollOption {
                id: OptionId::new(id),
                text,
            })
        })
        .collect::<Result<_>>()?;
    let max_choices: i32 = get(row, "max_choices")?;
    let visibility: String = get(row, "visibility")?;
    let eligibility: String = get(row, "eligibility")?;
    Ok(Poll {
        method: method(row)?,
        id: PollId::from_uuid(get(row, "id")?),
        question: get(row, "question")?,
        options,
        multiple: get(row, "multiple")?,
        max_choices: u32::try_from(max_choices).map_err(|_| corrupt("negative max_choices"))?,
        closes_at: get(row, "closes_at")?,
        closed_at: get(row, "closed_at")?,
        created_at: get(row, "created_at")?,
        manage_token_hash: TokenHash::from_stored(get::<String>(row, "manage_token_hash")?),
        visibility: Visibility::from_name(&visibility).ok_or_else(|| corrupt("visibility"))?,
        allow_vote_change: get(row, "allow_vote_change")?,
        eligibility: Eligibility::from_name(&eligibility).ok_or_else(|| corrupt("eligibility"))?,
        secret: get(row, "secret")?,
    })
}

/// The method in a row's `method` column.
pub(crate) fn method(row: &PgRow) -> Result<Method> {
    let name: String = get(row, "method")?;
    Method::from_name(&name).ok_or_else(|| corrupt("method"))
}

/// A `method` poll's tally and version, from the [`tally_columns`] of `row`
/// and the poll's `rankings` (ranked polls; see [`rankings`]).
pub(crate) fn tally(
    method: Method,
    row: &PgRow,
    rankings: Vec<(Vec<OptionId>, u64)>,
) -> Result<(Tally, u64)> {
    let counts = get::<Vec<i64>>(row, "votes")?
        .into_iter()
        .map(to_u64)
        .collect::<Result<Vec<_>>>()?;
    let pairwise = get::<Vec<i64>>(row, "pairwise")?
        .into_iter()
        .map(to_u64)
        .collect::<Result<Vec<_>>>()?;
    let total = to_u64(get(row, "total")?)?;
    let tally = Tally::from_parts(method, total, counts, pairwise, rankings);
    Ok((tally, to_u64(get(row, "version")?)?))
}

/// The rankings and their ballots from a row with the
/// [`rankings_columns`] (NULL for none).
pub(crate) fn rankings(row: &PgRow) -> Result<Vec<(Vec<OptionId>, u64)>> {
    let keys: Option<Vec<String>> = get(row, "rankings")?;
    let ballots: Option<Vec<i64>> = get(row, "ranked_ballots")?;
    keys.unwrap_or_default()
        .iter()
        .zip(ballots.unwrap_or_default())
        .map(|(key, n)| Ok((ranking_of(key)?, to_u64(n)?)))
        .collect()
}

/// A ranking written as its comma-separated option ids.
pub(crate) fn ranking_key(ranking: &[OptionId]) -> String {
    let ids: Vec<String> = ranking.iter().map(ToString::to_string).collect();
    ids.join(",")
}

fn ranking_of(key: &str) -> Result<Vec<OptionId>> {
    key.split(',')
        .map(|id| id.parse::<u32>().map(OptionId::new))
        .collect::<Result<_, _>>()
        .map_err(|_| corrupt("a ranking"))
}

/// A stored ballot of a `method` poll: its voter and its receipt.
pub(crate) fn ballot(
    poll_id: PollId,
    method: Method,
    row: &PgRow,
) -> Result<(VoterId, VoteReceipt)> {
    let voter: String = get(row, "voter_id")?;
    let voter = VoterId::try_from(voter).map_err(|_| corrupt("voter id"))?;
    let marks = marks(method, get(row, "choices")?)?;
    let cast_at: OffsetDateTime = get(row, "cast_at")?;
    let receipt = VoteReceipt {
        poll_id,
        marks,
        cast_at,
        version: to_u64(get(row, "version")?)?,
    };
    Ok((voter, receipt))
}

/// An anonymous ballot of a `method` poll from `choices` and `cast_at`;
/// `None` for the row of a poll without ballots (both NULL).
pub(crate) fn anonymous_ballot(method: Method, row: &PgRow) -> Result<Option<AnonymousBallot>> {
    let choices: Option<Vec<i32>> = get(row, "choices")?;
    let cast_at: Option<OffsetDateTime> = get(row, "cast_at")?;
    let (Some(choices), Some(cast_at)) = (choices, cast_at) else {
        return Ok(None);
    };
    Ok(Some(AnonymousBallot::new(marks(method, choices)?, cast_at)))
}

/// The marks a ballot row's `choices` hold.
fn marks(method: Method, integers: Vec<i32>) -> Result<Marks> {
    Marks::from_integers(method, &integers).map_err(|_| corrupt("the marks of a ballot"))
}

/// The poll id as the `uuid` column takes it.
pub(crate) fn uuid(id: PollId) -> Uuid {
    *id.as_uuid()
}

/// A count or version as the `bigint` columns take it.
pub(crate) fn to_i64(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| corrupt("count beyond bigint"))
}

pub(crate) fn to_u64(n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| corrupt("negative count"))
}

fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).map_err(unavailable)
}

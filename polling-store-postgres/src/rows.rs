//! Rows to domain values, and domain values to column types.

use polling_core::{
    OptionCount, OptionId, Poll, PollId, PollOption, Results, TokenHash, Visibility, VoteReceipt,
    VoterId,
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
        "id, question, options, multiple, max_choices, closes_at, closed_at, created_at, \
         manage_token_hash, visibility, allow_vote_change"
    };
}

/// The columns [`results`] reads, as a literal for `concat!`.
macro_rules! results_columns {
    () => {
        "version, total, votes"
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
    Ok(Poll {
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
    })
}

/// Results from `version`, `total` and `votes` (the counts in option order).
pub(crate) fn results(poll_id: PollId, row: &PgRow) -> Result<Results> {
    let votes: Vec<i64> = get(row, "votes")?;
    let counts = votes
        .into_iter()
        .enumerate()
        .map(|(i, votes)| {
            Ok(OptionCount {
                option_id: OptionId::new(u32::try_from(i).map_err(|_| corrupt("option id"))?),
                votes: to_u64(votes)?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Results {
        poll_id,
        version: to_u64(get(row, "version")?)?,
        total: to_u64(get(row, "total")?)?,
        counts,
    })
}

/// A stored ballot: its voter and its receipt.
pub(crate) fn ballot(poll_id: PollId, row: &PgRow) -> Result<(VoterId, VoteReceipt)> {
    let voter: String = get(row, "voter_id")?;
    let voter = VoterId::try_from(voter).map_err(|_| corrupt("voter id"))?;
    let choices: Vec<i32> = get(row, "choices")?;
    let choices = choices
        .into_iter()
        .map(|c| u32::try_from(c).map(OptionId::new))
        .collect::<Result<_, _>>()
        .map_err(|_| corrupt("negative option id in a ballot"))?;
    let cast_at: OffsetDateTime = get(row, "cast_at")?;
    let receipt = VoteReceipt {
        poll_id,
        choices,
        cast_at,
        version: to_u64(get(row, "version")?)?,
    };
    Ok((voter, receipt))
}

/// The poll id as the `uuid` column takes it.
pub(crate) fn uuid(id: PollId) -> Uuid {
    *id.as_uuid()
}

/// A count or version as the `bigint` columns take it.
pub(crate) fn to_i64(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| corrupt("count beyond bigint"))
}

fn to_u64(n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| corrupt("negative count"))
}

fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).map_err(unavailable)
}

//! Rows to domain values, and domain values to the column types of the
//! schema (`migrations/`): times as microseconds, arrays as JSON, marks as
//! one byte each.

use polling_core::{
    AnonymousBallot, Eligibility, Marks, Method, OptionId, Poll, PollId, PollOption, Result, Tally,
    TokenHash, Visibility, VoteReceipt, VoterId,
};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use time::OffsetDateTime;

use crate::error::{corrupt, unavailable};

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

/// A ranked poll's rankings as one column [`rankings`] reads, a JSON array
/// of `[ranking, ballots]` from a subquery on `polls.id`, as a literal for
/// `concat!`: one statement reads them with the poll row, so both come from
/// the same snapshot.
macro_rules! rankings_column {
    () => {
        "(SELECT json_group_array(json_array(r.ranking, r.ballots)) FROM rankings r \
           WHERE r.poll_id = polls.id) AS rankings"
    };
}

/// A poll from a row with the [`poll_columns`].
pub(crate) fn poll(row: &SqliteRow) -> Result<Poll> {
    let texts: Vec<String> = json(&get::<String>(row, "options")?, "options")?;
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
    let max_choices: i64 = get(row, "max_choices")?;
    let visibility: String = get(row, "visibility")?;
    let eligibility: String = get(row, "eligibility")?;
    Ok(Poll {
        method: method(row)?,
        id: poll_id(&get::<String>(row, "id")?)?,
        question: get(row, "question")?,
        options,
        multiple: get(row, "multiple")?,
        max_choices: u32::try_from(max_choices).map_err(|_| corrupt("max_choices"))?,
        closes_at: get::<Option<i64>>(row, "closes_at")?
            .map(time)
            .transpose()?,
        closed_at: get::<Option<i64>>(row, "closed_at")?
            .map(time)
            .transpose()?,
        created_at: time(get(row, "created_at")?)?,
        manage_token_hash: TokenHash::from_stored(get::<String>(row, "manage_token_hash")?),
        visibility: Visibility::from_name(&visibility).ok_or_else(|| corrupt("visibility"))?,
        allow_vote_change: get(row, "allow_vote_change")?,
        eligibility: Eligibility::from_name(&eligibility).ok_or_else(|| corrupt("eligibility"))?,
        secret: get(row, "secret")?,
    })
}

/// The method in a row's `method` column.
pub(crate) fn method(row: &SqliteRow) -> Result<Method> {
    let name: String = get(row, "method")?;
    Method::from_name(&name).ok_or_else(|| corrupt("method"))
}

/// A `method` poll's tally and version, from the [`tally_columns`] of `row`
/// and the poll's `rankings` (ranked polls; see [`rankings`]).
pub(crate) fn tally(
    method: Method,
    row: &SqliteRow,
    rankings: Vec<(Vec<OptionId>, u64)>,
) -> Result<(Tally, u64)> {
    let counts: Vec<u64> = json(&get::<String>(row, "votes")?, "votes")?;
    let pairwise: Vec<u64> = json(&get::<String>(row, "pairwise")?, "pairwise")?;
    let total = to_u64(get(row, "total")?)?;
    let tally = Tally::from_parts(method, total, counts, pairwise, rankings);
    Ok((tally, to_u64(get(row, "version")?)?))
}

/// The rankings and their ballots from a row with the [`rankings_column`].
pub(crate) fn rankings(row: &SqliteRow) -> Result<Vec<(Vec<OptionId>, u64)>> {
    let pairs: Vec<(String, u64)> = json(&get::<String>(row, "rankings")?, "rankings")?;
    pairs
        .into_iter()
        .map(|(key, ballots)| Ok((ranking_of(&key)?, ballots)))
        .collect()
}

/// A ranking written as its comma-separated option ids, the `rankings` key.
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
    row: &SqliteRow,
) -> Result<(VoterId, VoteReceipt)> {
    let voter: String = get(row, "voter_id")?;
    let voter = VoterId::try_from(voter).map_err(|_| corrupt("voter id"))?;
    let receipt = VoteReceipt {
        poll_id,
        marks: marks(method, &get::<Vec<u8>>(row, "marks")?)?,
        cast_at: time(get(row, "cast_at")?)?,
        version: to_u64(get(row, "version")?)?,
    };
    Ok((voter, receipt))
}

/// An anonymous ballot of a `method` poll from a row's `marks` and `cast_at`.
pub(crate) fn anonymous_ballot(method: Method, row: &SqliteRow) -> Result<AnonymousBallot> {
    let marks = marks(method, &get::<Vec<u8>>(row, "marks")?)?;
    Ok(AnonymousBallot::new(marks, time(get(row, "cast_at")?)?))
}

/// The `marks` column of a ballot: one byte per mark, so that the bytes
/// sort as the marks do.
pub(crate) fn marks_bytes(marks: &Marks) -> Result<Vec<u8>> {
    marks
        .to_integers()
        .into_iter()
        .map(|n| u8::try_from(n).map_err(|_| corrupt(format!("the mark {n} is beyond a byte"))))
        .collect()
}

/// The marks a ballot row's `marks` hold.
fn marks(method: Method, bytes: &[u8]) -> Result<Marks> {
    let integers: Vec<i32> = bytes.iter().map(|&b| i32::from(b)).collect();
    Marks::from_integers(method, &integers).map_err(|_| corrupt("the marks of a ballot"))
}

/// The id column of a poll.
pub(crate) fn id(poll: PollId) -> String {
    poll.to_string()
}

fn poll_id(text: &str) -> Result<PollId> {
    text.parse().map_err(|_| corrupt("a poll id"))
}

/// A time as the INTEGER columns take it: microseconds since the epoch.
pub(crate) fn micros(t: OffsetDateTime) -> Result<i64> {
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000))
        .map_err(|_| corrupt("a time beyond 64-bit microseconds"))
}

/// A time column back, in UTC.
pub(crate) fn time(micros: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|_| corrupt("a time out of range"))
}

/// Sums as a JSON array for the `votes` and `pairwise` columns.
pub(crate) fn json_array(values: &[u64]) -> String {
    serde_json::to_string(values).unwrap_or_else(|_| "[]".to_owned())
}

fn json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|_| corrupt(what))
}

/// A count or version as the INTEGER columns take it.
pub(crate) fn to_i64(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| corrupt("count beyond 64 bits"))
}

pub(crate) fn to_u64(n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| corrupt("negative count"))
}

fn get<'r, T>(row: &'r SqliteRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(column).map_err(unavailable)
}

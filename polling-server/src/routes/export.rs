//! Exports for a poll's owner (`Authorization: Bearer <manage_token>`): the
//! results as CSV and JSON, and the anonymous ballots as CSV.

use futures_util::StreamExt;
use polling_core::{
    AnonymousBallot, BallotStream, ManageToken, Marks, Method, OptionId, Poll, RankedTally,
    Results, StarTally,
};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use warp::filters::BoxedFilter;
use warp::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::csv::Csv;
use super::polls::authorize;
use super::with_app;
use crate::app::App;
use crate::error::ApiError;
use crate::extract::bearer_token;
use crate::http::route;
use crate::http::streamed::{self, ChunkSender};
use crate::routes::views::PollView;

/// The media type of the CSV files (RFC 4180, with a header row).
pub(super) const CSV: &str = "text/csv; charset=utf-8; header=present";

pub(super) fn routes(app: &App) -> BoxedFilter<(Response,)> {
    let results_csv = route::on_poll(&route::EXPORT_RESULTS_CSV)
        .and(with_app(app))
        .and(bearer_token())
        .and_then(results_csv);
    let results_json = route::on_poll(&route::EXPORT_RESULTS_JSON)
        .and(with_app(app))
        .and(bearer_token())
        .and_then(results_json);
    let ballots_csv = route::on_poll(&route::EXPORT_BALLOTS_CSV)
        .and(with_app(app))
        .and(bearer_token())
        .and_then(ballots_csv);
    results_csv
        .or(results_json)
        .unify()
        .or(ballots_csv)
        .unify()
        .boxed()
}

/// The poll, if `token` manages it, and its results from the store (not the
/// cache: an export is the record).
async fn poll_and_results(
    app: &App,
    raw_id: &str,
    token: &ManageToken,
) -> Result<(Poll, Results), ApiError> {
    let poll = authorize(app, raw_id, token).await?;
    let results = app.parts.store.results(poll.id).await?;
    Ok((poll, results))
}

/// `option_id,option,votes`: one row per option, in option order.
async fn results_csv(raw_id: String, app: App, token: ManageToken) -> Result<Response, Rejection> {
    let (poll, results) = poll_and_results(&app, &raw_id, &token).await?;
    let mut csv = Csv::new();
    csv.row(["option_id", "option", "votes"]);
    for (option, count) in poll.options.iter().zip(&results.counts) {
        csv.row([
            option.id.to_string(),
            option.text.clone(),
            count.votes.to_string(),
        ]);
    }
    Ok(attachment(full(csv.finish()), CSV, &poll, "results.csv"))
}

/// The results as JSON (see the `ResultsExport` schema).
async fn results_json(raw_id: String, app: App, token: ManageToken) -> Result<Response, Rejection> {
    let (poll, results) = poll_and_results(&app, &raw_id, &token).await?;
    let now = polling_core::now();
    let export = ResultsExport {
        poll: PollView::new(&poll, now),
        version: results.version,
        total: results.total,
        counts: poll
            .options
            .iter()
            .zip(&results.counts)
            .map(|(option, count)| CountExport {
                option_id: option.id,
                option: &option.text,
                votes: count.votes,
            })
            .collect(),
        ranked: results.ranked.as_ref(),
        star: results.star.as_ref(),
        exported_at: now,
    };
    let body = serde_json::to_string_pretty(&export)
        .map_err(|e| ApiError::from(polling_core::PollError::unavailable(e)))?;
    Ok(attachment(
        full(body),
        "application/json",
        &poll,
        "results.json",
    ))
}

/// `cast_minute,option_ids,options` (`ranking` or `scores` in the middle
/// for those methods): one row per ballot, sorted by minute then marks; see
/// [`ballot_row`]. No voter ids, and no time finer than the minute.
///
/// Streamed: the rows are written as the store reads them, a chunk of about
/// [`CHUNK`] bytes at a time, so memory does not grow with the poll (the
/// body has no `Content-Length`). A store failure before the first ballot
/// is a 503; after it, the body ends abruptly (the connection is closed
/// before the last chunk), so a client never takes a partial file for the
/// whole.
async fn ballots_csv(raw_id: String, app: App, token: ManageToken) -> Result<Response, Rejection> {
    let poll = authorize(&app, &raw_id, &token).await?;
    let ballots = app
        .parts
        .store
        .ballot_stream(poll.id)
        .await
        .map_err(ApiError::from)?;
    let (chunks, body) = streamed::channel(CHUNKS_AHEAD);
    let response = warp::reply::stream(body).into_response();
    let response = attachment(response, CSV, &poll, "ballots.csv");
    tokio::spawn(write_ballots(poll, ballots, chunks));
    Ok(response)
}

/// About how many bytes of CSV go into one chunk of a streamed body.
const CHUNK: usize = 16 * 1024;

/// How many chunks wait for the client at most.
const CHUNKS_AHEAD: usize = 4;

/// Writes the rows of `ballots` into `chunks` until they end (the body is
/// finished), the store fails (the body fails) or the client goes away (the
/// store's stream is dropped too).
async fn write_ballots(poll: Poll, mut ballots: BallotStream, chunks: ChunkSender) {
    let mut csv = Csv::new();
    csv.row(ballots_header(&poll));
    while let Some(ballot) = ballots.next().await {
        match ballot {
            Ok(ballot) => csv.row(ballot_row(&poll, &ballot)),
            Err(error) => {
                tracing::warn!(poll = %poll.id, error = ?error, "the ballots export failed midway");
                chunks.fail(std::io::Error::other(error)).await;
                return;
            }
        }
        if csv.text_len() >= CHUNK {
            let chunk = std::mem::take(&mut csv).finish();
            if chunks.send(chunk.into()).await.is_err() {
                return;
            }
        }
    }
    if csv.text_len() > 0 && chunks.send(csv.finish().into()).await.is_err() {
        return;
    }
    chunks.finish().await;
}

/// The header of a poll's `ballots.csv`: its second column names the marks
/// of the poll's method.
fn ballots_header(poll: &Poll) -> [&'static str; 3] {
    let marks = match poll.method {
        Method::Plurality | Method::Approval => "option_ids",
        Method::Ranked => "ranking",
        Method::Star => "scores",
    };
    ["cast_minute", marks, "options"]
}

/// One ballot's row: the minute, the marks joined with `;` (chosen ids,
/// the ranking most preferred first, or a score per option) and the same
/// in words, joined with `; ` (`Tea: 5` for a score).
fn ballot_row(poll: &Poll, ballot: &AnonymousBallot) -> [String; 3] {
    let minute = ballot
        .cast_minute
        .format(&Rfc3339)
        .unwrap_or_else(|_| ballot.cast_minute.to_string());
    let text = |i: usize| poll.options.get(i).map_or("", |o| o.text.as_str());
    let (marks, words): (Vec<String>, Vec<String>) = match &ballot.marks {
        Marks::Choices(ids) | Marks::Ranking(ids) => ids
            .iter()
            .map(|id| (id.to_string(), text(id.index()).to_owned()))
            .unzip(),
        Marks::Scores(scores) => scores
            .iter()
            .enumerate()
            .map(|(i, score)| (score.to_string(), format!("{}: {score}", text(i))))
            .unzip(),
    };
    [minute, marks.join(";"), words.join("; ")]
}

/// `response` as a download named `poll-<id>-<name>`, never cached
/// (owner-only data).
pub(super) fn attachment(
    mut response: Response,
    media_type: &'static str,
    poll: &Poll,
    name: &str,
) -> Response {
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let disposition = format!("attachment; filename=\"poll-{}-{name}\"", poll.id);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    response
}

/// `body` as a whole response, for [`attachment`].
pub(super) fn full(body: String) -> Response {
    warp::reply::with_status(body, StatusCode::OK).into_response()
}

/// The JSON export of a poll's results.
#[derive(Debug, Serialize)]
struct ResultsExport<'a> {
    /// The poll, as `GET /api/polls/{id}` shows it.
    poll: PollView<'a>,
    /// The results version exported.
    version: u64,
    /// Ballots recorded.
    total: u64,
    /// One per option, in option order.
    counts: Vec<CountExport<'a>>,
    /// A ranked poll's instant runoff.
    #[serde(skip_serializing_if = "Option::is_none")]
    ranked: Option<&'a RankedTally>,
    /// A STAR poll's finalists, runoff and winner.
    #[serde(skip_serializing_if = "Option::is_none")]
    star: Option<&'a StarTally>,
    /// When the file was made.
    #[serde(with = "time::serde::rfc3339")]
    exported_at: OffsetDateTime,
}

/// One option's count, with its text.
#[derive(Debug, Serialize)]
struct CountExport<'a> {
    /// The option's id.
    option_id: OptionId,
    /// The option's text, so the file reads without the poll.
    option: &'a str,
    /// Ballots that chose it (approval: approved it; ranked: ranked it
    /// first; STAR: its score total).
    votes: u64,
}

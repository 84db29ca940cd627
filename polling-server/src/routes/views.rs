//! The JSON shapes of responses, mapped from domain types.
//!
//! Domain records are never serialized to clients directly: a [`Poll`] holds
//! its manage token's hash, which stays on the server.

use polling_core::{OptionId, Poll, PollOption, Results, Visibility, VoteReceipt};
use serde::Serialize;
use time::OffsetDateTime;

/// A poll as clients see it.
#[derive(Debug, Serialize)]
pub(crate) struct PollView<'a> {
    id: String,
    question: &'a str,
    options: &'a [PollOption],
    multiple: bool,
    max_choices: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    closes_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    closed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    /// `open` or `closed`, as of the response.
    status: &'static str,
    /// Who sees the counts, and when.
    visibility: Visibility,
    /// Whether a voter may replace their ballot while the poll is open.
    allow_vote_change: bool,
}

impl<'a> PollView<'a> {
    pub(crate) fn new(poll: &'a Poll, now: OffsetDateTime) -> Self {
        Self {
            id: poll.id.to_string(),
            question: &poll.question,
            options: &poll.options,
            multiple: poll.multiple,
            max_choices: poll.max_choices,
            closes_at: poll.closes_at,
            closed_at: poll.closed_at,
            created_at: poll.created_at,
            status: if poll.is_closed_at(now) {
                "closed"
            } else {
                "open"
            },
            visibility: poll.visibility,
            allow_vote_change: poll.allow_vote_change,
        }
    }
}

/// The answer to `POST /api/polls`: the poll and its manage token, shown once.
#[derive(Debug, Serialize)]
pub(crate) struct CreatedPoll<'a> {
    #[serde(flatten)]
    pub(crate) poll: PollView<'a>,
    pub(crate) manage_token: &'a str,
}

/// One page of `GET /api/polls`.
#[derive(Debug, Serialize)]
pub(crate) struct PollPage<'a> {
    pub(crate) polls: Vec<PollView<'a>>,
    pub(crate) next_cursor: Option<String>,
}

/// The answer to a vote.
#[derive(Debug, Serialize)]
pub(crate) struct VoteView<'a> {
    pub(crate) receipt: &'a VoteReceipt,
    /// `None` (JSON `null`) when the poll's visibility hides the counts from
    /// this voter (an `after_close` poll still open).
    pub(crate) results: Option<&'a Results>,
}

/// The body of `POST /api/polls/{id}/votes`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VoteRequest {
    /// The chosen option ids.
    pub(crate) choices: Vec<OptionId>,
}

//! The JSON shapes of responses, mapped from domain types.
//!
//! Domain records are never serialized to clients directly: a [`Poll`] holds
//! its manage token's hash, which stays on the server.

use polling_core::{
    Eligibility, Marks, Method, OptionId, Poll, PollOption, Results, Visibility, VoteReceipt,
};
use serde::Serialize;

use crate::error::ApiError;
use time::OffsetDateTime;

/// A poll as clients see it.
#[derive(Debug, Serialize)]
pub(crate) struct PollView<'a> {
    id: String,
    question: &'a str,
    options: &'a [PollOption],
    /// How ballots are marked and counted.
    method: Method,
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
    /// Who may vote: anyone, or the holders of its invite codes.
    eligibility: Eligibility,
    /// Whether the ballot is secret: who voted is kept apart from what
    /// they voted.
    secret: bool,
}

impl<'a> PollView<'a> {
    pub(crate) fn new(poll: &'a Poll, now: OffsetDateTime) -> Self {
        Self {
            id: poll.id.to_string(),
            question: &poll.question,
            options: &poll.options,
            method: poll.method,
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
            eligibility: poll.eligibility,
            secret: poll.secret,
        }
    }
}

/// The answer to `POST /api/polls`: the poll and its manage token, shown once.
#[derive(Debug, Serialize)]
pub(crate) struct CreatedPoll<'a> {
    #[serde(flatten)]
    pub(crate) poll: PollView<'a>,
    pub(crate) manage_token: &'a str,
    /// Invite-only polls: the codes issued with the poll, shown here and
    /// to the owner later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) invites: Option<Vec<super::invites::InviteView>>,
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
    pub(crate) receipt: ReceiptView<'a>,
    /// `None` (JSON `null`) when the poll's visibility hides the counts from
    /// this voter (an `after_close` poll still open), and always for a
    /// secret poll (see [`ReceiptView::Secret`]).
    pub(crate) results: Option<&'a Results>,
}

impl<'a> VoteView<'a> {
    /// The answer to a vote in `poll` that `receipt` records, with its
    /// `results` if the voter may see them: for a secret poll, a
    /// [`ReceiptView::Secret`] and no results.
    pub(crate) fn new(
        poll_secret: bool,
        receipt: &'a VoteReceipt,
        results: Option<&'a Results>,
    ) -> Self {
        if poll_secret {
            return Self {
                receipt: ReceiptView::Secret(SecretReceipt {
                    poll_id: receipt.poll_id.to_string(),
                    secret: true,
                }),
                results: None,
            };
        }
        Self {
            receipt: ReceiptView::Open(receipt),
            results,
        }
    }
}

/// A vote's receipt as the voter gets it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum ReceiptView<'a> {
    /// The ballot's marks, time and version.
    Open(&'a VoteReceipt),
    /// A secret poll's receipt: "you voted", without the marks, the time
    /// or the version. The answer (and so any idempotent replay of it, which
    /// the idempotency store keeps under a key scoped by the voter's cookie)
    /// must not tie the voter to their choices, nor to the counts right
    /// after their ballot, whose difference from the counts before would
    /// tell them.
    Secret(SecretReceipt),
}

/// The body of [`ReceiptView::Secret`].
#[derive(Debug, Serialize)]
pub(crate) struct SecretReceipt {
    poll_id: String,
    /// Always `true`.
    secret: bool,
}

/// The body of `POST /api/polls/{id}/votes`: exactly one key, the shape of
/// the poll's method (`choices`, `ranking` or `scores`).
///
/// The shape only: the rules of each (no repeats, scores 0 to 5, what fits
/// the poll) are checked by [`Marks`] and the store, as `invalid_choice`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VoteRequest {
    /// Plurality and approval: the chosen option ids.
    #[serde(default)]
    choices: Option<Vec<OptionId>>,
    /// Ranked: option ids, most preferred first.
    #[serde(default)]
    ranking: Option<Vec<OptionId>>,
    /// STAR: a score per option, in option order.
    #[serde(default)]
    scores: Option<Vec<i64>>,
    /// Invite-only polls: the invite code the ballot is cast with.
    #[serde(default)]
    invite: Option<String>,
}

impl VoteRequest {
    /// The invite code the body carries, taken out of it.
    pub(crate) fn take_invite(&mut self) -> Option<String> {
        self.invite.take()
    }

    /// The marks this body asks for: 422 `invalid_field` without exactly
    /// one key, `invalid_choice` for marks that break their rules.
    pub(crate) fn into_marks(self) -> Result<Marks, ApiError> {
        let marks = match (self.choices, self.ranking, self.scores) {
            (Some(ids), None, None) => Marks::choices(ids),
            (None, Some(ids), None) => Marks::ranking(ids),
            (None, None, Some(scores)) => Marks::scores_from_integers(scores),
            _ => {
                return Err(ApiError::InvalidField(
                    "a ballot has exactly one of `choices`, `ranking` or `scores`".into(),
                ))
            }
        };
        marks.map_err(ApiError::from)
    }
}

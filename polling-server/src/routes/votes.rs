//! Casting a ballot.

use polling_core::access::{CountsAccess, Viewer};
use polling_core::{Ballot, CastKind, InviteCode, PollError, PollId};
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, Method, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::{json, parse_poll_id, with_app};
use crate::app::App;
use crate::error::ApiError;
use crate::extract::{
    fingerprinted_json_body, idempotency_key, voter, BodyBytes, IdempotencyKey, Voter,
};
use crate::http::client_addr::PeerAddr;
use crate::http::route;
use crate::idempotency::{idempotent, Scope};
use crate::middleware::{Bucket, InviteGuesses};
use crate::routes::views::{VoteRequest, VoteView};

pub(super) fn routes(app: &App) -> BoxedFilter<(Response,)> {
    let guesses = InviteGuesses::new(app.parts.limits.trusted_proxies.clone());
    route::on_poll(&route::VOTE)
        .and(with_app(app))
        .and(warp::any().map(move || guesses.clone()))
        .and(warp::ext::optional::<PeerAddr>())
        .and(warp::header::headers_cloned())
        .and(voter(app))
        .and(idempotency_key())
        .and(fingerprinted_json_body::<VoteRequest>(
            app.parts.body_limit,
            app.parts.limits.body_read_timeout,
        ))
        .and_then(cast)
        .boxed()
}

/// The invite code a vote carries, with its client's bucket of failed codes.
struct Invited<'a> {
    guesses: &'a InviteGuesses,
    bucket: Bucket,
}

/// Casts the ballot, once per `Idempotency-Key` (see [`idempotent`]).
///
/// A ballot with an `invite` code is cast as the code's voter (see
/// `polling_core::InviteCode::voter`), not the cookie's; a client that
/// sent too many wrong codes is refused before its code is looked at (see
/// [`InviteGuesses`]).
#[allow(clippy::too_many_arguments)]
async fn cast(
    raw_id: String,
    app: App,
    guesses: InviteGuesses,
    peer: Option<PeerAddr>,
    headers: HeaderMap,
    voter: Voter,
    key: Option<IdempotencyKey>,
    (mut body, sent): (VoteRequest, BodyBytes),
) -> Result<Response, Rejection> {
    // Before the key is looked up: an id that names no poll is 404 whatever
    // the key, and the scope holds the canonical id, never raw input.
    let poll_id = parse_poll_id(&raw_id)?;
    let (voter, invited) = match body.take_invite() {
        None => (voter, None),
        Some(code) => {
            let bucket = guesses.bucket(peer, &headers);
            if let Some(seconds) = guesses.spent(&bucket) {
                return Err(ApiError::RateLimited(seconds).into());
            }
            let Some(code) = InviteCode::presented(&code) else {
                guesses.failed(&bucket);
                return Err(ApiError::from(PollError::InviteInvalid).into());
            };
            let invited = Invited {
                guesses: &guesses,
                bucket,
            };
            let secure = app.parts.secure_cookies;
            (Voter::invited(code.voter(), poll_id, secure), Some(invited))
        }
    };
    let scope = Scope {
        method: Method::POST,
        path: format!("/api/polls/{poll_id}/votes"),
        voter: &voter,
        key,
    };
    let casting = cast_ballot(poll_id, &app, &voter, body, invited);
    idempotent(&app, scope, sent, casting).await
}

/// 201 with the receipt and results for a new ballot; 200 with the original
/// receipt when the same voter sends the same ballot again, and 200 with a new
/// receipt when the poll allows changing a vote and the ballot differs. The
/// results are `null` when the poll's visibility hides them from the voter.
/// A secret poll answers 201 with a receipt without marks and no results,
/// and refuses any second ballot (409 `already_voted`).
async fn cast_ballot(
    poll_id: PollId,
    app: &App,
    voter: &Voter,
    body: VoteRequest,
    invited: Option<Invited<'_>>,
) -> Result<Response, Rejection> {
    let marks = body.into_marks()?;
    let ballot = Ballot::with_marks(poll_id, voter.id.clone(), marks);
    let outcome = match app.cast(ballot).await {
        Ok(outcome) => outcome,
        // A vote refused as unavailable may still have committed (the
        // answer was lost, or came too late): the new voter must keep its
        // id, so that its retry finds that ballot instead of casting another.
        Err(error @ PollError::Unavailable(_)) => {
            return Ok(voter.attach(ApiError::from(error).into_response()))
        }
        Err(error @ PollError::InviteInvalid) => {
            if let Some(invited) = invited {
                invited.guesses.failed(&invited.bucket);
            }
            return Err(ApiError::from(error).into());
        }
        Err(error) => return Err(ApiError::from(error).into()),
    };
    let status = match outcome.kind {
        CastKind::New => StatusCode::CREATED,
        CastKind::Replay | CastKind::Changed => StatusCode::OK,
    };
    let viewer = Viewer {
        voter: Some(&voter.id),
        token: None,
        voted: true,
    };
    // The ballot is committed: whatever happens now, the voter must get its
    // cookie and a success, or its retry would be a second voter. Counts it
    // cannot be shown for certain stay hidden. A secret poll's answer holds
    // no results whoever asks (see `VoteView::new`): nothing to decide.
    let visible = !outcome.secret
        && match app.access(poll_id, viewer).await {
            Ok(access) => access == CountsAccess::Visible,
            Err(error) => {
                tracing::warn!(
                    %poll_id,
                    error = ?error,
                    "could not decide the results' visibility after a vote; answering them hidden"
                );
                false
            }
        };
    let view = VoteView::new(
        outcome.secret,
        &outcome.receipt,
        visible.then_some(&outcome.results),
    );
    Ok(voter.attach(json(&view, status)))
}

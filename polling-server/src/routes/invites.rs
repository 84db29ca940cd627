//! The invite codes of an invite-only poll, for its owner
//! (`Authorization: Bearer <manage_token>`): listed as JSON or as a CSV of
//! vote links, issued, and revoked.
//!
//! Codes are never stored: each is made again from the owner's token and
//! its invite's nonce (see `polling_core::InviteCode`), so only a request
//! with the token can list them. A code's vote link is
//! `<public base>/p/<id>?invite=<code>`, the share link with the code: the
//! browser app opens it and votes with the code without showing it.

use polling_core::{
    Eligibility, Invite, InviteCode, ManageToken, Poll, PollError, MAX_INVITES_PER_REQUEST,
};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use warp::filters::BoxedFilter;
use warp::http::header::CACHE_CONTROL;
use warp::http::{HeaderMap, HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::csv::Csv;
use super::export::{attachment, full, CSV};
use super::polls::authorize;
use super::{json, with_app};
use crate::app::App;
use crate::config::public_url::share_base;
use crate::error::ApiError;
use crate::extract::{bearer_token, fingerprinted_json_body, BodyBytes};
use crate::http::route;

pub(super) fn routes(app: &App) -> BoxedFilter<(Response,)> {
    let owner = |r: &'static route::Route| {
        route::on_poll(r)
            .and(with_app(app))
            .and(bearer_token())
            .and(warp::header::headers_cloned())
    };
    let (limit, timeout) = (app.parts.body_limit, app.parts.limits.body_read_timeout);
    let list = owner(&route::LIST_INVITES).and_then(list);
    let csv = owner(&route::INVITES_CSV).and_then(csv);
    let add = owner(&route::ADD_INVITES)
        .and(fingerprinted_json_body::<AddInvites>(limit, timeout))
        .and_then(add);
    let revoke = owner(&route::REVOKE_INVITE)
        .and(fingerprinted_json_body::<RevokeInvite>(limit, timeout))
        .and_then(revoke);
    list.or(csv)
        .unify()
        .or(add)
        .unify()
        .or(revoke)
        .unify()
        .boxed()
}

/// One invite as its owner sees it.
#[derive(Debug, Serialize)]
pub(crate) struct InviteView {
    /// The code a voter votes with.
    code: String,
    /// The vote link: the share link with the code.
    link: String,
    /// `unused`, `used` (a ballot was cast with it) or `revoked`.
    status: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    revoked_at: Option<OffsetDateTime>,
}

/// The invites of a poll, oldest first.
#[derive(Debug, Serialize)]
struct InviteList {
    invites: Vec<InviteView>,
}

/// The body of `POST /api/polls/{id}/invites`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddInvites {
    /// How many codes to issue: 1 to [`MAX_INVITES_PER_REQUEST`].
    count: u32,
}

/// The body of `POST /api/polls/{id}/invites/revoke`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeInvite {
    /// The code to revoke.
    code: String,
}

/// The base of the vote links: the share base, else a link relative to
/// the server (a request with no usable `Host` and no public URL).
pub(super) fn link_base(app: &App, headers: &HeaderMap) -> String {
    share_base(app.parts.public_url.as_ref(), headers).unwrap_or_default()
}

fn view(poll: &Poll, token: &ManageToken, invite: &Invite, base: &str) -> InviteView {
    let code = invite.code(token, poll.id);
    let status = match (invite.used, invite.revoked_at) {
        (true, _) => "used",
        (false, Some(_)) => "revoked",
        (false, None) => "unused",
    };
    InviteView {
        link: format!("{base}/p/{}?invite={}", poll.id, code.as_str()),
        code: code.as_str().to_owned(),
        status,
        created_at: invite.created_at,
        revoked_at: invite.revoked_at,
    }
}

/// `response` marked `Cache-Control: no-store`: it holds codes, which no
/// cache may keep.
fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Issues `count` new invites of `poll` (owned by `token`) and stores them;
/// their views, with links on `base`.
pub(super) async fn issue(
    app: &App,
    poll: &Poll,
    token: &ManageToken,
    count: u32,
    base: &str,
) -> Result<Vec<InviteView>, ApiError> {
    let now = polling_core::now();
    let invites: Vec<Invite> = (0..count)
        .map(|_| Invite::issue(token, poll.id, now).0)
        .collect();
    app.parts.store.add_invites(poll.id, &invites).await?;
    Ok(invites.iter().map(|i| view(poll, token, i, base)).collect())
}

/// The poll's invites, if `token` manages it.
async fn owned(
    app: &App,
    raw_id: &str,
    token: &ManageToken,
    headers: &HeaderMap,
) -> Result<(Poll, Vec<InviteView>), ApiError> {
    let poll = authorize(app, raw_id, token).await?;
    let base = link_base(app, headers);
    let invites = app.parts.store.invites(poll.id).await?;
    let views = invites
        .iter()
        .map(|i| view(&poll, token, i, &base))
        .collect();
    Ok((poll, views))
}

/// `{"invites": [...]}`, oldest first; empty for a poll open to anyone.
async fn list(
    raw_id: String,
    app: App,
    token: ManageToken,
    headers: HeaderMap,
) -> Result<Response, Rejection> {
    let (_, invites) = owned(&app, &raw_id, &token, &headers).await?;
    Ok(no_store(json(&InviteList { invites }, StatusCode::OK)))
}

/// `code,link,status,created_at,revoked_at`: one row per invite, oldest first.
async fn csv(
    raw_id: String,
    app: App,
    token: ManageToken,
    headers: HeaderMap,
) -> Result<Response, Rejection> {
    let (poll, invites) = owned(&app, &raw_id, &token, &headers).await?;
    let time = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_else(|_| t.to_string());
    let mut csv = Csv::new();
    csv.row(["code", "link", "status", "created_at", "revoked_at"]);
    for invite in invites {
        csv.row([
            invite.code,
            invite.link,
            invite.status.to_owned(),
            time(invite.created_at),
            invite.revoked_at.map(time).unwrap_or_default(),
        ]);
    }
    Ok(attachment(full(csv.finish()), CSV, &poll, "invites.csv"))
}

/// 201 with the new invites; 422 for a poll open to anyone or a count out
/// of range.
async fn add(
    raw_id: String,
    app: App,
    token: ManageToken,
    headers: HeaderMap,
    (body, _): (AddInvites, BodyBytes),
) -> Result<Response, Rejection> {
    let poll = authorize(&app, &raw_id, &token).await?;
    if poll.eligibility != Eligibility::Invite {
        return Err(ApiError::from(PollError::InvalidPoll {
            field: "eligibility",
            message: "this poll is open to anyone: it takes no invite codes".to_owned(),
        })
        .into());
    }
    if !(1..=MAX_INVITES_PER_REQUEST).contains(&body.count) {
        return Err(ApiError::InvalidField(format!(
            "count must be 1 to {MAX_INVITES_PER_REQUEST}, not {}",
            body.count
        ))
        .into());
    }
    let base = link_base(&app, &headers);
    let invites = issue(&app, &poll, &token, body.count, &base).await?;
    Ok(no_store(json(&InviteList { invites }, StatusCode::CREATED)))
}

/// 200 with the revoked invite; 404 `invite_not_found` for a code the poll
/// never issued, 409 `invite_used` for one that voted.
async fn revoke(
    raw_id: String,
    app: App,
    token: ManageToken,
    headers: HeaderMap,
    (body, _): (RevokeInvite, BodyBytes),
) -> Result<Response, Rejection> {
    let poll = authorize(&app, &raw_id, &token).await?;
    let code =
        InviteCode::presented(&body.code).ok_or(ApiError::from(PollError::InviteNotFound))?;
    let invite = app
        .parts
        .store
        .revoke_invite(poll.id, &code.voter(), polling_core::now())
        .await
        .map_err(ApiError::from)?;
    let base = link_base(&app, &headers);
    Ok(no_store(json(
        &view(&poll, &token, &invite, &base),
        StatusCode::OK,
    )))
}

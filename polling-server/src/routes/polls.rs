//! Creating, listing, reading, closing and deleting polls.

use std::collections::HashMap;

use polling_core::{Eligibility, ManageToken, NewPoll, Poll, PollDraft, PollError, PollId};
use warp::filters::BoxedFilter;
use warp::http::header::LOCATION;
use warp::http::{HeaderMap, HeaderValue, Method, StatusCode};
use warp::path::FullPath;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::invites::{self, InviteView};
use super::{json, parse_poll_id, with_app};
use crate::app::App;
use crate::error::ApiError;
use crate::extract::{
    bearer_token, fingerprinted_json_body, idempotency_key, voter, BodyBytes, IdempotencyKey, Voter,
};
use crate::http::route;
use crate::idempotency::{idempotent, Scope};
use crate::routes::views::{CreatedPoll, PollPage, PollView};

/// Polls per page when `limit` is not given.
const DEFAULT_LIMIT: usize = 20;
/// The most polls one page may hold.
const MAX_LIMIT: usize = 100;

pub(super) fn routes(app: &App) -> BoxedFilter<(Response,)> {
    let create = route::on(&route::CREATE_POLL)
        .and(warp::path::full())
        .and(with_app(app))
        .and(voter(app))
        .and(idempotency_key())
        .and(warp::header::headers_cloned())
        .and(fingerprinted_json_body::<PollDraft>(
            app.parts.body_limit,
            app.parts.limits.body_read_timeout,
        ))
        .and_then(create);
    let list = route::on(&route::LIST_POLLS)
        .and(with_app(app))
        .and(warp::query::<Vec<(String, String)>>())
        .and_then(list);
    let get = route::on_poll(&route::GET_POLL)
        .and(with_app(app))
        .and(voter(app))
        .and_then(get);
    let close = route::on_poll(&route::CLOSE_POLL)
        .and(with_app(app))
        .and(bearer_token())
        .and_then(close);
    let delete = route::on_poll(&route::DELETE_POLL)
        .and(with_app(app))
        .and(bearer_token())
        .and_then(delete);
    create
        .or(list)
        .unify()
        .or(get)
        .unify()
        .or(close)
        .unify()
        .or(delete)
        .unify()
        .boxed()
}

/// Creates the poll, once per `Idempotency-Key` (see [`idempotent`]).
async fn create(
    path: FullPath,
    app: App,
    voter: Voter,
    key: Option<IdempotencyKey>,
    headers: HeaderMap,
    (draft, sent): (PollDraft, BodyBytes),
) -> Result<Response, Rejection> {
    let scope = Scope {
        method: Method::POST,
        path: "/api/polls".to_owned(),
        voter: &voter,
        key,
    };
    let created = create_poll(&app, &voter, &headers, draft, path.as_str());
    idempotent(&app, scope, sent, created).await
}

/// Creates the poll; its `Location` is `collection` (the request's path,
/// under the prefix the routes are mounted at, if any) and its id.
async fn create_poll(
    app: &App,
    voter: &Voter,
    headers: &HeaderMap,
    draft: PollDraft,
    collection: &str,
) -> Result<Response, Rejection> {
    let now = polling_core::now();
    let new = NewPoll::new(draft, now).map_err(ApiError::from)?;
    let new_invites = new.invites();
    let token = ManageToken::generate();
    let poll = Poll::open(new, token.hash(), now);
    app.parts
        .store
        .create(&poll)
        .await
        .map_err(ApiError::from)?;
    app.parts.visibilities.remember(&poll);
    let invites = match poll.eligibility {
        Eligibility::Invite => {
            Some(issue_at_creation(app, &poll, &token, new_invites, headers).await?)
        }
        Eligibility::Anyone => None,
    };

    let body = CreatedPoll {
        poll: PollView::new(&poll, now),
        manage_token: token.as_str(),
        invites,
    };
    let mut response = json(&body, StatusCode::CREATED);
    let collection = collection.trim_end_matches('/');
    if let Ok(location) = HeaderValue::from_str(&format!("{collection}/{}", poll.id)) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(voter.attach(response))
}

/// The invites an invite-only poll is created with. Should storing them
/// fail, the poll is deleted again (the creator never got its token) and
/// the failure answered.
async fn issue_at_creation(
    app: &App,
    poll: &Poll,
    token: &ManageToken,
    count: u32,
    headers: &HeaderMap,
) -> Result<Vec<InviteView>, ApiError> {
    let base = invites::link_base(app, headers);
    match invites::issue(app, poll, token, count, &base).await {
        Ok(invites) => Ok(invites),
        Err(error) => {
            if let Err(cleanup) = app.parts.store.delete(poll.id).await {
                tracing::warn!(poll_id = %poll.id, error = ?cleanup, "deleting a poll whose invites failed");
            }
            Err(error)
        }
    }
}

async fn list(app: App, query: Vec<(String, String)>) -> Result<Response, Rejection> {
    let (limit, before) = page_query(&query)?;
    let page = app
        .parts
        .store
        .list(limit, before)
        .await
        .map_err(ApiError::from)?;
    let now = polling_core::now();
    let body = PollPage {
        polls: page.polls.iter().map(|p| PollView::new(p, now)).collect(),
        next_cursor: page.next_cursor.map(|id| id.to_string()),
    };
    Ok(json(&body, StatusCode::OK))
}

/// `limit` (1 to 100, default 20) and `cursor` (a poll id from `next_cursor`).
fn page_query(query: &[(String, String)]) -> Result<(usize, Option<PollId>), ApiError> {
    let mut params: HashMap<&str, &str> = HashMap::new();
    for (name, value) in query {
        if params.insert(name, value).is_some() {
            return Err(ApiError::InvalidQuery(format!(
                "`{name}` is given more than once"
            )));
        }
    }
    if let Some(unknown) = params.keys().find(|k| !matches!(**k, "limit" | "cursor")) {
        return Err(ApiError::InvalidQuery(format!(
            "unknown query parameter `{unknown}`; expected `limit` or `cursor`"
        )));
    }
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::InvalidQuery(format!(
                    "`limit` must be a whole number from 1 to {MAX_LIMIT}"
                ))
            })?,
    };
    let cursor = params
        .get("cursor")
        .map(|raw| {
            raw.parse::<PollId>().map_err(|_| {
                ApiError::InvalidQuery(
                    "`cursor` must be a `next_cursor` from an earlier page".to_owned(),
                )
            })
        })
        .transpose()?;
    Ok((limit, cursor))
}

async fn get(raw_id: String, app: App, voter: Voter) -> Result<Response, Rejection> {
    let id = parse_poll_id(&raw_id)?;
    let poll = app.parts.store.get(id).await.map_err(ApiError::from)?;
    let response = json(&PollView::new(&poll, polling_core::now()), StatusCode::OK);
    Ok(voter.attach(response))
}

/// The poll, if `token` manages it: 404 before 403, so ids can't be probed
/// with tokens.
pub(super) async fn authorize(
    app: &App,
    raw_id: &str,
    token: &ManageToken,
) -> Result<Poll, ApiError> {
    let poll = app.parts.store.get(parse_poll_id(raw_id)?).await?;
    if poll.is_managed_by(token) {
        Ok(poll)
    } else {
        Err(PollError::Forbidden.into())
    }
}

async fn close(raw_id: String, app: App, token: ManageToken) -> Result<Response, Rejection> {
    let poll = authorize(&app, &raw_id, &token).await?;
    let now = polling_core::now();
    let closed = app
        .parts
        .store
        .close(poll.id, now)
        .await
        .map_err(ApiError::from)?;
    // Every replica's live sockets on the poll resync: those waiting for the
    // close to see the counts (visibility after_vote, after_close) get them.
    let resync = polling_core::ResultsEvent::Resync { poll_id: poll.id };
    if let Err(error) = app.parts.broadcaster.publish(&resync).await {
        tracing::warn!(poll_id = %poll.id, error = ?error, "telling live sockets of a close failed");
    }
    Ok(json(&PollView::new(&closed, now), StatusCode::OK))
}

async fn delete(raw_id: String, app: App, token: ManageToken) -> Result<Response, Rejection> {
    let poll = authorize(&app, &raw_id, &token).await?;
    app.parts
        .store
        .delete(poll.id)
        .await
        .map_err(ApiError::from)?;
    if let Err(error) = app.parts.cache.invalidate(poll.id).await {
        // The poll is gone from the store either way; a stale cache entry
        // would keep answering its results until it expires.
        tracing::warn!(poll_id = %poll.id, error = ?error, "cache invalidation after delete failed");
        metrics::counter!(
            polling_core::metrics::CACHE_ERRORS_TOTAL,
            polling_core::metrics::operation::LABEL => polling_core::metrics::operation::INVALIDATE,
        )
        .increment(1);
    }
    // Every replica's live sockets on the poll resync, find it gone and
    // close with 4404, instead of showing a deleted poll as live.
    let gone = polling_core::ResultsEvent::Resync { poll_id: poll.id };
    if let Err(error) = app.parts.broadcaster.publish(&gone).await {
        tracing::warn!(poll_id = %poll.id, error = ?error, "telling live sockets of a delete failed");
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn page_queries_default_and_bound_the_limit() {
        assert_eq!(page_query(&[]).unwrap(), (DEFAULT_LIMIT, None));
        assert_eq!(page_query(&query(&[("limit", "100")])).unwrap().0, 100);
        for bad in ["0", "101", "-1", "x", "1e3", ""] {
            assert!(
                page_query(&query(&[("limit", bad)])).is_err(),
                "limit={bad}"
            );
        }
    }

    #[test]
    fn page_queries_refuse_bad_cursors_and_unknown_parameters() {
        let id = PollId::generate();
        assert_eq!(
            page_query(&query(&[("cursor", &id.to_string())]))
                .unwrap()
                .1,
            Some(id)
        );
        assert!(page_query(&query(&[("cursor", "nope")])).is_err());
        assert!(page_query(&query(&[("page", "2")])).is_err());
        assert!(page_query(&query(&[("limit", "2"), ("limit", "3")])).is_err());
    }
}

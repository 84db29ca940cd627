//! One voter of the live audience: a browser (which loads the poll first,
//! gets its voter cookie and retries with it) or a cookieless API client
//! (one request, no retry); either may leave mid-request.

use std::time::Duration;

use bytes::Bytes;
use hyper::header::COOKIE;
use hyper::Method;

use super::cancel::post_and_drop;
use super::client::{Conn, Target};
use super::retry::{send_retrying, Retry};

/// How one voter behaves.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Voter {
    /// Loads the poll first (`GET /api/polls/{id}`) for its `polling_voter`
    /// cookie, then votes with it and retries (safe: the same voter's same
    /// ballot is replayed, never counted twice); else a cookieless client
    /// whose single request is its vote.
    pub(crate) browser: bool,
    /// Leaves this long after its vote was sent, before the answer.
    pub(crate) leaves_after: Option<Duration>,
    /// The option voted for.
    pub(crate) choice: usize,
}

/// What became of one voter's ballot, as the voter knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fate {
    /// A 2xx answer: the server says it is counted.
    Acknowledged,
    /// A refusal or a failure (in a few words): the voter believes it is not
    /// counted, though a lost answer may have been counted.
    Refused(String),
    /// Sent in full, then left before the answer: counted or not.
    Cancelled,
}

/// Casts `voter`'s ballot in the poll `poll_id` over `conn` (a cancelled
/// vote goes over a connection of its own).
pub(crate) async fn vote(conn: &mut Conn, target: &Target, poll_id: &str, voter: Voter) -> Fate {
    let body = Bytes::from(format!(r#"{{"choices":[{}]}}"#, voter.choice));
    let path = format!("/api/polls/{poll_id}/votes");
    let cookie = if voter.browser {
        match load_poll(conn, poll_id).await {
            Ok(cookie) => Some(cookie),
            Err(e) => return Fate::Refused(e),
        }
    } else {
        None
    };
    if let Some(after) = voter.leaves_after {
        return match post_and_drop(target, &path, &body, cookie.as_deref(), after).await {
            Ok(()) => Fate::Cancelled,
            Err(e) => Fate::Refused(e),
        };
    }
    let answer = match &cookie {
        Some(cookie) => {
            send_retrying(
                conn,
                Method::POST,
                &path,
                Some(body),
                &[(COOKIE, cookie)],
                Retry::BROWSER,
            )
            .await
        }
        None => conn.send(Method::POST, &path, Some(body), None).await,
    };
    match answer {
        Ok(answer) if answer.status.is_success() => Fate::Acknowledged,
        Ok(answer) => Fate::Refused(format!("HTTP {}", answer.status.as_u16())),
        Err(e) => Fate::Refused(e),
    }
}

/// `GET /api/polls/{id}` as a browser opening the poll's page (retried like
/// its vote): the `polling_voter=...` cookie the server sets.
async fn load_poll(conn: &mut Conn, poll_id: &str) -> Result<String, String> {
    let answer = send_retrying(
        conn,
        Method::GET,
        &format!("/api/polls/{poll_id}"),
        None,
        &[],
        Retry::BROWSER,
    )
    .await
    .map_err(|e| format!("loading the poll: {e}"))?;
    if !answer.status.is_success() {
        return Err(format!("loading the poll: HTTP {}", answer.status.as_u16()));
    }
    answer
        .cookie
        .filter(|cookie| cookie.starts_with("polling_voter="))
        .ok_or_else(|| "loading the poll: no voter cookie".to_owned())
}

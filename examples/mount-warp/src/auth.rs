//! The application's own authentication: a session token in the
//! `X-Session-Token` header, checked before any request reaches what it
//! guards.
//!
//! Not `Authorization: Bearer`: the polling API reads that header itself,
//! for the manage token of a poll (closing, deleting, exporting), so the
//! application's credential travels in a header of its own.

use std::collections::HashMap;
use std::sync::Arc;

use warp::{Filter, Rejection};

/// The header the application's clients send their session token in.
pub(crate) const SESSION_HEADER: &str = "x-session-token";

/// The application's sessions: which token belongs to which user. A real
/// application would look them up in its own database or verify a signed
/// cookie; a map is enough to show where the check goes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sessions {
    /// User name by session token; shared by every request.
    by_token: Arc<HashMap<String, String>>,
}

impl Sessions {
    /// Sessions for these `(token, user)` pairs.
    pub(crate) fn new<const N: usize>(pairs: [(&str, &str); N]) -> Self {
        let by_token = pairs
            .into_iter()
            .map(|(token, user)| (token.to_owned(), user.to_owned()))
            .collect();
        Self {
            by_token: Arc::new(by_token),
        }
    }

    /// The user `token` belongs to, if any.
    fn user(&self, token: &str) -> Option<User> {
        self.by_token
            .get(token)
            .map(|name| User { name: name.clone() })
    }
}

/// The signed-in user a request was made by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct User {
    /// Their name, as the application knows them.
    pub(crate) name: String,
}

/// Why a request was refused before it reached what it asked for: no
/// session token, or one the application does not know. The application's
/// [`recover`](crate::errors::recover) answers it 401.
#[derive(Debug)]
pub(crate) struct Unauthorized;

impl warp::reject::Reject for Unauthorized {}

/// Extracts the signed-in [`User`], or rejects with [`Unauthorized`].
pub(crate) fn signed_in(
    sessions: Sessions,
) -> impl Filter<Extract = (User,), Error = Rejection> + Clone {
    warp::header::optional::<String>(SESSION_HEADER).and_then(move |token: Option<String>| {
        let user = token.and_then(|token| sessions.user(token.trim()));
        async move { user.ok_or_else(|| warp::reject::custom(Unauthorized)) }
    })
}

/// Lets only signed-in requests through, extracting nothing: what guards
/// a mounted API that has no use for the user.
pub(crate) fn require_session(
    sessions: Sessions,
) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    signed_in(sessions).map(|_: User| ()).untuple_one()
}

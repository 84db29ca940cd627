//! The voter id cookie: read it, or issue one on first contact.

use std::convert::Infallible;

use polling_core::VoterId;
use warp::http::header::{COOKIE, SET_COOKIE};
use warp::http::{HeaderMap, HeaderValue};
use warp::reply::Response;
use warp::Filter;

/// The cookie that carries the voter id.
pub(crate) const COOKIE_NAME: &str = "polling_voter";

/// A year: a voter stays the same voter across visits.
const MAX_AGE_SECONDS: u32 = 365 * 24 * 60 * 60;

/// Who is asking: the voter id from the cookie, or a new one to issue.
#[derive(Clone, Debug)]
pub(crate) struct Voter {
    /// The id ballots are keyed by.
    pub(crate) id: VoterId,
    /// Whether the id is new and must be sent back in a `Set-Cookie`.
    issued: bool,
    /// Whether the cookie is marked `Secure` (HTTPS only).
    secure: bool,
}

impl Voter {
    /// The voter id the request's cookie carried; `None` for a new voter.
    pub(crate) fn known_id(&self) -> Option<&VoterId> {
        (!self.issued).then_some(&self.id)
    }

    /// Adds the `Set-Cookie` header to `response` when the id is new.
    pub(crate) fn attach(&self, mut response: Response) -> Response {
        if self.issued {
            let secure = if self.secure { "; Secure" } else { "" };
            let cookie = format!(
                "{COOKIE_NAME}={}; Path=/; Max-Age={MAX_AGE_SECONDS}; HttpOnly; SameSite=Lax{secure}",
                self.id
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(SET_COOKIE, value);
            }
        }
        response
    }
}

/// The voter of this request; never refuses (a missing or malformed cookie
/// gets a fresh id, in a cookie marked `Secure` when `secure`).
pub(crate) fn voter(secure: bool) -> impl Filter<Extract = (Voter,), Error = Infallible> + Clone {
    warp::header::headers_cloned().map(move |headers: HeaderMap| match from_cookies(&headers) {
        Some(id) => Voter {
            id,
            issued: false,
            secure,
        },
        None => Voter {
            id: VoterId::generate(),
            issued: true,
            secure,
        },
    })
}

fn from_cookies(headers: &HeaderMap) -> Option<VoterId> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .and_then(|(_, value)| value.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(cookie).unwrap());
        headers
    }

    #[test]
    fn the_voter_cookie_is_found_among_others() {
        let id = from_cookies(&headers("a=1; polling_voter=abc123; b=2")).unwrap();
        assert_eq!(id.as_str(), "abc123");
    }

    #[test]
    fn malformed_voter_cookies_are_ignored() {
        assert!(from_cookies(&headers("polling_voter=a b")).is_none());
        assert!(from_cookies(&headers("polling_voter=")).is_none());
        assert!(from_cookies(&HeaderMap::new()).is_none());
    }

    #[test]
    fn only_new_voters_get_a_cookie() {
        let new = Voter {
            id: VoterId::generate(),
            issued: true,
            secure: false,
        };
        let cookie = new.attach(Response::default());
        let cookie = cookie.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
        assert!(cookie.starts_with(&format!("polling_voter={}", new.id)));
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
        assert!(!cookie.contains("Secure"));
        let known = Voter {
            id: VoterId::generate(),
            issued: false,
            secure: true,
        };
        assert!(known
            .attach(Response::default())
            .headers()
            .get(SET_COOKIE)
            .is_none());
    }

    #[test]
    fn behind_tls_the_cookie_is_secure() {
        let new = Voter {
            id: VoterId::generate(),
            issued: true,
            secure: true,
        };
        let cookie = new.attach(Response::default());
        let cookie = cookie.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
        assert!(
            cookie.ends_with("; HttpOnly; SameSite=Lax; Secure"),
            "{cookie}"
        );
    }
}

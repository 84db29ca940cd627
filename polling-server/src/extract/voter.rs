//! The voter id cookie: read it, or issue one on first contact.
//!
//! A first contact that a [trusted proxy](crate::TrustedProxies) stamped
//! with `X-Request-Id` gets the id [derived](VoterId::derived_from) from that
//! request id, not a random one: the edge proxy (nginx) sends a request's
//! retry on the next replica with the same id, so a cookieless vote whose
//! reply was lost (a replica killed mid-request) is replayed there, never
//! counted twice.

use std::convert::Infallible;

use polling_core::{PollId, VoterId};
use warp::http::header::{COOKIE, SET_COOKIE};
use warp::http::{HeaderMap, HeaderValue};
use warp::reply::Response;
use warp::Filter;

use crate::app::App;
use crate::http::client_addr::{PeerAddr, TrustedProxies};

/// The header in which the edge proxy stamps each request's id.
const REQUEST_ID: &str = "x-request-id";

/// The cookie that carries the voter id.
pub(crate) const COOKIE_NAME: &str = "polling_voter";

/// The cookie that carries the voter id of an invite code that voted in a
/// poll: set by that vote with `Path=/api/polls/{id}`, so the browser sends
/// it to that poll's routes only (its results, live socket and votes), where
/// it is the voter instead of `polling_voter`: the counts an `after_vote`
/// poll shows its voters, and a change of that code's ballot, follow it.
/// Holding it is holding the code's vote, as holding the code is.
pub(crate) const INVITE_COOKIE_NAME: &str = "polling_invite";

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
    /// For the voter of an invite code that just voted: the path of its
    /// poll, to which [`INVITE_COOKIE_NAME`] is sent back.
    invite_path: Option<String>,
}

impl Voter {
    /// The voter id the request's cookie carried; `None` for a new voter.
    pub(crate) fn known_id(&self) -> Option<&VoterId> {
        (!self.issued).then_some(&self.id)
    }

    /// The voter of an invite code in poll `poll`: its
    /// [voter id](polling_core::InviteCode::voter), sent back in
    /// [`INVITE_COOKIE_NAME`] for that poll's routes (`Secure` when `secure`).
    pub(crate) fn invited(id: VoterId, poll: PollId, secure: bool) -> Self {
        Self {
            id,
            issued: false,
            secure,
            invite_path: Some(format!("/api/polls/{poll}")),
        }
    }

    /// Adds the `Set-Cookie` header to `response` when the id is new.
    pub(crate) fn attach(&self, mut response: Response) -> Response {
        let cookie = match (&self.invite_path, self.issued) {
            (Some(path), _) => Some((INVITE_COOKIE_NAME, path.as_str())),
            (None, true) => Some((COOKIE_NAME, "/")),
            (None, false) => None,
        };
        if let Some((name, path)) = cookie {
            let secure = if self.secure { "; Secure" } else { "" };
            let cookie = format!(
                "{name}={}; Path={path}; Max-Age={MAX_AGE_SECONDS}; HttpOnly; SameSite=Lax{secure}",
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
/// gets a new id, in a cookie marked `Secure` when the app says so; see the
/// [module docs](self) for which new id).
pub(crate) fn voter(app: &App) -> impl Filter<Extract = (Voter,), Error = Infallible> + Clone {
    let secure = app.parts.secure_cookies;
    let proxies = app.parts.limits.trusted_proxies.clone();
    warp::header::headers_cloned()
        .and(warp::ext::optional::<PeerAddr>())
        .map(move |headers: HeaderMap, peer: Option<PeerAddr>| {
            let known = invite_from_cookies(&headers).or_else(|| from_cookies(&headers));
            match known {
                Some(id) => Voter {
                    id,
                    issued: false,
                    secure,
                    invite_path: None,
                },
                None => Voter {
                    id: new_id(&headers, peer, &proxies),
                    issued: true,
                    secure,
                    invite_path: None,
                },
            }
        })
}

/// A new voter's id: derived from the request id its trusted proxy stamped,
/// else random.
fn new_id(headers: &HeaderMap, peer: Option<PeerAddr>, proxies: &TrustedProxies) -> VoterId {
    let stamped = peer
        .filter(|peer| proxies.trusts(peer.0.ip().to_canonical()))
        .and_then(|_| headers.get(REQUEST_ID))
        .and_then(|id| id.to_str().ok())
        .filter(|id| is_unguessable(id));
    match stamped {
        Some(id) => VoterId::derived_from(id),
        None => VoterId::generate(),
    }
}

/// Whether a proxy's request id looks like one drawn at random: at least 32
/// characters (nginx's `$request_id` is 32 hex digits, 128 random bits), at
/// most 128 ASCII letters and digits. Anything shorter could be guessed and
/// would let one client predict another's voter id.
fn is_unguessable(id: &str) -> bool {
    (32..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub(crate) fn from_cookies(headers: &HeaderMap) -> Option<VoterId> {
    cookie(headers, COOKIE_NAME)
        // Only an invite code (and the cookie its vote set) votes as its
        // voter id: a voter cookie that names one is no cookie.
        .filter(|id| !id.is_invite())
}

/// The voter id of [`INVITE_COOKIE_NAME`], if it names an invite voter.
fn invite_from_cookies(headers: &HeaderMap) -> Option<VoterId> {
    cookie(headers, INVITE_COOKIE_NAME).filter(VoterId::is_invite)
}

/// The voter id in the cookie `wanted`, if it is one.
fn cookie(headers: &HeaderMap, wanted: &str) -> Option<VoterId> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
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

    fn peer(ip: &str) -> Option<PeerAddr> {
        Some(PeerAddr(std::net::SocketAddr::new(
            ip.parse().unwrap(),
            40_000,
        )))
    }

    fn stamped(request_id: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID, HeaderValue::from_str(request_id).unwrap());
        headers
    }

    const EDGE_ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_first_contact_retried_by_the_trusted_proxy_is_the_same_voter() {
        let proxies: TrustedProxies = "127.0.0.1".parse().unwrap();
        let first = new_id(&stamped(EDGE_ID), peer("127.0.0.1"), &proxies);
        let retry = new_id(&stamped(EDGE_ID), peer("127.0.0.1"), &proxies);
        assert_eq!(first, retry);
        assert_eq!(first, VoterId::derived_from(EDGE_ID));
        let other = new_id(
            &stamped(&EDGE_ID.replace('0', "1")),
            peer("127.0.0.1"),
            &proxies,
        );
        assert_ne!(first, other, "each edge request is a voter of its own");
    }

    #[test]
    fn request_ids_from_untrusted_peers_or_guessable_ones_give_random_voters() {
        let proxies: TrustedProxies = "127.0.0.1".parse().unwrap();
        let derived = VoterId::derived_from(EDGE_ID);
        for (headers, from) in [
            (stamped(EDGE_ID), peer("10.1.2.3")),
            (stamped(EDGE_ID), None),
            (stamped("42"), peer("127.0.0.1")),
            (stamped(&"a-b".repeat(20)), peer("127.0.0.1")),
            (HeaderMap::new(), peer("127.0.0.1")),
        ] {
            let id = new_id(&headers, from, &proxies);
            assert_ne!(id, derived);
            assert_ne!(id, new_id(&headers, from, &proxies), "random each time");
        }
    }

    #[test]
    fn only_new_voters_get_a_cookie() {
        let new = Voter {
            id: VoterId::generate(),
            issued: true,
            secure: false,
            invite_path: None,
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
            invite_path: None,
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
            invite_path: None,
        };
        let cookie = new.attach(Response::default());
        let cookie = cookie.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
        assert!(
            cookie.ends_with("; HttpOnly; SameSite=Lax; Secure"),
            "{cookie}"
        );
    }

    #[test]
    fn a_codes_voter_gets_a_cookie_for_its_poll_only_and_voter_cookies_never_name_one() {
        let poll = PollId::generate();
        let code_voter = VoterId::try_from(format!("inv_{}", "0".repeat(32))).unwrap();
        let invited = Voter::invited(code_voter.clone(), poll, true);
        let answer = invited.attach(Response::default());
        let cookie = answer.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
        assert_eq!(
            cookie,
            format!(
                "polling_invite={code_voter}; Path=/api/polls/{poll}; Max-Age={MAX_AGE_SECONDS}; HttpOnly; SameSite=Lax; Secure"
            )
        );
        assert_eq!(answer.headers().get_all(SET_COOKIE).iter().count(), 1);
        let named = headers(&format!("polling_voter={code_voter}"));
        assert_eq!(from_cookies(&named), None);
        let both = headers(&format!("polling_voter=v1; polling_invite={code_voter}"));
        assert_eq!(invite_from_cookies(&both), Some(code_voter));
        assert_eq!(invite_from_cookies(&headers("polling_invite=v1")), None);
    }
}

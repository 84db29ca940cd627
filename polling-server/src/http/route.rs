//! [`ROUTES`]: every route the server answers, what each one is to the
//! middleware, and the one matcher ([`find`], [`template`]) that the warp
//! filters, the 404/405 fallback, the metric labels, the rate limits and
//! the concurrency cap all use.

use warp::http::{Method, Request};
use warp::path::{FullPath, Peek};
use warp::{Filter, Rejection};

/// The rate limit a route draws on (see `--rate-limit-polls`,
/// `--rate-limit-votes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RateClass {
    /// Creating a poll, or adding invite codes to one (up to 10,000 rows
    /// a request, as costly as a poll): the client address's poll
    /// allowance.
    CreatePoll,
    /// Casting a ballot: the client address's vote allowance and, with a
    /// voter cookie, that voter's.
    Vote,
}

/// One route of the API: a method, a path template (`{id}` is a poll id)
/// and what it is to the middleware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Route {
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template, as in the OpenAPI document.
    pub path: &'static str,
    /// The rate limit it draws on, if any.
    pub rate: Option<RateClass>,
    /// Whether it is refused with 503 while the server has as many
    /// requests in flight as `--max-concurrent-requests` allows. The
    /// operators' routes are not: an overloaded server is alive, says
    /// itself whether it is ready, and can still be observed.
    pub sheddable: bool,
    /// Where `{id}` starts in `path`, if it has one (found when the route
    /// is made, so that matching searches nothing).
    param: Option<usize>,
}

impl Route {
    const fn new(method: &'static str, path: &'static str) -> Self {
        Self {
            method,
            path,
            rate: None,
            sheddable: true,
            param: param_at(path),
        }
    }

    const fn rate_limited(self, class: RateClass) -> Self {
        Self {
            rate: Some(class),
            ..self
        }
    }

    const fn never_shed(self) -> Self {
        Self {
            sheddable: false,
            ..self
        }
    }

    /// The segment `path` has where the template has `{id}` (`Some("")`
    /// for a template without one), when `path` fits the template; a
    /// trailing slash is the same path, as warp takes it.
    pub fn matches<'p>(&self, path: &'p str) -> Option<&'p str> {
        let path = match path.strip_suffix('/') {
            Some(trimmed) if !trimmed.is_empty() => trimmed,
            _ => path,
        };
        // Every template has at most one `{id}` (a test checks): a prefix,
        // one non-empty segment, a suffix. Compared as slices, without
        // splitting either side: every request is matched against the table.
        match self.param {
            None => (path == self.path).then_some(""),
            Some(at) => {
                let (prefix, suffix) = (&self.path[..at], &self.path[at + PARAM.len()..]);
                let rest = path.strip_prefix(prefix)?;
                let (id, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                (!id.is_empty() && tail == suffix).then_some(id)
            }
        }
    }
}

/// The parameter of a template.
const PARAM: &str = "{id}";

/// Where [`PARAM`] starts in `path`, at compile time.
const fn param_at(path: &str) -> Option<usize> {
    let (bytes, param) = (path.as_bytes(), PARAM.as_bytes());
    let mut at = 0;
    while at + param.len() <= bytes.len() {
        let mut same = 0;
        while same < param.len() && bytes[at + same] == param[same] {
            same += 1;
        }
        if same == param.len() {
            return Some(at);
        }
        at += 1;
    }
    None
}

/// `GET /api/polls`: a page of polls.
pub(crate) const LIST_POLLS: Route = Route::new("GET", "/api/polls");
/// `POST /api/polls`: create a poll.
pub(crate) const CREATE_POLL: Route =
    Route::new("POST", "/api/polls").rate_limited(RateClass::CreatePoll);
/// `GET /api/polls/{id}`: one poll.
pub(crate) const GET_POLL: Route = Route::new("GET", "/api/polls/{id}");
/// `DELETE /api/polls/{id}`: delete a poll (its owner).
pub(crate) const DELETE_POLL: Route = Route::new("DELETE", "/api/polls/{id}");
/// `POST /api/polls/{id}/close`: close a poll (its owner).
pub(crate) const CLOSE_POLL: Route = Route::new("POST", "/api/polls/{id}/close");
/// `POST /api/polls/{id}/votes`: cast a ballot.
pub(crate) const VOTE: Route =
    Route::new("POST", "/api/polls/{id}/votes").rate_limited(RateClass::Vote);
/// `GET /api/polls/{id}/results`: the counts.
pub(crate) const RESULTS: Route = Route::new("GET", "/api/polls/{id}/results");
/// `GET /api/polls/{id}/live`: the live-results WebSocket.
pub(crate) const LIVE: Route = Route::new("GET", "/api/polls/{id}/live");
/// `GET /api/polls/{id}/export/results.csv` (its owner).
pub(crate) const EXPORT_RESULTS_CSV: Route =
    Route::new("GET", "/api/polls/{id}/export/results.csv");
/// `GET /api/polls/{id}/export/results.json` (its owner).
pub(crate) const EXPORT_RESULTS_JSON: Route =
    Route::new("GET", "/api/polls/{id}/export/results.json");
/// `GET /api/polls/{id}/export/ballots.csv` (its owner).
pub(crate) const EXPORT_BALLOTS_CSV: Route =
    Route::new("GET", "/api/polls/{id}/export/ballots.csv");
/// `GET /api/polls/{id}/invites` (its owner): the invite codes as JSON.
pub(crate) const LIST_INVITES: Route = Route::new("GET", "/api/polls/{id}/invites");
/// `POST /api/polls/{id}/invites` (its owner): issue more invite codes.
pub(crate) const ADD_INVITES: Route =
    Route::new("POST", "/api/polls/{id}/invites").rate_limited(RateClass::CreatePoll);
/// `GET /api/polls/{id}/invites.csv` (its owner): the vote links with codes.
pub(crate) const INVITES_CSV: Route = Route::new("GET", "/api/polls/{id}/invites.csv");
/// `POST /api/polls/{id}/invites/revoke` (its owner): revoke an unused code.
pub(crate) const REVOKE_INVITE: Route = Route::new("POST", "/api/polls/{id}/invites/revoke");
/// `GET /api/polls/{id}/qr.svg`: the share link as a QR code.
pub(crate) const QR_CODE: Route = Route::new("GET", "/api/polls/{id}/qr.svg");
/// `GET /p/{id}`: the share page.
pub(crate) const SHARE_PAGE: Route = Route::new("GET", "/p/{id}");
/// `GET /api/openapi.json`: this API's description.
pub(crate) const OPENAPI: Route = Route::new("GET", "/api/openapi.json");
/// `GET /healthz`: liveness.
pub(crate) const HEALTHZ: Route = Route::new("GET", "/healthz").never_shed();
/// `GET /readyz`: readiness per dependency.
pub(crate) const READYZ: Route = Route::new("GET", "/readyz").never_shed();
/// `GET /metrics`: Prometheus metrics.
pub(crate) const METRICS: Route = Route::new("GET", "/metrics").never_shed();

/// Every route the server answers besides the browser app's files, the
/// only list of them. The OpenAPI document lists exactly these (a test
/// holds them together), and requests that match none are answered 404
/// `route_not_found`, or 405 `method_not_allowed` with an `Allow` header
/// when only the method is wrong.
pub const ROUTES: &[Route] = &[
    LIST_POLLS,
    CREATE_POLL,
    GET_POLL,
    DELETE_POLL,
    CLOSE_POLL,
    VOTE,
    RESULTS,
    LIVE,
    EXPORT_RESULTS_CSV,
    EXPORT_RESULTS_JSON,
    EXPORT_BALLOTS_CSV,
    LIST_INVITES,
    ADD_INVITES,
    INVITES_CSV,
    REVOKE_INVITE,
    QR_CODE,
    SHARE_PAGE,
    OPENAPI,
    HEALTHZ,
    READYZ,
    METRICS,
];

/// What [`find`] found for a request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// The route the method and path name.
    Route(&'static Route),
    /// Routes have this path, none this method: the methods they have.
    WrongMethod(Vec<Method>),
    /// No route has this path.
    NoRoute,
}

/// A request's route, resolved once by the outermost middleware that needs
/// it ([`resolve`]) and kept in the request's extensions, so that the layers
/// and filters after it do not match the path against the table again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The route the method and path name, if any.
    pub(crate) route: Option<&'static Route>,
    /// The template of the first route the path fits, whatever the method.
    pub(crate) template: Option<&'static str>,
}

impl Resolved {
    /// Matches `method` and `path` against the table, once.
    fn of(method: &Method, path: &str) -> Self {
        let mut resolved = Self {
            route: None,
            template: None,
        };
        for route in ROUTES.iter().filter(|route| route.matches(path).is_some()) {
            resolved.template.get_or_insert(route.path);
            if route.method == method.as_str() {
                resolved.route = Some(route);
                break;
            }
        }
        resolved
    }
}

/// The route of `request`: from its extensions when resolved before, else
/// matched now and kept there.
pub(crate) fn resolve<B>(request: &mut Request<B>) -> Resolved {
    if let Some(resolved) = request.extensions().get::<Resolved>() {
        return *resolved;
    }
    let resolved = Resolved::of(request.method(), request.uri().path());
    request.extensions_mut().insert(resolved);
    resolved
}

/// The route of `request`, without keeping it (see [`resolve`]).
pub(crate) fn resolved<B>(request: &Request<B>) -> Resolved {
    match request.extensions().get::<Resolved>() {
        Some(resolved) => *resolved,
        None => Resolved::of(request.method(), request.uri().path()),
    }
}

/// The route `method` and `path` name.
pub(crate) fn find(method: &Method, path: &str) -> Lookup {
    let mut allowed = Vec::new();
    for route in ROUTES.iter().filter(|route| route.matches(path).is_some()) {
        if route.method == method.as_str() {
            return Lookup::Route(route);
        }
        allowed.extend(route.method.parse::<Method>().ok());
    }
    if allowed.is_empty() {
        Lookup::NoRoute
    } else {
        Lookup::WrongMethod(allowed)
    }
}

/// The template of the first route `path` fits, whatever the method.
#[cfg(test)]
pub(crate) fn template(path: &str) -> Option<&'static str> {
    ROUTES
        .iter()
        .find(|route| route.matches(path).is_some())
        .map(|route| route.path)
}

/// A filter taking requests for `route` (a template without `{id}`), and
/// rejecting others as not found (the fallback then tells 404 from 405).
pub(crate) fn on(route: &'static Route) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    on_poll(route).map(|_id: String| ()).untuple_one()
}

/// A filter taking requests for `route`, with the raw `{id}` segment.
pub(crate) fn on_poll(
    route: &'static Route,
) -> impl Filter<Extract = (String,), Error = Rejection> + Clone {
    warp::ext::optional::<Resolved>()
        .and(warp::method())
        .and(unmatched_path())
        .and_then(
            move |resolved: Option<Resolved>, method: Method, path: UnmatchedPath| async move {
                // Resolved by the middleware: a comparison per filter
                // instead of a match of the path against the table.
                let ours = match resolved {
                    Some(resolved) => resolved.route == Some(route),
                    None => route.method == method.as_str(),
                };
                // Only the route's own filter reads the path (for its id).
                match ours.then(|| route.matches(path.as_str())).flatten() {
                    Some(id) => Ok(id.to_owned()),
                    None => Err(warp::reject::not_found()),
                }
            },
        )
}

/// The part of a request's path that the filters before this one left
/// unmatched, with its leading `/`: the whole path where the routes are
/// served at the root, and what follows the prefix where an application
/// mounts them under one (`warp::path("polling").and(routes(app))` sees
/// `/polling/api/polls` as `/api/polls`). The template matching of the
/// route filters and of the fallback reads this, so the routes work under
/// any prefix.
pub(crate) fn unmatched_path(
) -> impl Filter<Extract = (UnmatchedPath,), Error = std::convert::Infallible> + Clone {
    warp::path::full()
        .and(warp::path::peek())
        .map(|full: FullPath, rest: Peek| {
            let (full_len, rest_len) = (full.as_str().len(), rest.as_str().len());
            // warp leaves the unmatched rest just after a `/`, which is kept.
            let start = if rest_len == 0 {
                full_len
            } else {
                full_len - rest_len - 1
            };
            UnmatchedPath { full, start }
        })
}

/// What [`unmatched_path`] extracts.
#[derive(Debug)]
pub(crate) struct UnmatchedPath {
    /// The request's whole path.
    full: FullPath,
    /// Where the unmatched part starts in it, at its `/`.
    start: usize,
}

impl UnmatchedPath {
    /// The unmatched part, `/` when nothing is left (the root of the mount).
    pub(crate) fn as_str(&self) -> &str {
        match &self.full.as_str()[self.start..] {
            "" => "/",
            rest => rest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_one_segment_per_parameter() {
        assert_eq!(GET_POLL.matches("/api/polls/abc"), Some("abc"));
        assert_eq!(GET_POLL.matches("/api/polls/"), None);
        assert_eq!(GET_POLL.matches("/api/polls/abc/"), Some("abc"));
        assert_eq!(GET_POLL.matches("/api/polls/abc/votes"), None);
        assert_eq!(LIST_POLLS.matches("/api/polls"), Some(""));
        assert_eq!(LIST_POLLS.matches("/api/polls/"), Some(""));
        assert_eq!(LIST_POLLS.matches("/api/polls//"), None);
        assert_eq!(RESULTS.matches("/api/polls//results"), None);
    }

    #[test]
    fn every_template_has_at_most_one_parameter_matched_as_a_whole_segment() {
        for route in ROUTES {
            assert!(route.path.matches("{id}").count() <= 1, "{}", route.path);
        }
        assert_eq!(RESULTS.matches("/api/polls/abc/results"), Some("abc"));
        assert_eq!(RESULTS.matches("/api/polls/abc/results/"), Some("abc"));
        assert_eq!(RESULTS.matches("/api/polls/abc/resultsx"), None);
        assert_eq!(RESULTS.matches("/api/polls/a/b/results"), None);
        assert_eq!(RESULTS.matches("/api/pollsabc/results"), None);
        assert_eq!(HEALTHZ.matches("/healthz"), Some(""));
        assert_eq!(HEALTHZ.matches("/healthzz"), None);
    }

    #[test]
    fn a_request_is_resolved_once_as_find_and_template_would() {
        let paths = [
            "/api/polls",
            "/api/polls/abc",
            "/api/polls/abc/votes",
            "/api/polls/abc/results/",
            "/api/nope",
            "/app.js",
        ];
        for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
            for path in paths {
                let mut request = Request::builder()
                    .method(method.clone())
                    .uri(path)
                    .body(())
                    .unwrap();
                let resolved = resolve(&mut request);
                let found = match find(&method, path) {
                    Lookup::Route(route) => Some(route),
                    _ => None,
                };
                assert_eq!(resolved.route, found, "{method} {path}");
                assert_eq!(resolved.template, template(path), "{method} {path}");
                assert_eq!(request.extensions().get::<Resolved>(), Some(&resolved));
                assert_eq!(resolved_of_kept(&request), resolved);
            }
        }
    }

    #[tokio::test]
    async fn the_unmatched_path_is_what_follows_a_prefix() {
        let rest = |prefixed: bool, path: &'static str| async move {
            let seen = unmatched_path().map(|rest: UnmatchedPath| rest.as_str().to_owned());
            let request = warp::test::request().path(path);
            if prefixed {
                request
                    .filter(&warp::path("polling").and(seen))
                    .await
                    .unwrap()
            } else {
                request.filter(&seen).await.unwrap()
            }
        };
        assert_eq!(rest(false, "/api/polls/abc/").await, "/api/polls/abc/");
        assert_eq!(rest(false, "/").await, "/");
        assert_eq!(rest(true, "/polling/api/polls").await, "/api/polls");
        assert_eq!(rest(true, "/polling/api/polls/").await, "/api/polls/");
        assert_eq!(rest(true, "/polling/").await, "/");
        assert_eq!(rest(true, "/polling").await, "/");
        assert_eq!(rest(true, "/polling//x").await, "//x");
    }

    fn resolved_of_kept(request: &Request<()>) -> Resolved {
        resolved(request)
    }

    #[test]
    fn a_known_path_with_a_wrong_method_names_the_allowed_ones() {
        assert_eq!(
            find(&Method::PUT, "/api/polls/abc"),
            Lookup::WrongMethod(vec![Method::GET, Method::DELETE])
        );
        assert_eq!(find(&Method::GET, "/api/nope"), Lookup::NoRoute);
        assert_eq!(
            find(&Method::POST, "/api/polls/"),
            Lookup::Route(&CREATE_POLL)
        );
    }

    #[test]
    fn only_creating_polls_adding_codes_and_voting_are_rate_limited() {
        let rate = |method: Method, path: &str| match find(&method, path) {
            Lookup::Route(route) => route.rate,
            _ => None,
        };
        assert_eq!(
            rate(Method::POST, "/api/polls"),
            Some(RateClass::CreatePoll)
        );
        assert_eq!(
            rate(Method::POST, "/api/polls/abc/votes"),
            Some(RateClass::Vote)
        );
        assert_eq!(
            rate(Method::POST, "/api/polls/abc/invites"),
            Some(RateClass::CreatePoll)
        );
        assert_eq!(rate(Method::POST, "/api/polls/abc/invites/revoke"), None);
        assert_eq!(rate(Method::GET, "/api/polls"), None);
        assert_eq!(rate(Method::POST, "/api/polls/abc/close"), None);
        assert_eq!(rate(Method::POST, "/api/polls//votes"), None);
    }

    #[test]
    fn only_the_operators_routes_are_never_shed() {
        let kept: Vec<&str> = ROUTES
            .iter()
            .filter(|route| !route.sheddable)
            .map(|route| route.path)
            .collect();
        assert_eq!(kept, ["/healthz", "/readyz", "/metrics"]);
    }

    #[test]
    fn poll_ids_become_the_id_placeholder() {
        let id = "0190a0b0-0000-7000-8000-000000000000";
        assert_eq!(
            template(&format!("/api/polls/{id}/results")),
            Some("/api/polls/{id}/results")
        );
        assert_eq!(
            template(&format!("/api/polls/{id}")),
            Some("/api/polls/{id}")
        );
        assert_eq!(template("/api/polls/"), Some("/api/polls"));
        assert_eq!(template("/app.js"), None);
        assert_eq!(template("/api/polls/x/y/z"), None);
    }

    #[test]
    fn no_two_routes_share_a_method_and_template() {
        let mut seen = std::collections::HashSet::new();
        for route in ROUTES {
            assert!(seen.insert((route.method, route.path)), "{route:?} twice");
        }
    }
}

//! [`ROUTES`]: every route the server answers, what each one is to the
//! middleware, and the one matcher ([`find`], [`template`]) that the warp
//! filters, the 404/405 fallback, the metric labels, the rate limits and
//! the concurrency cap all use.

use warp::http::Method;
use warp::path::FullPath;
use warp::{Filter, Rejection};

/// The rate limit a route draws on (see `--rate-limit-polls`,
/// `--rate-limit-votes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RateClass {
    /// Creating a poll: the client address's poll allowance.
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
}

impl Route {
    const fn new(method: &'static str, path: &'static str) -> Self {
        Self {
            method,
            path,
            rate: None,
            sheddable: true,
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
        let mut template = self.path.split('/');
        let mut segments = path.split('/');
        let mut id = "";
        loop {
            match (template.next(), segments.next()) {
                (None, None) => return Some(id),
                (Some("{id}"), Some(segment)) if !segment.is_empty() => id = segment,
                (Some(part), Some(segment)) if part == segment => {}
                _ => return None,
            }
        }
    }
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
    warp::method().and(warp::path::full()).and_then(
        move |method: Method, path: FullPath| async move {
            match route.matches(path.as_str()) {
                Some(id) if route.method == method.as_str() => Ok(id.to_owned()),
                _ => Err(warp::reject::not_found()),
            }
        },
    )
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
    fn only_creating_polls_and_voting_are_rate_limited() {
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

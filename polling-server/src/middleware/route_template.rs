//! [`route_template`]: a request path as the route it matched.

use crate::http::route;

/// The template of the [route](crate::ROUTES) `path` matches, such as
/// `/api/polls/{id}/results`, for metric labels and logs: a label per poll
/// id would grow without bound. Paths of no route are `static` (the browser
/// app's files) when served, and `unmatched` otherwise.
pub(crate) fn route_template(path: &str, served: bool) -> &'static str {
    route::template(path).unwrap_or(if served { "static" } else { "unmatched" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_paths_are_static_or_unmatched_never_themselves() {
        assert_eq!(
            route_template("/api/polls/abc/results", true),
            "/api/polls/{id}/results"
        );
        assert_eq!(route_template("/app.js", true), "static");
        assert_eq!(route_template("/api/polls/x/y/z", false), "unmatched");
        assert_eq!(route_template("/api/polls//results", false), "unmatched");
    }
}

//! [`route_template`]: a request path as the route it matched.

/// The template of the [route](crate::ROUTES) a path matched
/// (`route::template`), such as
/// `/api/polls/{id}/results`, for metric labels and logs: a label per poll
/// id would grow without bound. Paths of no route are `static` (the browser
/// app's files) when served, and `unmatched` otherwise.
pub(crate) fn route_template(template: Option<&'static str>, served: bool) -> &'static str {
    template.unwrap_or(if served { "static" } else { "unmatched" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::route;

    #[test]
    fn other_paths_are_static_or_unmatched_never_themselves() {
        assert_eq!(
            route_template(route::template("/api/polls/abc/results"), true),
            "/api/polls/{id}/results"
        );
        let of = |path, served| route_template(route::template(path), served);
        assert_eq!(of("/app.js", true), "static");
        assert_eq!(of("/api/polls/x/y/z", false), "unmatched");
        assert_eq!(of("/api/polls//results", false), "unmatched");
    }
}

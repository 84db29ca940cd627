//! [`route_template`]: a request path as the route it matched.

use crate::routes::ROUTES;

/// The template of the [route](crate::ROUTES) `path` matches, such as
/// `/api/polls/{id}/results`, for metric labels and logs: a label per poll
/// id would grow without bound. Paths of no route are `static` (the browser
/// app's files) when served, and `unmatched` otherwise.
pub(crate) fn route_template(path: &str, served: bool) -> &'static str {
    let path = match path.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => trimmed,
        _ => path,
    };
    ROUTES
        .iter()
        .map(|route| route.path)
        .find(|template| matches(template, path))
        .unwrap_or(if served { "static" } else { "unmatched" })
}

fn matches(template: &str, path: &str) -> bool {
    let mut segments = path.split('/');
    let all_match = template.split('/').all(|part| match segments.next() {
        Some(segment) => part == segment || (part == "{id}" && !segment.is_empty()),
        None => false,
    });
    all_match && segments.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_ids_become_the_id_placeholder() {
        let id = "0190a0b0-0000-7000-8000-000000000000";
        assert_eq!(
            route_template(&format!("/api/polls/{id}/results"), true),
            "/api/polls/{id}/results"
        );
        assert_eq!(
            route_template(&format!("/api/polls/{id}"), true),
            "/api/polls/{id}"
        );
        assert_eq!(route_template("/api/polls/", true), "/api/polls");
        assert_eq!(route_template("/metrics", true), "/metrics");
    }

    #[test]
    fn other_paths_are_static_or_unmatched_never_themselves() {
        assert_eq!(route_template("/app.js", true), "static");
        assert_eq!(route_template("/api/polls/x/y/z", false), "unmatched");
        assert_eq!(route_template("/api/polls//results", false), "unmatched");
    }
}

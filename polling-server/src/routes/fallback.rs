//! What answers requests no route took: 404 or 405, decided by [`ROUTES`].

use warp::http::Method;
use warp::path::FullPath;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::ROUTES;
use crate::error::ApiError;

/// Always rejects: with `route_not_found` or `method_not_allowed` when no
/// route matches the request, and with warp's "not found" (so that the route's
/// own, more precise refusal wins) when one does.
pub(super) fn unmatched() -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::method()
        .and(warp::path::full())
        .and_then(|method: Method, path: FullPath| async move {
            Err::<Response, _>(refusal(&method, path.as_str()))
        })
}

fn refusal(method: &Method, path: &str) -> Rejection {
    let allowed: Vec<Method> = ROUTES
        .iter()
        .filter(|route| template_matches(route.path, path))
        .filter_map(|route| route.method.parse().ok())
        .collect();
    if allowed.is_empty() {
        ApiError::RouteNotFound.into()
    } else if allowed.contains(method) {
        warp::reject::not_found()
    } else {
        ApiError::MethodNotAllowed(allowed).into()
    }
}

/// Whether `path` fits `template`, where a `{name}` segment fits any one
/// non-empty segment.
fn template_matches(template: &str, path: &str) -> bool {
    // warp's routes take a trailing slash as the same path.
    let path = match path.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => trimmed,
        _ => path,
    };
    let mut template = template.split('/');
    let mut path = path.split('/');
    loop {
        match (template.next(), path.next()) {
            (None, None) => return true,
            (Some(t), Some(p)) if t.starts_with('{') && t.ends_with('}') && !p.is_empty() => {}
            (Some(t), Some(p)) if t == p => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_one_segment_per_parameter() {
        assert!(template_matches("/api/polls/{id}", "/api/polls/abc"));
        assert!(!template_matches("/api/polls/{id}", "/api/polls/"));
        assert!(template_matches("/api/polls/{id}", "/api/polls/abc/"));
        assert!(!template_matches("/api/polls/{id}", "/api/polls/abc/votes"));
        assert!(template_matches("/api/polls", "/api/polls"));
        assert!(template_matches("/api/polls", "/api/polls/"));
        assert!(!template_matches("/api/polls", "/api/polls//"));
    }

    #[test]
    fn a_known_path_with_a_wrong_method_is_405_with_the_allowed_ones() {
        let rejection = refusal(&Method::PUT, "/api/polls/abc");
        match rejection.find::<ApiError>() {
            Some(ApiError::MethodNotAllowed(allowed)) => {
                assert_eq!(allowed, &[Method::GET, Method::DELETE]);
            }
            other => panic!("expected method_not_allowed, got {other:?}"),
        }
    }

    #[test]
    fn an_unknown_path_is_404() {
        let rejection = refusal(&Method::GET, "/api/nope");
        assert!(matches!(
            rejection.find::<ApiError>(),
            Some(ApiError::RouteNotFound)
        ));
    }

    #[test]
    fn a_known_route_defers_to_the_route_itself() {
        assert!(refusal(&Method::POST, "/api/polls").is_not_found());
    }
}

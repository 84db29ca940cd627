//! What answers requests no route took: 404 or 405, decided by the
//! [route table](crate::http::route).

use warp::http::Method;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::error::ApiError;
use crate::http::route::{self, Lookup, UnmatchedPath};

/// Always rejects: with `route_not_found` or `method_not_allowed` when no
/// route matches the request, and with warp's "not found" (so that the route's
/// own, more precise refusal wins) when one does.
pub(super) fn unmatched() -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::method().and(route::unmatched_path()).and_then(
        |method: Method, path: UnmatchedPath| async move {
            Err::<Response, _>(refusal(&method, path.as_str()))
        },
    )
}

fn refusal(method: &Method, path: &str) -> Rejection {
    match route::find(method, path) {
        Lookup::NoRoute => ApiError::RouteNotFound.into(),
        Lookup::Route(_) => warp::reject::not_found(),
        Lookup::WrongMethod(allowed) => ApiError::MethodNotAllowed(allowed).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

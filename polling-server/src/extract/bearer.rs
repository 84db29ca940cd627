//! The manage token from `Authorization: Bearer <token>`.

use polling_core::ManageToken;
use warp::http::header::AUTHORIZATION;
use warp::http::HeaderMap;
use warp::{Filter, Rejection};

use crate::error::ApiError;

/// The presented manage token, or 401 `unauthorized`.
pub(crate) fn bearer_token() -> impl Filter<Extract = (ManageToken,), Error = Rejection> + Clone {
    warp::header::headers_cloned().and_then(|headers: HeaderMap| async move {
        parse(&headers).ok_or_else(|| Rejection::from(ApiError::Unauthorized))
    })
}

/// The presented manage token, if any; never refuses (routes that only
/// widen what they show for an owner take it this way).
pub(crate) fn optional_bearer_token(
) -> impl Filter<Extract = (Option<ManageToken>,), Error = std::convert::Infallible> + Clone {
    warp::header::headers_cloned().map(|headers: HeaderMap| parse(&headers))
}

fn parse(headers: &HeaderMap) -> Option<ManageToken> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    ManageToken::presented(token.trim())
}

#[cfg(test)]
mod tests {
    use warp::http::HeaderValue;

    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_bearer_tokens_are_taken() {
        assert_eq!(parse(&headers("Bearer abc")).unwrap().as_str(), "abc");
        assert_eq!(parse(&headers("bearer  abc ")).unwrap().as_str(), "abc");
        assert!(parse(&headers("Basic abc")).is_none());
        assert!(parse(&headers("Bearer ")).is_none());
        assert!(parse(&headers(&format!("Bearer {}", "a".repeat(300)))).is_none());
        assert!(parse(&HeaderMap::new()).is_none());
    }
}

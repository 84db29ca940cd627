//! Reading a poll's results, with `ETag` revalidation.

use polling_core::access::{CountsAccess, Viewer};
use polling_core::{ManageToken, Visibility};
use warp::filters::BoxedFilter;
use warp::http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use warp::http::{HeaderMap, HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::{json, parse_poll_id, private, with_app};
use crate::app::App;
use crate::error::ApiError;
use crate::extract::{optional_bearer_token, voter, Voter};
use crate::http::route;

pub(super) fn routes(app: &App) -> BoxedFilter<(Response,)> {
    route::on_poll(&route::RESULTS)
        .and(with_app(app))
        .and(voter(app))
        .and(optional_bearer_token())
        .and(warp::header::headers_cloned())
        .and_then(results)
        .boxed()
}

/// 200 with the results and `ETag: "<version>"`, or 304 when the client's
/// `If-None-Match` already names that version; 403 `results_hidden` when the
/// poll's visibility hides the counts from this requester (no `ETag` then).
/// Answers that depend on who asks (any visibility but `always`) are
/// `private` and vary on the cookie and the manage token.
async fn results(
    raw_id: String,
    app: App,
    voter: Voter,
    token: Option<ManageToken>,
    headers: HeaderMap,
) -> Result<Response, Rejection> {
    let poll_id = parse_poll_id(&raw_id)?;
    let viewer = Viewer {
        voter: Some(&voter.id),
        token: token.as_ref(),
        voted: false,
    };
    let access = app.access(poll_id, viewer).await.map_err(ApiError::from)?;
    if let CountsAccess::Hidden { visibility, .. } = access {
        return Ok(voter.attach(ApiError::ResultsHidden(visibility).into_response()));
    }
    let personal = app.parts.visibilities.get(poll_id) != Some(Visibility::Always);
    let results = app.results(poll_id).await.map_err(ApiError::from)?;
    let etag = format!("\"{}\"", results.version);
    let mut response = if if_none_match(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        json(&results, StatusCode::OK)
    };
    let response_headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response_headers.insert(ETAG, value);
    }
    // Results change with every vote: always revalidate.
    response_headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if personal {
        private(&mut response);
    }
    Ok(voter.attach(response))
}

/// Whether any `If-None-Match` entity tag matches `etag` (weak comparison, as
/// RFC 9110 asks for this header), or is `*`.
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    #[test]
    fn if_none_match_compares_weakly_over_lists() {
        assert!(if_none_match(&headers(&["\"3\""]), "\"3\""));
        assert!(if_none_match(&headers(&["W/\"3\""]), "\"3\""));
        assert!(if_none_match(&headers(&["\"1\", \"3\""]), "\"3\""));
        assert!(if_none_match(&headers(&["\"1\"", "\"3\""]), "\"3\""));
        assert!(if_none_match(&headers(&["*"]), "\"3\""));
        assert!(!if_none_match(&headers(&["\"2\""]), "\"3\""));
        assert!(!if_none_match(&headers(&["3"]), "\"3\""));
        assert!(!if_none_match(&HeaderMap::new(), "\"3\""));
    }
}

//! Reading a poll's results, with `ETag` revalidation.

use warp::filters::BoxedFilter;
use warp::http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use warp::http::{HeaderMap, HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::{json, parse_poll_id, with_app};
use crate::app::App;
use crate::error::ApiError;
use crate::extract::{voter, Voter};

pub(super) fn routes(app: &App) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "polls" / String / "results")
        .and(warp::get())
        .and(with_app(app))
        .and(voter(app.secure_cookies))
        .and(warp::header::headers_cloned())
        .and_then(results)
        .boxed()
}

/// 200 with the results and `ETag: "<version>"`, or 304 when the client's
/// `If-None-Match` already names that version.
async fn results(
    raw_id: String,
    app: App,
    voter: Voter,
    headers: HeaderMap,
) -> Result<Response, Rejection> {
    let poll_id = parse_poll_id(&raw_id)?;
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

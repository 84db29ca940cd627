//! A JSON body: checked media type, bounded size, precise errors.
//!
//! Ours rather than `warp::body::json`, which answers every problem with
//! one opaque rejection and reads the whole body before any limit applies:
//! here a body is refused at its `Content-Length` or as soon as it passes
//! the limit (413), must arrive within `--body-read-timeout` (408), must be
//! `application/json` (415), and malformed JSON (400) is told apart from
//! JSON that does not fit the request's shape (422), as the error table
//! promises. It also
//! fingerprints the bytes for `Idempotency-Key` replays.

use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::TryStreamExt;
use polling_core::idempotency::Fingerprint;
use serde::de::DeserializeOwned;
use serde_json::error::Category;
use warp::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use warp::http::HeaderMap;
use warp::{Filter, Rejection};

use crate::error::ApiError;

/// Reads the body as JSON into `T`, refusing with:
///
/// * 415 when the `Content-Type` is not `application/json`;
/// * 413 when the body is over `limit` bytes (checked against
///   `Content-Length` first, then while reading, so chunked bodies are bounded too);
/// * 408 when the body takes longer than `read_timeout` to arrive (a slow
///   client holds no request open forever);
/// * 400 when it is not well-formed JSON or not UTF-8;
/// * 422 when it is well-formed but does not fit `T` (wrong type, missing or unknown field).
///
/// Along with the value come the body's bytes, whose [`Fingerprint`] an
/// `Idempotency-Key` needs (the same key with another body is refused):
/// computed only then, since most requests carry no key.
pub(crate) fn fingerprinted_json_body<T: DeserializeOwned + Send + 'static>(
    limit: u64,
    read_timeout: Duration,
) -> impl Filter<Extract = ((T, BodyBytes),), Error = Rejection> + Clone {
    warp::header::headers_cloned()
        .and(warp::body::stream())
        .and_then(move |headers: HeaderMap, body| async move {
            check_media_type(&headers)?;
            let declared = headers
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|len| len > limit) {
                return Err(ApiError::PayloadTooLarge(limit).into());
            }
            let bytes = tokio::time::timeout(read_timeout, read_bounded(body, limit))
                .await
                .map_err(|_| ApiError::RequestTimeout)??;
            let value = parse(&bytes)?;
            Ok::<_, Rejection>((value, BodyBytes(bytes.freeze())))
        })
}

/// A request body's bytes as sent, for its [`Fingerprint`].
#[derive(Clone, Debug)]
pub(crate) struct BodyBytes(Bytes);

impl BodyBytes {
    /// The fingerprint of the bytes as sent.
    pub(crate) fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.0)
    }
}

fn check_media_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    if is_json {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType)
    }
}

async fn read_bounded<S, B>(body: S, limit: u64) -> Result<BytesMut, ApiError>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>> + Send,
    B: Buf,
{
    let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    futures_util::pin_mut!(body);
    let mut bytes = BytesMut::new();
    while let Some(mut chunk) = body
        .try_next()
        .await
        .map_err(|e| ApiError::BadRequest(format!("the body could not be read: {e}")))?
    {
        if bytes.len().saturating_add(chunk.remaining()) > limit_usize {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            bytes.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    Ok(bytes)
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        Category::Data => ApiError::InvalidField(e.to_string()),
        Category::Syntax | Category::Eof | Category::Io => ApiError::MalformedJson(e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Probe {
        #[allow(dead_code)]
        n: u32,
    }

    fn filter() -> impl Filter<Extract = ((Probe, BodyBytes),), Error = Rejection> + Clone {
        fingerprinted_json_body::<Probe>(16, Duration::from_secs(5))
    }

    async fn refusal(request: warp::test::RequestBuilder) -> &'static str {
        let rejection = request.filter(&filter()).await.unwrap_err();
        rejection.find::<ApiError>().expect("an ApiError").code()
    }

    fn post(body: &'static [u8]) -> warp::test::RequestBuilder {
        warp::test::request()
            .method("POST")
            .header("content-type", "application/json; charset=utf-8")
            .body(body)
    }

    #[tokio::test]
    async fn well_formed_bodies_parse() {
        assert!(post(br#"{"n": 3}"#).filter(&filter()).await.is_ok());
    }

    #[tokio::test]
    async fn the_fingerprint_is_of_the_bytes_as_sent() {
        let (probe, body) = post(br#"{"n": 3}"#).filter(&filter()).await.unwrap();
        assert_eq!(probe.n, 3);
        let fingerprint = body.fingerprint();
        assert_eq!(fingerprint, Fingerprint::of(br#"{"n": 3}"#));
        let (_, spaced) = post(br#"{"n":  3}"#).filter(&filter()).await.unwrap();
        assert_ne!(
            spaced.fingerprint(),
            fingerprint,
            "other bytes, another fingerprint"
        );
    }

    #[tokio::test]
    async fn each_fault_gets_its_own_code() {
        assert_eq!(refusal(post(b"{")).await, "malformed_json");
        assert_eq!(refusal(post(b"")).await, "malformed_json");
        assert_eq!(refusal(post(b"{\"n\": \"\xff\"}")).await, "malformed_json");
        assert_eq!(refusal(post(br#"{"n": -1}"#)).await, "invalid_field");
        assert_eq!(refusal(post(br#"{"n": 1, "m": 2}"#)).await, "invalid_field");
        assert_eq!(
            refusal(post(br#"{"n": 1,      "x": 22}"#)).await,
            "payload_too_large"
        );
        let text = warp::test::request()
            .method("POST")
            .header("content-type", "text/plain")
            .body("{}");
        assert_eq!(refusal(text).await, "unsupported_media_type");
        let none = warp::test::request().method("POST").body("{}");
        assert_eq!(refusal(none).await, "unsupported_media_type");
    }
}

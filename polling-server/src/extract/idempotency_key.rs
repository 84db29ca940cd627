//! The `Idempotency-Key` request header.

use warp::http::HeaderMap;
use warp::{Filter, Rejection};

use crate::error::ApiError;

/// The header's name.
pub(crate) const HEADER: &str = "idempotency-key";

/// The longest key accepted.
const MAX_LEN: usize = 255;

/// A client's idempotency key: 1 to 255 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key as sent (without the quotes of its structured-field form).
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// The request's `Idempotency-Key`, if any; 400 `invalid_idempotency_key`
/// when it is present but malformed, or sent twice.
pub(crate) fn idempotency_key(
) -> impl Filter<Extract = (Option<IdempotencyKey>,), Error = Rejection> + Clone {
    warp::header::headers_cloned()
        .and_then(|headers: HeaderMap| async move { parse(&headers).map_err(Rejection::from) })
}

fn parse(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ApiError> {
    let mut values = headers.get_all(HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::InvalidIdempotencyKey);
    }
    let text = value
        .to_str()
        .map_err(|_| ApiError::InvalidIdempotencyKey)?;
    // The draft defines the key as a structured-field string ("..."); bare
    // tokens, as most clients send them, are taken as they are.
    let key = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let visible = key.bytes().all(|b| b.is_ascii_graphic());
    if key.is_empty() || key.len() > MAX_LEN || !visible || key.contains('"') {
        return Err(ApiError::InvalidIdempotencyKey);
    }
    Ok(Some(IdempotencyKey(key.to_owned())))
}

#[cfg(test)]
mod tests {
    use warp::http::HeaderValue;

    use super::*;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(HEADER, HeaderValue::from_bytes(value).unwrap());
        }
        headers
    }

    #[test]
    fn keys_are_visible_ascii_of_1_to_255_characters() {
        let key = |v: &[u8]| parse(&headers(&[v])).map(|k| k.map(|k| k.0));
        assert_eq!(key(b"abc-123_X").unwrap().as_deref(), Some("abc-123_X"));
        assert_eq!(key(b"\"8e03-40d5\"").unwrap().as_deref(), Some("8e03-40d5"));
        assert_eq!(key(&[b'k'; 255]).unwrap().map(|k| k.len()), Some(255));
        for bad in [
            &b""[..],
            b"\"\"",
            b"a b",
            b"tab\there",
            &[b'k'; 256],
            b"\xc3\xa9",
            b"a\"b",
        ] {
            assert!(key(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn no_key_is_none_and_two_keys_are_refused() {
        assert_eq!(parse(&HeaderMap::new()).unwrap(), None);
        assert!(parse(&headers(&[b"a", b"b"])).is_err());
    }
}

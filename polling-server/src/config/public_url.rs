//! [`PublicUrl`]: where the server is reached from outside, for share links.

use std::fmt;
use std::str::FromStr;

use warp::http::header::HOST;
use warp::http::HeaderMap;

use crate::error::ApiError;

/// The header a proxy sets to the scheme the client used.
const FORWARDED_PROTO: &str = "x-forwarded-proto";

/// The public base URL of the server (`https://polls.example.com`, or with
/// a path prefix), as `--public-url` sets it: share links are
/// `<base>/p/<id>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    /// The base, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PublicUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim().trim_end_matches('/');
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .ok_or_else(|| format!("`{text}` is not an http:// or https:// URL"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let path_ok = path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b));
        if !is_host(authority) || !path_ok {
            return Err(format!(
                "`{text}` is not a base URL like https://polls.example.com"
            ));
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The base of share links: the configured public URL, else the scheme
/// (`X-Forwarded-Proto`, else http) and `Host` of the request.
///
/// # Errors
///
/// 400 when nothing is configured and the `Host` is missing or not
/// `host[:port]`.
pub(crate) fn share_base(
    configured: Option<&PublicUrl>,
    headers: &HeaderMap,
) -> Result<String, ApiError> {
    if let Some(url) = configured {
        return Ok(url.0.clone());
    }
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|h| is_host(h))
        .ok_or(ApiError::NoPublicUrl)?;
    let https = headers
        .get(FORWARDED_PROTO)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    let scheme = if https { "https" } else { "http" };
    Ok(format!("{scheme}://{}", host.to_ascii_lowercase()))
}

/// Whether `text` is `host[:port]`: a DNS name or IPv4 address of letters,
/// digits, dots and hyphens, or an IPv6 address in brackets, and a port of
/// 1 to 5 digits.
fn is_host(text: &str) -> bool {
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') || host.ends_with(']') => (host, Some(port)),
        _ => (text, None),
    };
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        !v6.is_empty()
            && v6
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
    } else {
        !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            && !host.starts_with(['.', '-'])
    };
    port_ok && host_ok
}

#[cfg(test)]
mod tests {
    use warp::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn the_configured_url_wins_over_the_request() {
        let url: PublicUrl = "https://polls.example.com/".parse().unwrap();
        assert_eq!(url.as_str(), "https://polls.example.com");
        let base = share_base(Some(&url), &headers(&[("host", "evil.example")])).unwrap();
        assert_eq!(base, "https://polls.example.com");
        assert!("https://polls.example.com/app".parse::<PublicUrl>().is_ok());
    }

    #[test]
    fn bad_public_urls_are_refused() {
        for bad in [
            "polls.example.com",
            "ftp://x",
            "https://",
            "https://a b",
            "https://x/\"><",
            "https://u@x",
        ] {
            assert!(bad.parse::<PublicUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_request_host_and_forwarded_proto_make_the_base() {
        let base = |pairs: &[(&'static str, &str)]| share_base(None, &headers(pairs));
        assert_eq!(
            base(&[("host", "Localhost:8080")]).unwrap(),
            "http://localhost:8080"
        );
        assert_eq!(
            base(&[
                ("host", "polls.example.com"),
                ("x-forwarded-proto", "https")
            ])
            .unwrap(),
            "https://polls.example.com"
        );
        assert_eq!(
            base(&[("host", "[::1]:8080")]).unwrap(),
            "http://[::1]:8080"
        );
        assert_eq!(base(&[("host", "127.0.0.1")]).unwrap(), "http://127.0.0.1");
        for bad in [
            "",
            "a b",
            "x\"><script>",
            "user@host",
            "host:port",
            "host:123456",
            "-x",
        ] {
            assert!(base(&[("host", bad)]).is_err(), "{bad:?}");
        }
        assert!(base(&[]).is_err(), "no Host at all");
    }
}

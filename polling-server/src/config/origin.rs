//! [`AllowedOrigins`]: which pages may open live-results sockets.
//!
//! Browsers send cookies with a cross-site WebSocket handshake and do not
//! apply CORS to it, so the server itself checks `Origin` (against
//! cross-site WebSocket hijacking).

use std::fmt;
use std::str::FromStr;

/// The origins allowed to open WebSockets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Only pages served by this host: `Origin`'s host and port equal the
    /// request's `Host` (the default; behind a proxy that keeps `Host`).
    #[default]
    SameOrigin,
    /// Exactly these origins (`scheme://host[:port]`, compared without case).
    List(Vec<String>),
    /// Any origin: for development only.
    Any,
}

impl AllowedOrigins {
    /// Whether a handshake with this `Origin` and `Host` may proceed.
    ///
    /// A handshake without `Origin` does not come from a browser page (no
    /// cookie of a victim rides on it) and is allowed.
    pub fn permits(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        match self {
            Self::Any => true,
            Self::List(allowed) => allowed
                .iter()
                .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin)),
            Self::SameOrigin => {
                let origin_host = origin.split_once("://").map(|(_, rest)| rest);
                matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
            }
        }
    }
}

impl FromStr for AllowedOrigins {
    type Err = String;

    /// `same-origin`, `*`, or a comma-separated list of origins.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "" | "same-origin" => Ok(Self::SameOrigin),
            "*" => Ok(Self::Any),
            list => {
                let origins: Vec<String> = list
                    .split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect();
                match origins.iter().find(|o| !is_origin(o)) {
                    Some(bad) => Err(format!(
                        "`{bad}` is not an origin like https://polls.example.com"
                    )),
                    None => Ok(Self::List(origins)),
                }
            }
        }
    }
}

impl fmt::Display for AllowedOrigins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SameOrigin => f.write_str("same-origin"),
            Self::Any => f.write_str("*"),
            Self::List(origins) => f.write_str(&origins.join(",")),
        }
    }
}

fn is_origin(text: &str) -> bool {
    match text.split_once("://") {
        Some((scheme, host)) => {
            matches!(scheme, "http" | "https") && !host.is_empty() && !host.contains('/')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_compares_origin_host_with_the_host_header() {
        let policy = AllowedOrigins::SameOrigin;
        assert!(policy.permits(Some("http://localhost:8080"), Some("localhost:8080")));
        assert!(policy.permits(Some("https://Polls.Example"), Some("polls.example")));
        assert!(!policy.permits(Some("https://evil.example"), Some("polls.example")));
        assert!(!policy.permits(Some("http://localhost:9999"), Some("localhost:8080")));
        assert!(!policy.permits(Some("null"), Some("localhost:8080")));
        assert!(
            policy.permits(None, Some("localhost:8080")),
            "no Origin: not a browser page"
        );
    }

    #[test]
    fn a_list_allows_exactly_its_origins() {
        let policy: AllowedOrigins = "https://a.example, https://b.example:8443/"
            .parse()
            .unwrap();
        assert!(policy.permits(Some("https://a.example"), Some("backend:8080")));
        assert!(policy.permits(Some("https://b.example:8443"), None));
        assert!(!policy.permits(Some("http://a.example"), Some("a.example")));
        assert_eq!(
            policy.to_string(),
            "https://a.example,https://b.example:8443"
        );
    }

    #[test]
    fn settings_parse_and_bad_ones_are_refused() {
        assert_eq!("same-origin".parse(), Ok(AllowedOrigins::SameOrigin));
        assert_eq!("*".parse(), Ok(AllowedOrigins::Any));
        assert!("a.example".parse::<AllowedOrigins>().is_err());
        assert!("https://a.example/path".parse::<AllowedOrigins>().is_err());
    }
}

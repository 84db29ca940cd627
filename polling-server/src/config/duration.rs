//! Durations in flags and environment variables: `500ms`, `5s`, `2m`, `24h`,
//! `1h 30m` (humantime's syntax), or a bare number of seconds.

use std::time::Duration;

/// Parses a duration as every duration flag of the server does: a bare `<n>`
/// is seconds; anything else is [humantime](https://docs.rs/humantime)'s
/// syntax (`250ms`, `5s`, `2m`, `24h`, `1h 30m`, `7d`).
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(polling_server::parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert_eq!(polling_server::parse_duration("24h"), Ok(Duration::from_secs(86_400)));
/// assert_eq!(polling_server::parse_duration("30"), Ok(Duration::from_secs(30)));
/// assert!(polling_server::parse_duration("soon").is_err());
/// ```
///
/// # Errors
///
/// A message for clap to show next to the flag's name.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration like 500ms, 5s, 2m, 24h or 30 ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_bare_seconds_are_understood() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1_500)));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["", "s", "-1s", "5 parsecs", "five"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}

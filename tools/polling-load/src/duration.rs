//! Durations in flags: `500ms`, `10s`, `1m`, `1h 30m` (humantime's syntax),
//! or a bare number of seconds, the same syntax as the server's flags.
//!
//! The tool reads them itself rather than through `polling-server`, whose
//! dependencies (warp, sqlx, redis) the seed image would otherwise build.

use std::time::Duration;

/// Parses a duration flag: a bare `<n>` is seconds; anything else is
/// [humantime](https://docs.rs/humantime)'s syntax (`250ms`, `5s`, `2m`).
///
/// # Errors
///
/// A message for clap to show next to the flag's name.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration like 500ms, 10s, 1m or 30 ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_bare_seconds_are_understood() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration(" 30 "), Ok(Duration::from_secs(30)));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["", "s", "-1s", "soon"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}

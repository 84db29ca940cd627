//! Durations in flags and environment variables: `500ms`, `5s`, `2m`, or a
//! bare number of seconds.

use std::time::Duration;

/// Parses `<n>ms`, `<n>s`, `<n>m` or a bare `<n>` (seconds), as every
/// duration flag of the server does.
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(polling_server::parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert_eq!(polling_server::parse_duration("2m"), Ok(Duration::from_secs(120)));
/// assert!(polling_server::parse_duration("soon").is_err());
/// ```
///
/// # Errors
///
/// A message for clap to show next to the flag's name.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit): (&str, fn(u64) -> Duration) = if let Some(n) = text.strip_suffix("ms") {
        (n, Duration::from_millis)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, Duration::from_secs)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, |m| Duration::from_secs(m.saturating_mul(60)))
    } else {
        (text, Duration::from_secs)
    };
    digits
        .trim()
        .parse::<u64>()
        .map(unit)
        .map_err(|_| format!("`{text}` is not a duration like 500ms, 5s, 2m or 30"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_bare_seconds_are_understood() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["", "s", "-1s", "1.5s", "5h", "five"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}

//! Start-up helpers: retry a backend until a deadline, and name it in errors
//! without its password.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use polling_core::relay::Backoff;
use tokio::time::Instant;

/// The first pause between attempts (jittered down by up to half); it doubles
/// up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// Calls `attempt` until it succeeds or `window` has passed, pausing longer
/// after each failure (compose starts the backend and its database together,
/// and PostgreSQL takes a few seconds to accept connections).
///
/// # Errors
///
/// The last attempt's error.
pub(crate) async fn retry<T, E, F, Fut>(
    what: &str,
    window: Duration,
    mut attempt: F,
) -> Result<T, E>
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + window;
    // Jittered, so that replicas started together do not retry together.
    let mut backoff = Backoff::new(FIRST_PAUSE, MAX_PAUSE);
    loop {
        let pause = backoff.next_delay();
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if Instant::now() + pause < deadline => {
                tracing::warn!(%error, retry_in = ?pause, "{what} is not reachable yet");
                tokio::time::sleep(pause).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// `url` with its password, if any, replaced by `***`, for logs and errors.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn passwords_never_reach_the_logs() {
        assert_eq!(
            redact("postgres://app:s3cr@t@db:5432/polls?sslmode=disable"),
            "postgres://app:***@db:5432/polls?sslmode=disable"
        );
        assert_eq!(
            redact("redis://:pw@cache:6379/0"),
            "redis://:***@cache:6379/0"
        );
        assert_eq!(redact("postgres://app@db/polls"), "postgres://app@db/polls");
        assert_eq!(redact("redis://cache"), "redis://cache");
        assert_eq!(redact("not a url"), "not a url");
    }

    #[tokio::test(start_paused = true)]
    async fn retry_keeps_trying_within_the_window() {
        let calls = AtomicU32::new(0);
        let result: Result<u32, String> = retry("thing", Duration::from_secs(5), || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0..=2 => Err("down".to_owned()),
                n => Ok(n),
            }
        })
        .await;
        assert_eq!(result, Ok(3));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_gives_up_with_the_last_error_after_the_window() {
        let started = Instant::now();
        let result: Result<(), String> = retry("thing", Duration::from_secs(3), || async {
            Err("down".to_owned())
        })
        .await;
        assert_eq!(result, Err("down".to_owned()));
        assert!(started.elapsed() <= Duration::from_secs(3));
        assert!(started.elapsed() >= Duration::from_secs(1));
    }
}

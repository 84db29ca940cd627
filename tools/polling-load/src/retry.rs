//! Sending a request again after refusals and failures that may be passing,
//! as a client that knows its retry is safe does (a seed vote with its
//! `Idempotency-Key`, a browser's voter with its cookie).

use std::time::Duration;

use bytes::Bytes;
use hyper::header::HeaderName;
use hyper::{Method, StatusCode};

use super::client::{Answer, Conn};

/// Which answers are tried again, and how often.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Retry {
    /// How many failed tries end the request.
    pub(crate) attempts: u32,
    /// Whether a status says "not now" rather than "no".
    pub(crate) passing: fn(StatusCode) -> bool,
    /// Whether a 429 is waited out however often it comes (the server
    /// pacing a client whose voters all share one address) instead of
    /// counting against [`attempts`](Self::attempts).
    pub(crate) wait_out_429: bool,
}

impl Retry {
    /// `polling-load seed`: 429 waited out, 502, 503, 504 and lost
    /// connections tried 20 times.
    pub(crate) const SEED: Self = Self {
        attempts: 20,
        passing: is_passing,
        wait_out_429: true,
    };

    /// A browser's voter: any 5xx, 429 and lost connections tried 20 times.
    pub(crate) const BROWSER: Self = Self {
        attempts: 20,
        passing: is_server_side,
        wait_out_429: false,
    };
}

/// Sends `method path` with `body` and `headers` until an answer is not
/// passing, honouring each refusal's `Retry-After` (at most 10 s) and backing
/// off after lost connections. Returns that answer, or the last failure once
/// `retry.attempts` have failed.
pub(crate) async fn send_retrying(
    conn: &mut Conn,
    method: Method,
    path: &str,
    body: Option<Bytes>,
    headers: &[(HeaderName, &str)],
    retry: Retry,
) -> Result<Answer, String> {
    let mut failures = 0;
    loop {
        let (pause, failure) = match conn
            .send_with(method.clone(), path, body.clone(), headers)
            .await
        {
            Ok(answer) if retry.wait_out_429 && answer.status == StatusCode::TOO_MANY_REQUESTS => {
                (answer.retry_after.unwrap_or(Duration::from_secs(1)), None)
            }
            Ok(answer) if (retry.passing)(answer.status) => (
                answer.retry_after.unwrap_or(Duration::from_millis(200)),
                Some(format!("HTTP {}", answer.status.as_u16())),
            ),
            Ok(answer) => return Ok(answer),
            Err(e) => (Duration::from_millis(100 << failures.min(5)), Some(e)),
        };
        if let Some(failure) = failure {
            failures += 1;
            if failures >= retry.attempts {
                return Err(format!("{failure} after {} attempts", retry.attempts));
            }
        }
        tokio::time::sleep(pause.min(Duration::from_secs(10))).await;
    }
}

/// 429, 502, 503 and 504: "not now" from the server or its proxy.
pub(crate) fn is_passing(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// 429 and every 5xx.
pub(crate) fn is_server_side(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_passing_refusals_are_retried() {
        assert!(is_passing(StatusCode::TOO_MANY_REQUESTS));
        assert!(is_passing(StatusCode::SERVICE_UNAVAILABLE));
        assert!(!is_passing(StatusCode::INTERNAL_SERVER_ERROR));
        assert!(!is_passing(StatusCode::UNPROCESSABLE_ENTITY));
        assert!(!is_passing(StatusCode::CONFLICT));
    }

    #[test]
    fn a_browser_retries_every_server_side_failure() {
        assert!(is_server_side(StatusCode::INTERNAL_SERVER_ERROR));
        assert!(is_server_side(StatusCode::BAD_GATEWAY));
        assert!(is_server_side(StatusCode::TOO_MANY_REQUESTS));
        assert!(!is_server_side(StatusCode::CONFLICT));
        assert!(!is_server_side(StatusCode::NOT_FOUND));
    }
}

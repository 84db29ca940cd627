//! One poll through the API: creating it, reading its results, and counting
//! the ballots its owner's export holds.

use bytes::Bytes;
use hyper::header::{HeaderName, AUTHORIZATION};
use hyper::{Method, StatusCode};

use super::client::{Conn, Target};
use super::retry::{send_retrying, Retry};

/// A poll this tool created.
#[derive(Clone, Debug)]
pub(crate) struct Created {
    /// Its id.
    pub(crate) id: String,
    /// The token that manages it (exports, closing), shown once at creation.
    pub(crate) manage_token: String,
}

/// Creates the poll `draft` (`{"question", "options", ...}`) with `key` as
/// its `Idempotency-Key`, retried after passing refusals ([`Retry::SEED`]).
pub(crate) async fn create(
    target: &Target,
    key: &str,
    draft: &serde_json::Value,
) -> Result<Created, String> {
    let idempotency_key = HeaderName::from_static("idempotency-key");
    let answer = send_retrying(
        &mut Conn::new(target.clone()),
        Method::POST,
        "/api/polls",
        Some(Bytes::from(draft.to_string())),
        &[(idempotency_key, key)],
        Retry::SEED,
    )
    .await?;
    if answer.status != StatusCode::CREATED {
        return Err(format!(
            "HTTP {}: {}",
            answer.status.as_u16(),
            String::from_utf8_lossy(&answer.body)
        ));
    }
    let poll: serde_json::Value =
        serde_json::from_slice(&answer.body).map_err(|e| format!("the created poll: {e}"))?;
    let text = |field: &str| {
        poll.get(field)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| format!("the created poll has no {field}"))
    };
    Ok(Created {
        id: text("id")?,
        manage_token: text("manage_token")?,
    })
}

/// `GET /api/polls/{id}/results` from `target`, once: the results as JSON. A
/// failed connection comes back as [`Conn::send`] describes it (see
/// [`refused_connection`](super::client::refused_connection)); any status but
/// 200 as `HTTP <status>`.
pub(crate) async fn results(target: &Target, poll_id: &str) -> Result<serde_json::Value, String> {
    let answer = Conn::new(target.clone())
        .send(
            Method::GET,
            &format!("/api/polls/{poll_id}/results"),
            None,
            None,
        )
        .await?;
    if answer.status != StatusCode::OK {
        return Err(format!("HTTP {}", answer.status.as_u16()));
    }
    serde_json::from_slice(&answer.body).map_err(|e| format!("the results: {e}"))
}

/// The ballots stored for `poll`: the data rows of its owner's
/// `export/ballots.csv` (the store's record, not a cache), read with its
/// manage token and retried after passing refusals.
pub(crate) async fn stored_ballots(target: &Target, poll: &Created) -> Result<u64, String> {
    let bearer = format!("Bearer {}", poll.manage_token);
    let answer = send_retrying(
        &mut Conn::new(target.clone()),
        Method::GET,
        &format!("/api/polls/{}/export/ballots.csv", poll.id),
        None,
        &[(AUTHORIZATION, &bearer)],
        Retry::BROWSER,
    )
    .await?;
    if answer.status != StatusCode::OK {
        return Err(format!(
            "the ballots export: HTTP {}",
            answer.status.as_u16()
        ));
    }
    let csv = std::str::from_utf8(&answer.body)
        .map_err(|_| "the ballots export is not UTF-8".to_owned())?;
    Ok(records(csv).saturating_sub(1))
}

/// The records of an RFC 4180 `csv`, its header included: line breaks inside
/// quoted fields do not end a record, and a last record may lack its break.
fn records(csv: &str) -> u64 {
    let mut quoted = false;
    let mut records = 0;
    let mut open = false;
    for c in csv.chars() {
        match c {
            '"' => {
                // A doubled quote inside a quoted field toggles twice.
                quoted = !quoted;
                open = true;
            }
            '\n' if !quoted => {
                records += 1;
                open = false;
            }
            '\r' if !quoted => {}
            _ => open = true,
        }
    }
    records + u64::from(open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_counted_by_their_breaks_outside_quotes() {
        assert_eq!(records(""), 0);
        assert_eq!(records("cast_minute,option_ids,options\r\n"), 1);
        let csv = "a,b\r\n2026-12-03T06:00:00Z,1,B\r\n2026-12-03T06:01:00Z,0,\"A\r\nwith \"\"break\"\"\"\r\n";
        assert_eq!(records(csv), 3);
        assert_eq!(records("a,b\r\n1,2"), 2, "a last record without its break");
    }
}

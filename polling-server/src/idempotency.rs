//! [`idempotent`]: runs a handler at most once per `Idempotency-Key`, and
//! replays its response to retries.
//!
//! The key is scoped by method, path and, when the request carries one, the
//! voter cookie, so one client can neither read nor block another's
//! responses under the same key. A request without a cookie (a first
//! contact: an API client's first vote or poll) has nothing but its key to
//! tell it from other clients, so there the key must be unguessable: at
//! least [`MIN_UNSCOPED_KEY_LEN`] characters (a UUID), else 400
//! `invalid_idempotency_key`. Otherwise three clients sending `vote-1`
//! would share one response, its voter cookie and a poll's manage token, and
//! a prober could tell which keys are in use. Responses with status 2xx and 4xx are kept
//! for the configured time (`--idempotency-ttl`) with the headers a retrying
//! client needs (`Content-Type`, `Location`, and `Set-Cookie` so a client
//! that had no cookie gets the same voter id); 5xx responses are not kept,
//! so a retry after an outage runs again.
//!
//! A kept poll creation holds its body, manage token included, in the
//! idempotency store until the key expires: that is what a replay must
//! answer. Keep `--idempotency-ttl` as short as clients' retries need.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use polling_core::idempotency::{Begun, Claim, Lease, StoredResponse};
use polling_core::{IdempotencyStore, PollError};
use warp::http::header::{HeaderName, HeaderValue};
use warp::http::{Method, StatusCode};
use warp::reply::Response;
use warp::Rejection;

use crate::app::App;
use crate::error::{self, ApiError};
use crate::extract::{BodyBytes, IdempotencyKey, Voter};
use crate::telemetry::IDEMPOTENCY_REQUESTS_TOTAL;

/// Set on a response that is a replay of the key's first response.
pub(crate) const REPLAYED: &str = "idempotent-replayed";

/// How long a request holds its key before a retry may take it over, in
/// case the process running it died: well above any request's running time
/// (PostgreSQL statements time out after a few seconds).
const LEASE_TIME: time::Duration = time::Duration::seconds(60);

/// The longest a response is kept, whatever the setting: ten years.
const MAX_TTL: time::Duration = time::Duration::days(3650);

/// The shortest key honoured on a request without a voter cookie: 22
/// characters hold 128 random bits in base64url (a UUID has 32 hex digits).
pub(crate) const MIN_UNSCOPED_KEY_LEN: usize = 22;

/// The response headers kept and replayed.
const KEPT_HEADERS: &[&str] = &["content-type", "location", "set-cookie"];

/// Who asks for what with which key.
#[derive(Debug)]
pub(crate) struct Scope<'a> {
    /// The request's method.
    pub(crate) method: Method,
    /// The request's path.
    pub(crate) path: String,
    /// The voter, whose cookie id (if the request had one) scopes the key.
    pub(crate) voter: &'a Voter,
    /// The client's key, if it sent one.
    pub(crate) key: Option<IdempotencyKey>,
}

impl Scope<'_> {
    /// The key as the store keeps it, or `None` without a client key.
    fn scoped_key(&self) -> Option<String> {
        let voter = self.voter.known_id().map_or("-", |id| id.as_str());
        self.key_for(voter)
    }

    /// For a request without a voter cookie: the key as the same client
    /// sends it next, with the cookie the response issues. The response is
    /// kept under both, so a client that did get the cookie is answered (or
    /// refused for another body) like one that did not.
    fn issued_voter_key(&self) -> Option<String> {
        match self.voter.known_id() {
            Some(_) => None,
            None => self.key_for(self.voter.id.as_str()),
        }
    }

    fn key_for(&self, voter: &str) -> Option<String> {
        let key = self.key.as_ref()?;
        Some(format!(
            "{} {} {voter} {}",
            self.method,
            self.path,
            key.as_str()
        ))
    }
}

/// Runs `handler` unless `scope` has a key already used: then answers with
/// the stored response (plus `Idempotent-Replayed: true`), 422
/// `idempotency_key_mismatch` for another body, or 409
/// `idempotency_key_in_use` while the first request runs.
pub(crate) async fn idempotent(
    app: &App,
    scope: Scope<'_>,
    sent: BodyBytes,
    handler: impl Future<Output = Result<Response, Rejection>>,
) -> Result<Response, Rejection> {
    let Some(key) = scope.scoped_key() else {
        return handler.await;
    };
    if scope.voter.known_id().is_none()
        && scope
            .key
            .as_ref()
            .is_some_and(|k| k.as_str().len() < MIN_UNSCOPED_KEY_LEN)
    {
        return Err(ApiError::GuessableIdempotencyKey {
            min_len: MIN_UNSCOPED_KEY_LEN,
        }
        .into());
    }
    let claim = Claim {
        key,
        fingerprint: sent.fingerprint(),
        at: polling_core::now(),
        lease: LEASE_TIME,
    };
    let issued_voter_key = scope.issued_voter_key();
    let store = Arc::clone(&app.parts.idempotency);
    let begun = store.begin(&claim).await.map_err(ApiError::from)?;
    let outcome = match &begun {
        Begun::Fresh(_) => "fresh",
        Begun::Replay(_) => "replayed",
        Begun::Mismatch => "mismatch",
        Begun::InProgress => "in_use",
    };
    metrics::counter!(IDEMPOTENCY_REQUESTS_TOTAL, "outcome" => outcome).increment(1);
    let lease = match begun {
        Begun::Fresh(lease) => lease,
        Begun::Replay(stored) => return Ok(replay(stored)),
        Begun::Mismatch => return Err(ApiError::IdempotencyKeyMismatch.into()),
        Begun::InProgress => return Err(ApiError::IdempotencyKeyInUse.into()),
    };
    let guard = LeaseGuard {
        store,
        lease: Some(lease),
    };
    let response = match handler.await {
        Ok(response) => response,
        Err(rejection) => match error::recover(rejection).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
    };
    let status = response.status();
    if !(status.is_success() || status.is_client_error()) {
        guard.abandon().await;
        return Ok(response);
    }
    let (response, stored) = keep(response).await?;
    guard.complete(&stored, app.parts.idempotency_ttl).await;
    if let Some(key) = issued_voter_key {
        let claim = Claim { key, ..claim };
        if let Ok(Begun::Fresh(lease)) = app.parts.idempotency.begin(&claim).await {
            let guard = LeaseGuard {
                store: Arc::clone(&app.parts.idempotency),
                lease: Some(lease),
            };
            guard.complete(&stored, app.parts.idempotency_ttl).await;
        }
    }
    Ok(response)
}

/// Reads the response's body to keep it, and rebuilds the response.
async fn keep(response: Response) -> Result<(Response, StoredResponse), Rejection> {
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|e| ApiError::from(PollError::unavailable(e)))?
        .to_bytes();
    let headers = parts
        .headers
        .iter()
        .filter(|(name, _)| KEPT_HEADERS.contains(&name.as_str()))
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let stored = StoredResponse {
        status: parts.status.as_u16(),
        headers,
        body: bytes.to_vec(),
    };
    Ok((Response::from_parts(parts, bytes.into()), stored))
}

/// The stored response, marked as a replay.
fn replay(stored: StoredResponse) -> Response {
    let mut response = Response::new(stored.body.into());
    *response.status_mut() =
        StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in &stored.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

/// Holds a lease while the handler runs; abandons it if dropped unfinished
/// (the client went away and the handler's future was dropped).
struct LeaseGuard {
    /// Where the lease was taken.
    store: Arc<dyn IdempotencyStore>,
    /// The lease, until it is completed or abandoned.
    lease: Option<Lease>,
}

impl LeaseGuard {
    async fn complete(mut self, stored: &StoredResponse, ttl: Duration) {
        let Some(lease) = self.lease.take() else {
            return;
        };
        let ttl = time::Duration::try_from(ttl)
            .unwrap_or(MAX_TTL)
            .min(MAX_TTL);
        let expires_at = polling_core::now() + ttl;
        if let Err(error) = self.store.complete(&lease, stored, expires_at).await {
            // The response stands; a retry runs the request again, where
            // the store's own idempotency (one ballot per voter) holds.
            tracing::warn!(error = ?error, "storing an idempotent response failed");
        }
    }

    async fn abandon(mut self) {
        if let Some(lease) = self.lease.take() {
            if let Err(error) = self.store.abandon(&lease).await {
                tracing::warn!(error = ?error, "releasing an idempotency key failed; it frees itself when its lease ends");
            }
        }
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        if let Some(lease) = self.lease.take() {
            let store = Arc::clone(&self.store);
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = store.abandon(&lease).await;
                });
            }
        }
    }
}

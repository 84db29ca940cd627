//! [`Readiness`]: the answer of `GET /readyz`, checked at most once at a
//! time and reused for a moment.
//!
//! `/readyz` is never shed by the concurrency cap (an overloaded server must
//! still say whether it is ready), and checking the store takes one of its
//! database connections. So that a flood of readiness checks (a
//! misconfigured orchestrator, or anyone who can reach the server directly)
//! cannot take the connections votes need, a process runs at most one check
//! of its dependencies at a time: callers arriving while it runs wait for
//! it and share its answer, and callers within [`MAX_AGE`] of it get the
//! same answer without a check. Whatever the rate of `/readyz`, the store
//! sees at most one readiness query per [`MAX_AGE`], and never two at once.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::app::App;

/// How long a readiness answer is reused: well under any orchestrator's
/// probe period, so a replica going unready is seen at its next probe.
pub const MAX_AGE: Duration = Duration::from_secs(1);

/// How long a readiness check waits for each dependency.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// How each dependency answered: `ok`, `unavailable` or `timeout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Report {
    /// The poll store (a one-poll listing).
    pub(crate) store: &'static str,
    /// The results cache.
    pub(crate) cache: &'static str,
    /// The broadcaster.
    pub(crate) broadcaster: &'static str,
}

/// The last readiness answer of a process, and the right to make the next.
#[derive(Debug, Default)]
pub(crate) struct Readiness {
    /// The last answer and when its check ended.
    last: Mutex<Option<(Instant, Report)>>,
    /// Held while a check runs: the one check in flight.
    checking: tokio::sync::Mutex<()>,
}

impl Readiness {
    /// The readiness of `app`'s dependencies: the last answer if younger
    /// than [`MAX_AGE`], else that of a new check, run by this caller or by
    /// the one already running it.
    pub(crate) async fn report(&self, app: &App) -> Report {
        if let Some(report) = self.fresh() {
            return report;
        }
        let _checking = self.checking.lock().await;
        // The check this caller waited for may have just answered.
        if let Some(report) = self.fresh() {
            return report;
        }
        let (store, cache, broadcaster) = tokio::join!(
            check("store", app.parts.store.list(1, None)),
            check("cache", app.parts.cache.check()),
            check("broadcaster", app.parts.broadcaster.check()),
        );
        let report = Report {
            store,
            cache,
            broadcaster,
        };
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), report));
        report
    }

    /// The last answer, if younger than [`MAX_AGE`].
    fn fresh(&self) -> Option<Report> {
        let last = *self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.filter(|(at, _)| at.elapsed() < MAX_AGE)
            .map(|(_, report)| report)
    }
}

/// `ok`, `unavailable` or `timeout`: how `probe` of `dependency` went.
async fn check<T>(
    dependency: &str,
    probe: impl Future<Output = polling_core::Result<T>>,
) -> &'static str {
    match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Ok(_)) => "ok",
        Ok(Err(error)) => {
            tracing::warn!(dependency, error = ?error, "readiness check failed");
            "unavailable"
        }
        Err(_) => {
            tracing::warn!(dependency, "readiness check timed out");
            "timeout"
        }
    }
}

//! How sqlx failures become [`PollError`]s.

use polling_core::PollError;

/// Every database failure the store does not handle itself (connection
/// refused, pool timed out, statement timeout, ...) is `Unavailable`: the
/// server answers 503 with `Retry-After` and the pool reconnects on its own.
pub(crate) fn unavailable(error: sqlx::Error) -> PollError {
    PollError::unavailable(error)
}

/// A stored value that does not fit the domain: a bug or a hand-edited row.
pub(crate) fn corrupt(what: impl Into<String>) -> PollError {
    PollError::unavailable(format!(
        "corrupt row in the polls database: {}",
        what.into()
    ))
}

//! How sqlx failures become [`PollError`]s.

use polling_core::PollError;

/// Every database failure the store does not handle itself (the file cannot
/// be opened, the disk is full, the write lock stayed busy past the busy
/// timeout, the pool timed out, ...) is `Unavailable`: the server answers
/// 503 with `Retry-After`.
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

//! [`PollError`]: everything that can go wrong, with a stable machine code each.

use std::error::Error as StdError;

/// A boxed error from a backend (database, Redis, ...), kept as the cause.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// `Result` with [`PollError`] as the default error.
pub type Result<T, E = PollError> = std::result::Result<T, E>;

/// Everything a poll operation can refuse or fail with.
///
/// Each variant has a stable [`code`](PollError::code), the `code` of the HTTP
/// error body; the HTTP status is chosen by the server, not here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PollError {
    /// No poll has this id (or it was deleted).
    #[error("poll not found")]
    NotFound,
    /// The poll was closed by its owner or its closing time has passed.
    #[error("poll is closed")]
    PollClosed,
    /// This voter already cast a different ballot in this poll.
    #[error("this voter has already voted in this poll")]
    AlreadyVoted,
    /// The ballot names no option, an unknown option, an option twice, or too many.
    #[error("{0}")]
    InvalidChoice(String),
    /// A new poll breaks one of the rules of [`NewPoll`](crate::NewPoll).
    #[error("{message}")]
    InvalidPoll {
        /// The request field at fault (`question`, `options`, `max_choices`, `closes_at`).
        field: &'static str,
        /// What is wrong with it, for a person.
        message: String,
    },
    /// A secret poll that would allow vote changes: changing a ballot needs
    /// the link between voter and ballot that a secret poll does not keep.
    #[error("a secret poll cannot allow vote changes: changing a ballot needs the link between voter and ballot that a secret poll does not keep")]
    SecretVoteChange,
    /// The manage token does not belong to this poll.
    #[error("the manage token does not match this poll")]
    Forbidden,
    /// The poll is invite-only and the ballot carries no invite code.
    #[error("this poll is invite-only: vote with the invite code of your link")]
    InviteRequired,
    /// The invite code is not one of this poll's, was revoked, or was
    /// presented to a poll that takes none.
    #[error("this invite code is not valid for this poll (unknown or revoked)")]
    InviteInvalid,
    /// The owner named an invite code the poll never issued.
    #[error("this poll has no invite with this code")]
    InviteNotFound,
    /// The owner tried to revoke an invite code that has voted.
    #[error("this invite code has voted; a used code cannot be revoked")]
    InviteUsed,
    /// The owner asked for more invite codes than the poll has room for
    /// ([`MAX_INVITES_PER_POLL`](crate::MAX_INVITES_PER_POLL)); none were
    /// added.
    #[error(
        "this poll holds {held} invite codes and may hold at most {max}: {room} more can be added",
        max = crate::MAX_INVITES_PER_POLL,
        room = u64::from(crate::MAX_INVITES_PER_POLL).saturating_sub(*held)
    )]
    TooManyInvites {
        /// How many the poll holds (revoked ones included).
        held: u64,
    },
    /// A backend this operation needs could not be reached or failed.
    #[error("storage unavailable")]
    Unavailable(#[source] BoxError),
}

impl PollError {
    /// The stable, snake_case machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::PollClosed => "poll_closed",
            Self::AlreadyVoted => "already_voted",
            Self::InvalidChoice(_) => "invalid_choice",
            Self::InvalidPoll { .. } => "invalid_poll",
            Self::SecretVoteChange => "secret_vote_change",
            Self::Forbidden => "forbidden",
            Self::InviteRequired => "invite_required",
            Self::InviteInvalid => "invite_invalid",
            Self::InviteNotFound => "invite_not_found",
            Self::InviteUsed => "invite_used",
            Self::TooManyInvites { .. } => "too_many_invites",
            Self::Unavailable(_) => "unavailable",
        }
    }

    /// Wraps a backend failure.
    pub fn unavailable(cause: impl Into<BoxError>) -> Self {
        Self::Unavailable(cause.into())
    }

    pub(crate) fn invalid_poll(field: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidPoll {
            field,
            message: message.into(),
        }
    }

    pub(crate) fn invalid_choice(message: impl Into<String>) -> Self {
        Self::InvalidChoice(message.into())
    }
}

/// An error that may be a [`PollError`]: a `PollError` itself, or the
/// [`BoxError`] of a stack with tower's own layers (timeouts, load shedding,
/// concurrency limits), which hold either a boxed `PollError` or their own error.
///
/// [`MetricsLayer`](crate::layer::MetricsLayer) uses it to name the outcome of
/// a request; see [`metrics::vote_outcome`](crate::metrics::vote_outcome).
pub trait AsPollError {
    /// The `PollError` this is or holds, if any.
    fn as_poll_error(&self) -> Option<&PollError>;
}

impl AsPollError for PollError {
    fn as_poll_error(&self) -> Option<&PollError> {
        Some(self)
    }
}

impl AsPollError for BoxError {
    fn as_poll_error(&self) -> Option<&PollError> {
        self.downcast_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_distinct_snake_case_code() {
        let errors = [
            PollError::NotFound,
            PollError::PollClosed,
            PollError::AlreadyVoted,
            PollError::invalid_choice("x"),
            PollError::invalid_poll("question", "x"),
            PollError::SecretVoteChange,
            PollError::Forbidden,
            PollError::InviteRequired,
            PollError::InviteInvalid,
            PollError::InviteNotFound,
            PollError::InviteUsed,
            PollError::TooManyInvites { held: 1 },
            PollError::unavailable("down"),
        ];
        let mut codes: Vec<_> = errors.iter().map(PollError::code).collect();
        assert!(codes
            .iter()
            .all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), errors.len());
    }

    #[test]
    fn unavailable_keeps_its_cause() {
        let err = PollError::unavailable("connection refused");
        let source = err.source().map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("connection refused"));
    }
}

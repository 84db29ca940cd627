//! The size limits of a poll (the [domain rules](crate::domain), `ARCHITECTURE.md#domain`).

/// The longest question, in characters (Unicode scalar values).
pub const MAX_QUESTION_CHARS: usize = 300;
/// The fewest options a poll may have.
pub const MIN_OPTIONS: usize = 2;
/// The most options a poll may have.
pub const MAX_OPTIONS: usize = 20;
/// The longest option text, in characters.
pub const MAX_OPTION_CHARS: usize = 120;

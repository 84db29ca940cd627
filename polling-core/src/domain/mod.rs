//! The domain: polls, ballots, receipts and results.
//!
//! Everything here validates at construction: a [`NewPoll`] or a [`Ballot`]
//! that exists obeys the limits below, so stores and services never re-check.
//!
//! | rule | limit |
//! |---|---|
//! | question | 1 to [`MAX_QUESTION_CHARS`] characters after trimming, no control characters |
//! | options | [`MIN_OPTIONS`] to [`MAX_OPTIONS`], each 1 to [`MAX_OPTION_CHARS`] characters, no duplicates after trimming (case-insensitive) |
//! | method | [`Method`]: plurality (default), approval, ranked or STAR |
//! | choices | plurality single choice: exactly one; multiple: 1 to `max_choices`; approval: any number from 1; no option twice |
//! | ranking | ranked: 1 to all options, most preferred first, no option twice |
//! | scores | STAR: one per option, each 0 to [`MAX_SCORE`] |
//! | `closes_at` | in the future when the poll is created |
//!
//! A poll also says who sees its counts when ([`Visibility`]) and whether a
//! voter may change their ballot (`allow_vote_change`), who may vote
//! ([`Eligibility`]: anyone, or the holders of its [invite codes](InviteCode),
//! at most [`MAX_INVITES_PER_REQUEST`] issued per request), and whether it is
//! [secret](secrecy): who voted kept apart from what they voted.

mod anonymous_ballot;
mod ballot;
mod eligibility;
mod event;
pub(crate) mod ids;
mod invite;
mod limits;
mod marks;
mod method;
mod new_poll;
mod poll;
mod receipt;
mod results;
pub mod secrecy;
pub(crate) mod token;
mod visibility;
mod voter_tag;

pub use self::secrecy::{secret_minute, VoterHash};
pub use anonymous_ballot::AnonymousBallot;
pub(crate) use ballot::Abandoner;
pub use ballot::Ballot;
pub use eligibility::Eligibility;
pub use event::ResultsEvent;
pub use ids::{OptionId, ParseIdError, PollId, VoterId};
pub use invite::{
    invite_room, Invite, InviteCode, InviteNonce, MAX_INVITES_PER_POLL, MAX_INVITES_PER_REQUEST,
};
pub use limits::{MAX_OPTIONS, MAX_OPTION_CHARS, MAX_QUESTION_CHARS, MIN_OPTIONS};
pub use marks::{Marks, MAX_SCORE};
pub use method::Method;
pub use new_poll::{NewPoll, PollDraft};
pub use poll::{Poll, PollOption};
pub use receipt::{CastKind, CastOutcome, VoteReceipt};
pub use results::{OptionCount, Results};
pub use token::{ManageToken, TokenHash};
pub use visibility::Visibility;
pub use voter_tag::VoterTag;

use time::OffsetDateTime;

/// The current time, truncated to whole microseconds.
///
/// Every timestamp the domain makes goes through here, so a poll read back from
/// a store with microsecond precision (PostgreSQL) equals the one written.
pub fn now() -> OffsetDateTime {
    truncate_to_micros(OffsetDateTime::now_utc())
}

pub(crate) fn truncate_to_micros(t: OffsetDateTime) -> OffsetDateTime {
    let nanos = t.nanosecond();
    t.replace_nanosecond(nanos - nanos % 1_000)
        .expect("a smaller nanosecond is always valid")
}

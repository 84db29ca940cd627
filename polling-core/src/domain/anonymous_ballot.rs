//! [`AnonymousBallot`]: a ballot as an export may show it.

use time::OffsetDateTime;

use super::Marks;

/// A recorded ballot with nothing that identifies its voter: its marks and
/// the minute it was cast in (UTC).
///
/// No voter id, and no time finer than a minute, so that an export of a
/// poll's ballots cannot be joined with access logs or other records to tell
/// who voted what. Ordered by minute, then marks: a store returns a poll's
/// ballots in that order, which says nothing about the order they were cast
/// in within a minute.
///
/// # Example
///
/// ```
/// use polling_core::{AnonymousBallot, Marks, OptionId};
/// use time::macros::datetime;
///
/// let marks = Marks::choices(vec![OptionId::new(1)])?;
/// let ballot = AnonymousBallot::new(marks, datetime!(2026-11-25 10:41:59.25 UTC));
/// assert_eq!(ballot.cast_minute, datetime!(2026-11-25 10:41 UTC));
/// # Ok::<(), polling_core::PollError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AnonymousBallot {
    /// The minute the ballot was cast in, in UTC (seconds and below are zero).
    pub cast_minute: OffsetDateTime,
    /// What the ballot marked.
    pub marks: Marks,
}

impl AnonymousBallot {
    /// The anonymous form of a ballot marked `marks` at `cast_at`.
    pub fn new(marks: Marks, cast_at: OffsetDateTime) -> Self {
        Self {
            cast_minute: truncate_to_minute(cast_at),
            marks,
        }
    }
}

/// `t` in UTC, with seconds and everything below them zero.
pub(super) fn truncate_to_minute(t: OffsetDateTime) -> OffsetDateTime {
    let utc = t.to_offset(time::UtcOffset::UTC);
    utc.replace_time(
        time::Time::from_hms(utc.hour(), utc.minute(), 0).expect("an hour and minute of a time"),
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::OptionId;

    fn choices(raw: &[u32]) -> Marks {
        Marks::choices(raw.iter().copied().map(OptionId::new).collect()).unwrap()
    }

    #[test]
    fn the_cast_time_is_truncated_to_the_minute_in_utc() {
        let ballot = AnonymousBallot::new(
            choices(&[2, 0]),
            datetime!(2026-11-25 12:41:59.999999 +02:00),
        );
        assert_eq!(ballot.cast_minute, datetime!(2026-11-25 10:41 UTC));
        assert_eq!(ballot.cast_minute.offset(), time::UtcOffset::UTC);
        assert_eq!(ballot.marks, choices(&[0, 2]));
    }

    #[test]
    fn ballots_order_by_minute_then_choices() {
        let early = AnonymousBallot::new(choices(&[1]), datetime!(2026-11-25 10:00:59 UTC));
        let late_a = AnonymousBallot::new(choices(&[0]), datetime!(2026-11-25 10:01:30 UTC));
        let late_b = AnonymousBallot::new(choices(&[1]), datetime!(2026-11-25 10:01:00 UTC));
        let mut ballots = vec![late_b.clone(), late_a.clone(), early.clone()];
        ballots.sort();
        assert_eq!(ballots, vec![early, late_a, late_b]);
    }
}

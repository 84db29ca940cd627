//! [`Results`]: the counts of a poll, versioned.

use serde::{Deserialize, Serialize};

use super::{OptionId, Poll, PollId};

/// The votes one option received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionCount {
    /// The option.
    pub option_id: OptionId,
    /// How many ballots chose it.
    pub votes: u64,
}

/// The counts of one poll at one `version`.
///
/// `version` grows by exactly one with every ballot recorded, so whoever holds
/// two `Results` of a poll keeps the one with the higher version (see
/// [`Results::is_newer_than`]); caches, broadcasts and browsers all follow that
/// rule, which makes out-of-order delivery harmless.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Results {
    /// The poll counted.
    pub poll_id: PollId,
    /// Grows by one with every recorded ballot; 0 before the first.
    pub version: u64,
    /// The number of ballots (a multiple-choice ballot counts once here).
    pub total: u64,
    /// One entry per option, in option order.
    pub counts: Vec<OptionCount>,
}

impl Results {
    /// The results of `poll` before anyone voted.
    pub fn empty(poll: &Poll) -> Self {
        Self {
            poll_id: poll.id,
            version: 0,
            total: 0,
            counts: poll
                .options
                .iter()
                .map(|o| OptionCount {
                    option_id: o.id,
                    votes: 0,
                })
                .collect(),
        }
    }

    /// Counts one more ballot choosing `choices`, and bumps the version.
    ///
    /// Choices outside the poll are ignored: check the ballot first with
    /// [`Poll::check_ballot`].
    pub fn record(&mut self, choices: &[OptionId]) {
        for choice in choices {
            if let Some(count) = self.counts.get_mut(choice.index()) {
                count.votes += 1;
            }
        }
        self.total += 1;
        self.version += 1;
    }

    /// Replaces one counted ballot choosing `old` by one choosing `new`, and
    /// bumps the version; `total` stays (it is still one ballot).
    ///
    /// A count never goes below zero, even for an `old` that was never
    /// counted (which a store never passes); choices outside the poll are
    /// ignored, as in [`record`](Self::record).
    pub fn change(&mut self, old: &[OptionId], new: &[OptionId]) {
        for choice in old {
            if let Some(count) = self.counts.get_mut(choice.index()) {
                count.votes = count.votes.saturating_sub(1);
            }
        }
        for choice in new {
            if let Some(count) = self.counts.get_mut(choice.index()) {
                count.votes += 1;
            }
        }
        self.version += 1;
    }

    /// Whether `self` should replace `other` (same poll, higher version).
    pub fn is_newer_than(&self, other: &Results) -> bool {
        self.poll_id == other.poll_id && self.version > other.version
    }

    /// The votes of `option`, if the poll has it.
    pub fn votes(&self, option: OptionId) -> Option<u64> {
        self.counts.get(option.index()).map(|c| c.votes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ManageToken, NewPoll, PollDraft};

    /// The results of a new open multiple-choice poll of options a, b and c.
    fn empty_results_of_three_options() -> Results {
        let now = crate::now();
        let draft = PollDraft {
            question: "Q".into(),
            options: vec!["a".into(), "b".into(), "c".into()],
            multiple: true,
            ..PollDraft::default()
        };
        let poll = Poll::open(
            NewPoll::new(draft, now).unwrap(),
            ManageToken::generate().hash(),
            now,
        );
        Results::empty(&poll)
    }

    #[test]
    fn recording_counts_each_choice_once_and_bumps_the_version() {
        let mut results = empty_results_of_three_options();
        let before = results.clone();
        results.record(&[OptionId::new(0), OptionId::new(2)]);
        results.record(&[OptionId::new(2)]);
        assert_eq!(results.version, 2);
        assert_eq!(results.total, 2);
        assert_eq!(results.votes(OptionId::new(0)), Some(1));
        assert_eq!(results.votes(OptionId::new(1)), Some(0));
        assert_eq!(results.votes(OptionId::new(2)), Some(2));
        assert!(results.is_newer_than(&before));
        assert!(!before.is_newer_than(&results));
    }

    #[test]
    fn changing_moves_the_counts_keeps_the_total_and_never_underflows() {
        let mut results = empty_results_of_three_options();
        results.record(&[OptionId::new(0), OptionId::new(1)]);
        results.change(
            &[OptionId::new(0), OptionId::new(1)],
            &[OptionId::new(1), OptionId::new(2)],
        );
        assert_eq!(results.version, 2);
        assert_eq!(results.total, 1);
        assert_eq!(results.votes(OptionId::new(0)), Some(0));
        assert_eq!(results.votes(OptionId::new(1)), Some(1));
        assert_eq!(results.votes(OptionId::new(2)), Some(1));
        results.change(&[OptionId::new(0)], &[OptionId::new(0)]);
        assert_eq!(
            results.votes(OptionId::new(0)),
            Some(1),
            "0 - 1 stays 0, then + 1"
        );
        assert_eq!(results.version, 3);
    }
}

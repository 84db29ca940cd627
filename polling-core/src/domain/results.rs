//! [`Results`]: the counts of a poll, versioned.

use serde::{Deserialize, Serialize};

use super::{OptionId, Poll, PollId};
use crate::tally::{RankedTally, StarTally, Tally};

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
///
/// What `counts` hold depends on the poll's [`Method`](crate::Method) (see
/// [`Tally`](crate::Tally)): votes or approvals per option, first preferences
/// of a ranked poll (with its instant runoff in `ranked`), or score totals of
/// a STAR poll (with its runoff in `star`).
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
    /// A ranked poll's instant runoff; absent for other methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranked: Option<RankedTally>,
    /// A STAR poll's finalists, runoff and winner; absent for other methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub star: Option<StarTally>,
}

impl Results {
    /// The results of `poll` before anyone voted.
    pub fn empty(poll: &Poll) -> Self {
        Tally::empty(poll).results(poll.id, 0)
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
    use crate::{ManageToken, Marks, NewPoll, PollDraft};

    /// A new open multiple-choice poll of options a, b and c.
    fn poll_of_three_options() -> Poll {
        let now = crate::now();
        let draft = PollDraft {
            question: "Q".into(),
            options: vec!["a".into(), "b".into(), "c".into()],
            multiple: true,
            ..PollDraft::default()
        };
        Poll::open(
            NewPoll::new(draft, now).unwrap(),
            ManageToken::generate().hash(),
            now,
        )
    }

    fn choices(raw: &[u32]) -> Marks {
        Marks::choices(raw.iter().copied().map(OptionId::new).collect()).unwrap()
    }

    #[test]
    fn counting_each_choice_once_gives_newer_results() {
        let poll = poll_of_three_options();
        let before = Results::empty(&poll);
        let mut tally = Tally::empty(&poll);
        tally.add(&choices(&[0, 2]));
        tally.add(&choices(&[2]));
        let results = tally.results(poll.id, 2);
        assert_eq!(results.total, 2);
        assert_eq!(results.votes(OptionId::new(0)), Some(1));
        assert_eq!(results.votes(OptionId::new(1)), Some(0));
        assert_eq!(results.votes(OptionId::new(2)), Some(2));
        assert!(results.is_newer_than(&before));
        assert!(!before.is_newer_than(&results));
    }

    #[test]
    fn changing_moves_the_counts_keeps_the_total_and_never_underflows() {
        let poll = poll_of_three_options();
        let mut tally = Tally::empty(&poll);
        tally.add(&choices(&[0, 1]));
        tally.change(&choices(&[0, 1]), &choices(&[1, 2]));
        let results = tally.results(poll.id, 2);
        assert_eq!(results.total, 1);
        assert_eq!(results.votes(OptionId::new(0)), Some(0));
        assert_eq!(results.votes(OptionId::new(1)), Some(1));
        assert_eq!(results.votes(OptionId::new(2)), Some(1));
        tally.change(&choices(&[0]), &choices(&[0]));
        assert_eq!(
            tally.results(poll.id, 3).votes(OptionId::new(0)),
            Some(1),
            "0 - 1 stays 0, then + 1"
        );
    }

    #[test]
    fn plurality_results_keep_their_wire_shape() {
        let results = Results::empty(&poll_of_three_options());
        let json = serde_json::to_value(&results).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["counts", "poll_id", "total", "version"]);
    }
}

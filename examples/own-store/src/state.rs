//! [`State`]: what the journal's entries add up to, kept in memory and
//! changed only by [`State::apply`].

use std::collections::{BTreeMap, HashMap};

use polling_core::{Poll, PollId, Results, Tally, VoteReceipt, VoterId};

use crate::entry::Entry;

/// Every live poll with its ballots, as the entries so far made them.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// By id; poll ids are ordered by creation time, so the map's order is
    /// the order of `list`, oldest first.
    pub(crate) polls: BTreeMap<PollId, Kept>,
}

/// One poll and what was counted for it.
#[derive(Debug)]
pub(crate) struct Kept {
    /// The poll, with its `closed_at` once closed.
    pub(crate) poll: Poll,
    /// The running sums of its ballots.
    tally: Tally,
    /// What `tally` gives at the current version.
    pub(crate) results: Results,
    /// Each voter's current ballot.
    pub(crate) receipts: HashMap<VoterId, VoteReceipt>,
}

impl State {
    /// Applies `entry`, which was checked before it was written: the one
    /// way the state changes, whether an entry is new or replayed from the
    /// journal.
    pub(crate) fn apply(&mut self, entry: Entry) {
        match entry {
            Entry::Created { poll } => {
                let kept = Kept {
                    tally: Tally::empty(&poll),
                    results: Results::empty(&poll),
                    receipts: HashMap::new(),
                    poll,
                };
                self.polls.insert(kept.poll.id, kept);
            }
            Entry::Closed { poll_id, at } => {
                if let Some(kept) = self.polls.get_mut(&poll_id) {
                    kept.poll.closed_at.get_or_insert(at);
                }
            }
            Entry::Deleted { poll_id } => {
                self.polls.remove(&poll_id);
            }
            Entry::Cast { voter, receipt } => {
                if let Some(kept) = self.polls.get_mut(&receipt.poll_id) {
                    match kept.receipts.get(&voter) {
                        Some(earlier) => kept.tally.change(&earlier.marks, &receipt.marks),
                        None => kept.tally.add(&receipt.marks),
                    }
                    kept.results = kept.tally.results(receipt.poll_id, receipt.version);
                    kept.receipts.insert(voter, receipt);
                }
            }
        }
    }
}

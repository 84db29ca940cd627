//! [`Plan`]: what a batch of ballots does to one poll, decided in memory
//! under the poll's row lock, before anything is written.

use std::collections::HashMap;

use polling_core::{Ballot, CastOutcome, Poll, PollError, Results, VoteReceipt, VoterId};
use time::OffsetDateTime;

use polling_core::Result;

/// The outcome of every ballot of a batch, and the rows to write for the new ones.
#[derive(Debug)]
pub(crate) struct Plan {
    /// One outcome per ballot, in the order of the batch.
    pub(crate) outcomes: Vec<Result<CastOutcome>>,
    /// The ballots to insert: voter and receipt, versions ascending.
    pub(crate) new_ballots: Vec<(VoterId, VoteReceipt)>,
    /// The results after the whole batch.
    pub(crate) results: Results,
}

impl Plan {
    /// Decides each ballot in turn, exactly as if they had been cast one by one
    /// in this order (see [`PollStore::cast`](polling_core::PollStore::cast)).
    ///
    /// `results` are the poll's results before the batch and `earlier` the
    /// stored ballots of the batch's voters. A ballot that fails never
    /// affects the others: only the new ballots change the results, and each
    /// outcome carries the results right after its own ballot.
    pub(crate) fn decide(
        poll: &Poll,
        mut results: Results,
        mut earlier: HashMap<VoterId, VoteReceipt>,
        ballots: &[Ballot],
        now: OffsetDateTime,
    ) -> Self {
        let mut new_ballots = Vec::new();
        let outcomes = ballots
            .iter()
            .map(|ballot| {
                if let Some(receipt) = earlier.get(ballot.voter()) {
                    return if receipt.choices == ballot.choices() {
                        Ok(CastOutcome {
                            receipt: receipt.clone(),
                            results: results.clone(),
                            is_new: false,
                        })
                    } else {
                        Err(PollError::AlreadyVoted)
                    };
                }
                if poll.is_closed_at(now) {
                    return Err(PollError::PollClosed);
                }
                poll.check_ballot(ballot)?;

                results.record(ballot.choices());
                let receipt = VoteReceipt {
                    poll_id: poll.id,
                    choices: ballot.choices().to_vec(),
                    cast_at: now,
                    version: results.version,
                };
                earlier.insert(ballot.voter().clone(), receipt.clone());
                new_ballots.push((ballot.voter().clone(), receipt.clone()));
                Ok(CastOutcome {
                    receipt,
                    results: results.clone(),
                    is_new: true,
                })
            })
            .collect();
        Self {
            outcomes,
            new_ballots,
            results,
        }
    }
}

#[cfg(test)]
mod tests {
    use polling_core::testing::sample_poll;
    use polling_core::{OptionId, PollError};
    use time::Duration;

    use super::*;

    fn ballot(poll: &Poll, voter: &str, choices: &[u32]) -> Ballot {
        let voter = VoterId::try_from(voter.to_owned()).unwrap();
        polling_core::testing::ballot(poll, &voter, choices)
    }

    fn decide(poll: &Poll, ballots: &[Ballot]) -> Plan {
        Plan::decide(
            poll,
            Results::empty(poll),
            HashMap::new(),
            ballots,
            polling_core::now(),
        )
    }

    #[test]
    fn new_ballots_get_contiguous_versions_and_their_own_results() {
        let poll = sample_poll(3, false, None);
        let ballots: Vec<_> = (0..3)
            .map(|i| ballot(&poll, &format!("v{i}"), &[i]))
            .collect();
        let plan = decide(&poll, &ballots);
        let versions: Vec<u64> = plan
            .outcomes
            .iter()
            .map(|o| o.as_ref().unwrap().receipt.version)
            .collect();
        assert_eq!(versions, [1, 2, 3]);
        let first = plan.outcomes[0].as_ref().unwrap();
        assert_eq!(first.results.version, 1);
        assert_eq!(first.results.votes(OptionId::new(0)), Some(1));
        assert_eq!(first.results.votes(OptionId::new(1)), Some(0));
        assert_eq!(plan.results.total, 3);
        assert_eq!(plan.new_ballots.len(), 3);
    }

    #[test]
    fn a_bad_ballot_never_fails_the_rest_of_its_batch() {
        let poll = sample_poll(2, false, None);
        let ballots = [
            ballot(&poll, "a", &[0]),
            ballot(&poll, "b", &[7]),
            ballot(&poll, "a", &[1]),
            ballot(&poll, "a", &[0]),
            ballot(&poll, "c", &[1]),
        ];
        let plan = decide(&poll, &ballots);
        let codes: Vec<&str> = plan
            .outcomes
            .iter()
            .map(|o| match o {
                Ok(o) if o.is_new => "new",
                Ok(_) => "replay",
                Err(e) => e.code(),
            })
            .collect();
        assert_eq!(
            codes,
            ["new", "invalid_choice", "already_voted", "replay", "new"]
        );
        let replay = plan.outcomes[3].as_ref().unwrap();
        assert_eq!(replay.receipt, plan.outcomes[0].as_ref().unwrap().receipt);
        assert_eq!(plan.results.version, 2);
        assert_eq!(plan.new_ballots.len(), 2);
    }

    #[test]
    fn a_closed_poll_still_replays_earlier_ballots() {
        let mut poll = sample_poll(2, false, None);
        let now = polling_core::now();
        let earlier_receipt = VoteReceipt {
            poll_id: poll.id,
            choices: vec![OptionId::new(1)],
            cast_at: now - Duration::minutes(1),
            version: 1,
        };
        let mut results = Results::empty(&poll);
        results.record(&[OptionId::new(1)]);
        poll.closed_at = Some(now);
        let earlier = HashMap::from([(
            VoterId::try_from("old".to_owned()).unwrap(),
            earlier_receipt.clone(),
        )]);
        let ballots = [ballot(&poll, "old", &[1]), ballot(&poll, "new", &[0])];
        let plan = Plan::decide(&poll, results, earlier, &ballots, now);
        assert_eq!(plan.outcomes[0].as_ref().unwrap().receipt, earlier_receipt);
        assert!(matches!(plan.outcomes[1], Err(PollError::PollClosed)));
        assert!(plan.new_ballots.is_empty());
    }
}

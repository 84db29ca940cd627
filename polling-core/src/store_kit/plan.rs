//! [`Plan`]: what a batch of ballots does to one poll, decided in memory
//! under the store's lock on the poll, before anything is written.
//!
//! Pure decision logic: a store reads the poll, its sums and the batch
//! voters' stored ballots under its lock, calls [`Plan::decide`], writes the
//! plan's rows, and answers each ballot with its outcome once it committed.
//! See the [module example](super#example).

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use crate::{
    Ballot, CastKind, CastOutcome, Marks, Method, OptionId, Poll, PollError, Result, Results,
    Tally, VoteReceipt, VoterId,
};

/// The outcome of every ballot of a batch, and the rows to write.
#[derive(Debug)]
#[non_exhaustive]
pub struct Plan {
    /// One outcome per ballot, in the order of the batch.
    pub outcomes: Vec<Result<CastOutcome>>,
    /// The ballot rows to insert (voters with no stored ballot before the
    /// batch): voter and their ballot after the batch, versions ascending.
    pub new_ballots: Vec<(VoterId, VoteReceipt)>,
    /// The ballot rows to update (voters whose stored ballot the batch
    /// changed): voter and their ballot after the batch, versions ascending.
    pub changed_ballots: Vec<(VoterId, VoteReceipt)>,
    /// The poll's sums after the whole batch.
    pub tally: Tally,
    /// The results after the whole batch.
    pub results: Results,
    /// Ranked polls: the rankings whose number of ballots the batch changed.
    pub touched_rankings: HashSet<Vec<OptionId>>,
    /// When the batch was decided: the `cast_at` of every row it writes (for
    /// a secret poll, its minute).
    pub cast_at: OffsetDateTime,
}

impl Plan {
    /// Decides each ballot in turn, exactly as if they had been cast one by one
    /// in this order (see [`PollStore::cast`](crate::PollStore::cast)).
    ///
    /// `tally` and `version` are the poll's sums and version before the
    /// batch and `earlier` the stored ballots of the batch's voters. A ballot
    /// that fails never affects the others: only new and changed ballots
    /// change the results, and each outcome carries the results right after
    /// its own ballot, except on a ranked poll: there every outcome carries
    /// the results after the whole batch (newer than its receipt, never
    /// older), so that a batch counts its instant runoff once, not once per
    /// ballot. A
    /// voter may appear more than once (a first ballot, then a change): each
    /// sees the ballot the one before left, and one row per voter is written,
    /// holding their last ballot.
    pub fn decide(
        poll: &Poll,
        tally: Tally,
        version: u64,
        earlier: HashMap<VoterId, VoteReceipt>,
        ballots: &[Ballot],
        now: OffsetDateTime,
    ) -> Self {
        Self::decide_with(poll, tally, version, earlier, &HashSet::new(), ballots, now)
    }

    /// [`decide`](Plan::decide) for a [secret](crate::domain::secrecy) poll,
    /// whose store keeps no receipts: `participated` are the batch's voters
    /// with a participation stored before the batch. Any second ballot of a
    /// voter (stored, or earlier in the batch) is `AlreadyVoted`, and every
    /// receipt and row carries the minute of `now`, not `now`.
    pub fn decide_secret(
        poll: &Poll,
        tally: Tally,
        version: u64,
        participated: &HashSet<VoterId>,
        ballots: &[Ballot],
        now: OffsetDateTime,
    ) -> Self {
        Self::decide_with(
            poll,
            tally,
            version,
            HashMap::new(),
            participated,
            ballots,
            now,
        )
    }

    fn decide_with(
        poll: &Poll,
        mut tally: Tally,
        mut version: u64,
        mut earlier: HashMap<VoterId, VoteReceipt>,
        participated: &HashSet<VoterId>,
        ballots: &[Ballot],
        now: OffsetDateTime,
    ) -> Self {
        // What receipts and rows say of the time: a secret poll keeps the minute.
        let stamp = if poll.secret {
            crate::domain::secret_minute(now)
        } else {
            now
        };
        let per_ballot = poll.method != Method::Ranked;
        let mut results = tally.results(poll.id, version);
        let mut touched_rankings = HashSet::new();
        let mut touch = |marks: &Marks| {
            if let Marks::Ranking(ranking) = marks {
                touched_rankings.insert(ranking.clone());
            }
        };
        let stored: HashSet<VoterId> = earlier.keys().cloned().collect();
        // The voters whose row the batch writes.
        let mut written: HashSet<VoterId> = HashSet::new();
        let mut outcomes: Vec<Result<CastOutcome>> = ballots
            .iter()
            .map(|ballot| {
                let before = earlier.get(ballot.voter());
                if participated.contains(ballot.voter()) || (poll.secret && before.is_some()) {
                    return Err(PollError::AlreadyVoted);
                }
                if let Some(receipt) = before {
                    if receipt.marks == *ballot.marks() {
                        return Ok(CastOutcome {
                            receipt: receipt.clone(),
                            results: results.clone(),
                            kind: CastKind::Replay,
                            secret: poll.secret,
                        });
                    }
                    if !poll.allow_vote_change {
                        return Err(PollError::AlreadyVoted);
                    }
                }
                if poll.is_closed_at(now) {
                    return Err(PollError::PollClosed);
                }
                poll.check_ballot(ballot)?;

                let kind = match before {
                    Some(old) => {
                        tally.change(&old.marks, ballot.marks());
                        touch(&old.marks);
                        CastKind::Changed
                    }
                    None => {
                        tally.add(ballot.marks());
                        CastKind::New
                    }
                };
                touch(ballot.marks());
                version += 1;
                if per_ballot {
                    results = tally.results(poll.id, version);
                }
                let receipt = VoteReceipt {
                    poll_id: poll.id,
                    marks: ballot.marks().clone(),
                    cast_at: stamp,
                    version,
                };
                earlier.insert(ballot.voter().clone(), receipt.clone());
                written.insert(ballot.voter().clone());
                Ok(CastOutcome {
                    receipt,
                    results: results.clone(),
                    kind,
                    secret: poll.secret,
                })
            })
            .collect();

        let (mut new_ballots, mut changed_ballots) = (Vec::new(), Vec::new());
        for voter in written {
            let receipt = earlier[&voter].clone();
            if stored.contains(&voter) {
                changed_ballots.push((voter, receipt));
            } else {
                new_ballots.push((voter, receipt));
            }
        }
        new_ballots.sort_by_key(|(_, r)| r.version);
        changed_ballots.sort_by_key(|(_, r)| r.version);
        if !per_ballot {
            results = tally.results(poll.id, version);
            for outcome in outcomes.iter_mut().flatten() {
                outcome.results = results.clone();
            }
        }
        Self {
            outcomes,
            new_ballots,
            changed_ballots,
            tally,
            results,
            touched_rankings,
            cast_at: stamp,
        }
    }

    /// Whether the batch writes anything (else it only replayed or refused).
    pub fn writes(&self) -> bool {
        !self.new_ballots.is_empty() || !self.changed_ballots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use crate::testing::{choices, sample_poll};

    use super::*;

    fn ballot(poll: &Poll, voter: &str, choices: &[u32]) -> Ballot {
        let voter = VoterId::try_from(voter.to_owned()).unwrap();
        crate::testing::ballot(poll, &voter, choices)
    }

    fn decide(poll: &Poll, ballots: &[Ballot]) -> Plan {
        Plan::decide(
            poll,
            Tally::empty(poll),
            0,
            HashMap::new(),
            ballots,
            crate::now(),
        )
    }

    /// Each outcome of `plan` in one word (`new`, `changed`, `replay`), or
    /// its error's code.
    fn kinds(plan: &Plan) -> Vec<&'static str> {
        plan.outcomes
            .iter()
            .map(|o| match o {
                Ok(o) if o.is_new() => "new",
                Ok(o) if o.is_changed() => "changed",
                Ok(_) => "replay",
                Err(e) => e.code(),
            })
            .collect()
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
        assert_eq!(
            kinds(&plan),
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
        let now = crate::now();
        let earlier_receipt = VoteReceipt {
            poll_id: poll.id,
            marks: choices(&[1]),
            cast_at: now - Duration::minutes(1),
            version: 1,
        };
        let mut tally = Tally::empty(&poll);
        tally.add(&choices(&[1]));
        poll.closed_at = Some(now);
        let earlier = HashMap::from([(
            VoterId::try_from("old".to_owned()).unwrap(),
            earlier_receipt.clone(),
        )]);
        let ballots = [ballot(&poll, "old", &[1]), ballot(&poll, "new", &[0])];
        let plan = Plan::decide(&poll, tally, 1, earlier, &ballots, now);
        assert_eq!(plan.outcomes[0].as_ref().unwrap().receipt, earlier_receipt);
        assert!(matches!(plan.outcomes[1], Err(PollError::PollClosed)));
        assert!(plan.new_ballots.is_empty());
    }

    #[test]
    fn a_batch_may_hold_a_first_ballot_then_its_change_and_writes_one_row() {
        let mut poll = sample_poll(3, false, None);
        poll.allow_vote_change = true;
        let ballots = [
            ballot(&poll, "a", &[0]),
            ballot(&poll, "b", &[2]),
            ballot(&poll, "a", &[1]),
            ballot(&poll, "a", &[1]),
            ballot(&poll, "a", &[7]),
            ballot(&poll, "a", &[2]),
        ];
        let plan = decide(&poll, &ballots);
        assert_eq!(
            kinds(&plan),
            [
                "new",
                "new",
                "changed",
                "replay",
                "invalid_choice",
                "changed"
            ]
        );
        assert_eq!(plan.results.version, 4);
        assert_eq!(plan.results.total, 2);
        assert_eq!(plan.results.votes(OptionId::new(0)), Some(0));
        assert_eq!(plan.results.votes(OptionId::new(1)), Some(0));
        assert_eq!(plan.results.votes(OptionId::new(2)), Some(2));
        let inserted: Vec<(&str, u64)> = plan
            .new_ballots
            .iter()
            .map(|(v, r)| (v.as_str(), r.version))
            .collect();
        assert_eq!(
            inserted,
            [("b", 2), ("a", 4)],
            "one row per voter, their last ballot"
        );
        assert!(
            plan.changed_ballots.is_empty(),
            "nobody had a stored ballot"
        );
    }

    #[test]
    fn a_stored_ballot_changed_in_a_batch_is_an_update() {
        let mut poll = sample_poll(2, false, None);
        poll.allow_vote_change = true;
        let old = VoterId::try_from("old".to_owned()).unwrap();
        let mut tally = Tally::empty(&poll);
        tally.add(&choices(&[0]));
        let earlier = HashMap::from([(
            old.clone(),
            VoteReceipt {
                poll_id: poll.id,
                marks: choices(&[0]),
                cast_at: crate::now(),
                version: 1,
            },
        )]);
        let ballots = [ballot(&poll, "old", &[1]), ballot(&poll, "new", &[1])];
        let plan = Plan::decide(&poll, tally, 1, earlier, &ballots, crate::now());
        assert_eq!(kinds(&plan), ["changed", "new"]);
        assert_eq!(plan.changed_ballots.len(), 1);
        assert_eq!(plan.changed_ballots[0].0, old);
        assert_eq!(plan.changed_ballots[0].1.version, 2);
        assert_eq!(plan.new_ballots.len(), 1);
        assert_eq!(plan.results.votes(OptionId::new(0)), Some(0));
        assert_eq!(plan.results.votes(OptionId::new(1)), Some(2));
        assert_eq!(plan.results.total, 2);
    }

    #[test]
    fn a_ranked_batch_counts_its_runoff_once_and_every_outcome_carries_it() {
        let poll = crate::testing::sample_method_poll(Method::Ranked, 3, true);
        let ranked = |voter: &str, ids: &[u32]| {
            let marks = Marks::ranking(ids.iter().copied().map(OptionId::new).collect()).unwrap();
            Ballot::with_marks(poll.id, VoterId::try_from(voter.to_owned()).unwrap(), marks)
        };
        let ballots = [ranked("a", &[0, 1]), ranked("b", &[1]), ranked("a", &[2])];
        let plan = decide(&poll, &ballots);
        assert_eq!(kinds(&plan), ["new", "new", "changed"]);
        for outcome in plan.outcomes.iter().flatten() {
            assert_eq!(outcome.results, plan.results, "the batch's results");
            assert!(outcome.results.version >= outcome.receipt.version);
        }
        let touched: HashSet<Vec<u32>> = plan
            .touched_rankings
            .iter()
            .map(|r| r.iter().map(|o| o.get()).collect())
            .collect();
        assert_eq!(touched, HashSet::from([vec![0, 1], vec![1], vec![2]]));
        assert_eq!(
            plan.tally
                .ballots_ranking(&[OptionId::new(0), OptionId::new(1)]),
            0
        );
        assert_eq!(
            plan.results.ranked.as_ref().unwrap().rounds[0].counts.len(),
            3
        );
    }

    #[test]
    fn a_secret_poll_refuses_every_second_ballot_and_keeps_the_minute() {
        let mut poll = sample_poll(2, false, None);
        poll.secret = true;
        let stored: HashSet<VoterId> = [VoterId::try_from("old".to_owned()).unwrap()].into();
        let ballots = [
            ballot(&poll, "old", &[0]),
            ballot(&poll, "a", &[7]),
            ballot(&poll, "a", &[0]),
            ballot(&poll, "a", &[0]),
            ballot(&poll, "b", &[1]),
        ];
        let now = crate::now();
        let plan = Plan::decide_secret(&poll, Tally::empty(&poll), 0, &stored, &ballots, now);
        assert_eq!(
            kinds(&plan),
            [
                "already_voted",
                "invalid_choice",
                "new",
                "already_voted",
                "new"
            ]
        );
        assert_eq!(plan.cast_at, crate::domain::secret_minute(now));
        assert!(plan
            .new_ballots
            .iter()
            .all(|(_, r)| r.cast_at == plan.cast_at));
        assert_eq!(plan.results.total, 2);
    }

    #[test]
    fn without_vote_change_a_different_ballot_is_already_voted() {
        let poll = sample_poll(2, false, None);
        let plan = decide(&poll, &[ballot(&poll, "a", &[0]), ballot(&poll, "a", &[1])]);
        assert_eq!(kinds(&plan), ["new", "already_voted"]);
    }
}

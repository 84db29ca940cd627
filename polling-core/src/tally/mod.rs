//! Counting ballots: [`Tally`], the running sums a store keeps for a poll,
//! and the pure counts of each [`Method`] it feeds:
//! [`instant_runoff`] for ranked polls and [`star`] for STAR polls.
//!
//! Every part of a [`Tally`] is a sum over ballots, so a store adds a ballot
//! (or swaps a changed one) without reading the others, and two tallies of
//! the same ballots in any order are equal. [`Tally::results`] turns it into
//! the [`Results`] clients see; for a ranked poll that is the one step whose
//! cost grows with the poll: one pass over the distinct rankings per round.

mod irv;
mod star;

use std::collections::HashMap;

pub use irv::{instant_runoff, RankedTally, Round};
pub use star::{star, Runoff, StarSums, StarTally};

use crate::domain::{Marks, Method, OptionCount, OptionId, Poll, PollId, Results, MAX_SCORE};

/// A poll's ballots summed: what a store keeps up to date with every vote
/// and turns into [`Results`].
///
/// | method | `counts[i]` | also kept |
/// |---|---|---|
/// | plurality, approval | ballots choosing option `i` | |
/// | ranked | ballots ranking `i` first | how many ballots hold each distinct ranking |
/// | star | the total score of `i` | the [`StarSums`] pairwise matrix |
///
/// # Example
///
/// ```
/// use polling_core::{Marks, Method, OptionId, PollId, Tally};
///
/// let ranking = |ids: &[u32]| Marks::ranking(ids.iter().map(|&i| OptionId::new(i)).collect());
/// let mut tally = Tally::new(Method::Ranked, 3);
/// for _ in 0..8 { tally.add(&ranking(&[0])?); }
/// for _ in 0..5 { tally.add(&ranking(&[1, 2])?); }
/// for _ in 0..4 { tally.add(&ranking(&[2, 1])?); }
/// let results = tally.results(PollId::generate(), 17);
/// assert_eq!(results.votes(OptionId::new(0)), Some(8), "first preferences");
/// assert_eq!(results.ranked.unwrap().winner, Some(OptionId::new(1)));
/// # Ok::<(), polling_core::PollError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    method: Method,
    total: u64,
    counts: Vec<u64>,
    /// STAR only: `n × n`, as [`StarSums::pairwise`] describes; else empty.
    pairwise: Vec<u64>,
    /// Ranked only: ballots per distinct ranking (no zero entries).
    rankings: HashMap<Vec<OptionId>, u64>,
}

impl Tally {
    /// The tally of a `method` poll of `option_count` options before any vote.
    pub fn new(method: Method, option_count: usize) -> Self {
        Self {
            method,
            total: 0,
            counts: vec![0; option_count],
            pairwise: match method {
                Method::Star => vec![0; option_count * option_count],
                _ => Vec::new(),
            },
            rankings: HashMap::new(),
        }
    }

    /// The tally of `poll` before any vote.
    pub fn empty(poll: &Poll) -> Self {
        Self::new(poll.method, poll.options.len())
    }

    /// A tally rebuilt from the sums a store kept: `counts` and, as the
    /// method needs them, `pairwise` (STAR) and `rankings` (ranked).
    /// Parts the method does not use are ignored; a `pairwise` of the wrong
    /// size is replaced by zeros.
    pub fn from_parts(
        method: Method,
        total: u64,
        counts: Vec<u64>,
        pairwise: Vec<u64>,
        rankings: impl IntoIterator<Item = (Vec<OptionId>, u64)>,
    ) -> Self {
        let n = counts.len();
        Self {
            method,
            total,
            pairwise: match method {
                Method::Star if pairwise.len() == n * n => pairwise,
                Method::Star => vec![0; n * n],
                _ => Vec::new(),
            },
            rankings: match method {
                Method::Ranked => rankings.into_iter().filter(|(_, c)| *c > 0).collect(),
                _ => HashMap::new(),
            },
            counts,
        }
    }

    /// The poll's method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The number of ballots.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// One sum per option, as the [table](Tally) says.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The STAR pairwise matrix ([`StarSums::pairwise`]); empty for other methods.
    pub fn pairwise(&self) -> &[u64] {
        &self.pairwise
    }

    /// Ballots per distinct ranking (ranked polls; else none).
    pub fn rankings(&self) -> impl Iterator<Item = (&[OptionId], u64)> {
        self.rankings.iter().map(|(r, &n)| (r.as_slice(), n))
    }

    /// How many ballots hold exactly `ranking` (ranked polls).
    pub fn ballots_ranking(&self, ranking: &[OptionId]) -> u64 {
        self.rankings.get(ranking).copied().unwrap_or(0)
    }

    /// Counts one more ballot marked `marks`.
    ///
    /// Marks of another method's shape, and options outside the poll, are
    /// ignored: check the ballot first with [`Poll::check_ballot`].
    pub fn add(&mut self, marks: &Marks) {
        self.total += 1;
        self.apply(marks, Step::Add);
    }

    /// Replaces one counted ballot marked `old` by one marked `new`;
    /// `total` stays. No sum goes below zero, even for an `old` that was
    /// never counted (which a store never passes).
    pub fn change(&mut self, old: &Marks, new: &Marks) {
        self.apply(old, Step::Remove);
        self.apply(new, Step::Add);
    }

    fn apply(&mut self, marks: &Marks, step: Step) {
        let n = self.counts.len();
        match (self.method, marks) {
            (Method::Plurality | Method::Approval, Marks::Choices(choices)) => {
                for choice in choices {
                    if let Some(count) = self.counts.get_mut(choice.index()) {
                        step.apply(count, 1);
                    }
                }
            }
            (Method::Ranked, Marks::Ranking(ranking)) => {
                if let Some(count) = ranking.first().and_then(|o| self.counts.get_mut(o.index())) {
                    step.apply(count, 1);
                }
                let entry = self.rankings.entry(ranking.clone()).or_insert(0);
                step.apply(entry, 1);
                if *entry == 0 {
                    self.rankings.remove(ranking);
                }
            }
            (Method::Star, Marks::Scores(scores)) if scores.len() == n => {
                for (a, &score) in scores.iter().enumerate() {
                    step.apply(&mut self.counts[a], u64::from(score));
                    for (b, &other) in scores.iter().enumerate() {
                        let counts = if a == b {
                            score == MAX_SCORE
                        } else {
                            score > other
                        };
                        if counts {
                            step.apply(&mut self.pairwise[a * n + b], 1);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// The results these sums give at `version`: counts for every method,
    /// plus the instant runoff of a ranked poll or the runoff of a STAR poll.
    pub fn results(&self, poll_id: PollId, version: u64) -> Results {
        let counts = self
            .counts
            .iter()
            .enumerate()
            .map(|(i, &votes)| OptionCount {
                option_id: option_id(i),
                votes,
            })
            .collect();
        Results {
            poll_id,
            version,
            total: self.total,
            counts,
            ranked: (self.method == Method::Ranked)
                .then(|| instant_runoff(self.counts.len(), self.rankings())),
            star: (self.method == Method::Star).then(|| {
                star(StarSums {
                    ballots: self.total,
                    totals: &self.counts,
                    pairwise: &self.pairwise,
                })
            }),
        }
    }
}

/// The id of the option at `index` (an index below an option count).
fn option_id(index: usize) -> OptionId {
    OptionId::new(u32::try_from(index).expect("at most MAX_OPTIONS options"))
}

#[derive(Clone, Copy)]
enum Step {
    Add,
    Remove,
}

impl Step {
    fn apply(self, sum: &mut u64, by: u64) {
        *sum = match self {
            Self::Add => *sum + by,
            Self::Remove => sum.saturating_sub(by),
        };
    }
}

#[cfg(test)]
mod tests;

//! Score then automatic runoff: [`star`] and its [`StarTally`].

use serde::{Deserialize, Serialize};

use super::option_id;
use crate::domain::OptionId;

/// The runoff between a STAR poll's two finalists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runoff {
    /// The ballots scoring the first finalist higher, then those scoring the
    /// second higher.
    pub prefer: [u64; 2],
    /// The ballots scoring both finalists the same.
    pub equal: u64,
}

/// How a STAR poll's count went: finalists, runoff, winner. Each option's
/// score total is in the results' `counts`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StarTally {
    /// The two options with the highest score totals, the higher first;
    /// `None` when a tie for second place is not broken.
    pub finalists: Option<[OptionId; 2]>,
    /// The runoff between the finalists, when there are two.
    pub runoff: Option<Runoff>,
    /// The finalist more ballots prefer; `None` when there are no finalists
    /// or the runoff stays tied.
    pub winner: Option<OptionId>,
}

/// What a STAR count needs of a poll's ballots, all sums over ballots (so a
/// store can keep them up to date vote by vote).
#[derive(Clone, Copy, Debug)]
pub struct StarSums<'a> {
    /// The number of ballots.
    pub ballots: u64,
    /// Each option's score total, in option order.
    pub totals: &'a [u64],
    /// `n × n`, row-major: entry `a·n + b` (for `a ≠ b`) counts the ballots
    /// scoring `a` above `b`; entry `a·n + a` counts the ballots giving `a`
    /// the top score.
    pub pairwise: &'a [u64],
}

impl StarSums<'_> {
    fn prefer(&self, a: usize, b: usize) -> u64 {
        self.pairwise
            .get(a * self.totals.len() + b)
            .copied()
            .unwrap_or(0)
    }

    fn top_scores(&self, a: usize) -> u64 {
        self.prefer(a, a)
    }
}

/// Counts a STAR poll from its [`StarSums`].
///
/// The two options with the highest score totals are the finalists; a tie
/// in totals is broken by the number of top scores (5) each received; a tie
/// for second place that stays is not broken (`finalists` is `None`). The
/// winner is the finalist scored higher on more ballots; a tied runoff goes
/// to the higher total, then to more top scores, else there is no winner.
///
/// # Example
///
/// The top scorer loses the runoff:
///
/// ```
/// use polling_core::{star, OptionId, StarSums};
///
/// // 2 ballots score A 5 and B 0; 3 ballots score A 3 and B 4.
/// let totals = [19, 12];
/// let pairwise = [2, 2, 3, 0];
/// let tally = star(StarSums { ballots: 5, totals: &totals, pairwise: &pairwise });
/// assert_eq!(tally.finalists, Some([OptionId::new(0), OptionId::new(1)]));
/// assert_eq!(tally.runoff.unwrap().prefer, [2, 3]);
/// assert_eq!(tally.winner, Some(OptionId::new(1)));
/// ```
pub fn star(sums: StarSums<'_>) -> StarTally {
    let n = sums.totals.len();
    let key = |i: usize| (sums.totals[i], sums.top_scores(i));
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| key(b).cmp(&key(a)).then(a.cmp(&b)));
    let (Some(&first), Some(&second)) = (order.first(), order.get(1)) else {
        return StarTally::default();
    };
    if order.get(2).is_some_and(|&third| key(third) == key(second)) {
        return StarTally::default();
    }
    let prefer = [sums.prefer(first, second), sums.prefer(second, first)];
    let equal = sums.ballots.saturating_sub(prefer[0] + prefer[1]);
    let winner = match prefer[0].cmp(&prefer[1]) {
        std::cmp::Ordering::Greater => Some(first),
        std::cmp::Ordering::Less => Some(second),
        std::cmp::Ordering::Equal => (key(first) != key(second)).then_some(first),
    };
    StarTally {
        finalists: Some([option_id(first), option_id(second)]),
        runoff: Some(Runoff { prefer, equal }),
        winner: winner.map(option_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sums of `ballots` (scores per option, with how many ballots).
    fn sums_of(n: usize, ballots: &[(&[u8], u64)]) -> (u64, Vec<u64>, Vec<u64>) {
        let mut totals = vec![0; n];
        let mut pairwise = vec![0; n * n];
        let mut count = 0;
        for (scores, times) in ballots {
            count += times;
            for a in 0..n {
                totals[a] += u64::from(scores[a]) * times;
                for b in 0..n {
                    if a == b && scores[a] == 5 || a != b && scores[a] > scores[b] {
                        pairwise[a * n + b] += times;
                    }
                }
            }
        }
        (count, totals, pairwise)
    }

    fn count(n: usize, ballots: &[(&[u8], u64)]) -> StarTally {
        let (ballots, totals, pairwise) = sums_of(n, ballots);
        star(StarSums {
            ballots,
            totals: &totals,
            pairwise: &pairwise,
        })
    }

    #[test]
    fn the_top_scorer_can_lose_the_runoff() {
        let tally = count(3, &[(&[5, 0, 0], 2), (&[3, 4, 1], 3)]);
        assert_eq!(tally.finalists, Some([OptionId::new(0), OptionId::new(1)]));
        assert_eq!(
            tally.runoff,
            Some(Runoff {
                prefer: [2, 3],
                equal: 0
            })
        );
        assert_eq!(tally.winner, Some(OptionId::new(1)));
    }

    #[test]
    fn equal_scores_count_as_neither_preference() {
        let tally = count(3, &[(&[5, 5, 0], 2), (&[4, 1, 0], 1)]);
        assert_eq!(
            tally.runoff,
            Some(Runoff {
                prefer: [1, 0],
                equal: 2
            })
        );
        assert_eq!(tally.winner, Some(OptionId::new(0)));
    }

    #[test]
    fn no_ballot_and_unbroken_ties_have_no_winner() {
        assert_eq!(count(3, &[]).winner, None);
        assert_eq!(count(3, &[]).finalists, None, "three options tied at zero");
        // Two options: always the finalists; an empty runoff has no winner.
        let two = count(2, &[]);
        assert!(two.finalists.is_some());
        assert_eq!(two.winner, None);
        // B and C tie for second in totals and in top scores.
        let tally = count(3, &[(&[5, 2, 2], 1)]);
        assert_eq!(tally.finalists, None);
    }

    #[test]
    fn a_tie_in_totals_is_broken_by_top_scores_and_a_tied_runoff_by_totals() {
        // B and C both total 5; C has a 5, B does not.
        let tally = count(3, &[(&[5, 3, 0], 1), (&[4, 2, 5], 1)]);
        assert_eq!(tally.finalists, Some([OptionId::new(0), OptionId::new(2)]));
        // Runoff A vs C: 1 each; A has the higher total.
        assert_eq!(tally.runoff.as_ref().unwrap().prefer, [1, 1]);
        assert_eq!(tally.winner, Some(OptionId::new(0)));
    }
}

//! Instant runoff: [`instant_runoff`] and its [`RankedTally`].

use serde::{Deserialize, Serialize};

use super::option_id;
use crate::domain::{OptionCount, OptionId};

/// One round of an instant-runoff count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Round {
    /// The votes of each option still in the count, in option order: each
    /// ballot counts for its most preferred option still in.
    pub counts: Vec<OptionCount>,
    /// Ballots that rank no option still in the count.
    pub exhausted: u64,
    /// The options eliminated after this round (none in the last round).
    pub eliminated: Vec<OptionId>,
}

/// How a ranked poll's instant runoff went: its rounds and its winner.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankedTally {
    /// Every round, first to last.
    pub rounds: Vec<Round>,
    /// The option with a majority of the ballots still counting in the last
    /// round; `None` with no ballot yet, or when the count ends tied.
    pub winner: Option<OptionId>,
}

/// Counts `ballots` by instant runoff among `option_count` options.
///
/// `ballots` are rankings (most preferred first) with how many ballots hold
/// each; the same ranking may come more than once. Each round, every ballot
/// counts for its most preferred option still in; an option with more than
/// half of the ballots counting wins. Otherwise the round eliminates:
///
/// 1. every option with no vote at all, together (nothing transfers from
///    them), else
/// 2. the option with the fewest votes. A tie for fewest is broken by the
///    rounds before, latest first: the tied option with fewer votes there is
///    eliminated. A tie no earlier round breaks ends the count with no winner
///    (`winner` is `None`), as does a tie of every option still in.
///
/// The result depends only on the multiset of rankings, never on their
/// order. Cost: one look at each distinct ranking per rank it holds (an
/// elimination moves only the rankings that counted for the eliminated
/// options), plus `option_count` per round.
///
/// # Example
///
/// The plurality leader loses once the third option's ballots transfer:
///
/// ```
/// use polling_core::{instant_runoff, OptionId};
///
/// let (a, b, c) = (OptionId::new(0), OptionId::new(1), OptionId::new(2));
/// let tally = instant_runoff(3, [(&[a][..], 8), (&[b, c][..], 5), (&[c, b][..], 4)]);
/// assert_eq!(tally.rounds.len(), 2);
/// assert_eq!(tally.rounds[0].eliminated, [c]);
/// assert_eq!(tally.winner, Some(b));
/// ```
pub fn instant_runoff<'a>(
    option_count: usize,
    ballots: impl IntoIterator<Item = (&'a [OptionId], u64)>,
) -> RankedTally {
    let mut continuing = vec![true; option_count];
    let mut votes = vec![0u64; option_count];
    let mut exhausted = 0u64;
    // Each ranking waits in the pile of the option it counts for, with how
    // far down it is; an elimination moves only the rankings of the
    // options it eliminates, so a ranking is looked at once per rank it
    // holds, not once per round.
    let mut piles: Vec<Vec<(&[OptionId], usize, u64)>> = vec![Vec::new(); option_count];
    for (ranking, n) in ballots.into_iter().filter(|(_, n)| *n > 0) {
        place(
            &continuing,
            &mut piles,
            &mut votes,
            &mut exhausted,
            (ranking, 0, n),
        );
    }
    let mut history: Vec<Vec<u64>> = Vec::new();
    let mut tally = RankedTally::default();
    loop {
        let still: Vec<usize> = (0..option_count).filter(|&i| continuing[i]).collect();
        let counting: u64 = still.iter().map(|&i| votes[i]).sum();
        let mut round = Round {
            counts: still
                .iter()
                .map(|&i| OptionCount {
                    option_id: option_id(i),
                    votes: votes[i],
                })
                .collect(),
            exhausted,
            eliminated: Vec::new(),
        };
        if counting == 0 {
            tally.rounds.push(round);
            return tally;
        }
        if let Some(&leader) = still.iter().find(|&&i| votes[i] * 2 > counting) {
            tally.rounds.push(round);
            tally.winner = Some(option_id(leader));
            return tally;
        }
        let zero: Vec<usize> = still.iter().copied().filter(|&i| votes[i] == 0).collect();
        let eliminated = if zero.is_empty() {
            match lowest(&still, &votes, &history) {
                Some(last) => vec![last],
                None => {
                    // A tie for last that no earlier round breaks.
                    tally.rounds.push(round);
                    return tally;
                }
            }
        } else {
            zero
        };
        history.push(votes.clone());
        for &i in &eliminated {
            continuing[i] = false;
        }
        for &i in &eliminated {
            votes[i] = 0;
            for (ranking, at, n) in std::mem::take(&mut piles[i]) {
                place(
                    &continuing,
                    &mut piles,
                    &mut votes,
                    &mut exhausted,
                    (ranking, at + 1, n),
                );
            }
        }
        round.eliminated = eliminated.into_iter().map(option_id).collect();
        tally.rounds.push(round);
    }
}

/// Puts `n` ballots of `ranking`, looked at from rank `from` on, in the pile
/// of their most preferred option still in, or counts them exhausted.
fn place<'a>(
    continuing: &[bool],
    piles: &mut [Vec<(&'a [OptionId], usize, u64)>],
    votes: &mut [u64],
    exhausted: &mut u64,
    (ranking, from, n): (&'a [OptionId], usize, u64),
) {
    let next = ranking
        .iter()
        .enumerate()
        .skip(from)
        .find(|(_, o)| continuing.get(o.index()).copied().unwrap_or(false));
    match next {
        Some((at, option)) => {
            votes[option.index()] += n;
            piles[option.index()].push((ranking, at, n));
        }
        None => *exhausted += n,
    }
}

/// The one option of `still` to eliminate: fewest `votes`, ties broken by
/// the earlier rounds in `history`, latest first; `None` if no round breaks
/// the tie.
fn lowest(still: &[usize], votes: &[u64], history: &[Vec<u64>]) -> Option<usize> {
    let fewest = still.iter().map(|&i| votes[i]).min()?;
    let mut tied: Vec<usize> = still
        .iter()
        .copied()
        .filter(|&i| votes[i] == fewest)
        .collect();
    for earlier in history.iter().rev() {
        if tied.len() == 1 {
            break;
        }
        let fewest = tied.iter().map(|&i| earlier[i]).min()?;
        tied.retain(|&i| earlier[i] == fewest);
    }
    (tied.len() == 1).then(|| tied[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(raw: &[u32]) -> Vec<OptionId> {
        raw.iter().copied().map(OptionId::new).collect()
    }

    fn count(option_count: usize, ballots: &[(&[u32], u64)]) -> RankedTally {
        let owned: Vec<(Vec<OptionId>, u64)> = ballots.iter().map(|(r, n)| (ids(r), *n)).collect();
        instant_runoff(option_count, owned.iter().map(|(r, n)| (r.as_slice(), *n)))
    }

    #[test]
    fn no_ballot_no_winner() {
        let tally = count(3, &[]);
        assert_eq!(tally.winner, None);
        assert_eq!(tally.rounds.len(), 1);
        assert!(tally.rounds[0].counts.iter().all(|c| c.votes == 0));
    }

    #[test]
    fn a_first_round_majority_wins_at_once() {
        let tally = count(3, &[(&[1, 0], 3), (&[0], 2)]);
        assert_eq!(tally.winner, Some(OptionId::new(1)));
        assert_eq!(tally.rounds.len(), 1);
    }

    #[test]
    fn the_plurality_leader_can_lose_the_runoff() {
        // Textbook: A leads the first round, C's supporters prefer B.
        let tally = count(3, &[(&[0], 8), (&[1, 2], 5), (&[2, 1], 4)]);
        assert_eq!(
            tally.rounds[0]
                .counts
                .iter()
                .map(|c| c.votes)
                .collect::<Vec<_>>(),
            [8, 5, 4]
        );
        assert_eq!(tally.rounds[0].eliminated, ids(&[2]));
        assert_eq!(
            tally.rounds[1]
                .counts
                .iter()
                .map(|c| c.votes)
                .collect::<Vec<_>>(),
            [8, 9]
        );
        assert_eq!(tally.winner, Some(OptionId::new(1)));
    }

    #[test]
    fn options_without_votes_go_together_and_exhausted_ballots_are_counted() {
        let tally = count(5, &[(&[0], 3), (&[1], 2), (&[2, 1], 2)]);
        // Round 1: 3, 2, 2, 0, 0: options 3 and 4 have no vote.
        assert_eq!(tally.rounds[0].eliminated, ids(&[3, 4]));
        // Round 2: 3, 2, 2: a tie for last, unbroken by round 1 (2 and 2).
        assert_eq!(tally.rounds.len(), 2);
        assert_eq!(
            tally.winner, None,
            "an unbroken tie for last ends the count"
        );

        let tally = count(3, &[(&[0], 3), (&[1], 2), (&[2], 1)]);
        assert_eq!(tally.rounds[0].eliminated, ids(&[2]));
        assert_eq!(tally.rounds[1].exhausted, 1);
        assert_eq!(
            tally.winner,
            Some(OptionId::new(0)),
            "3 of the 5 still counting"
        );
    }

    #[test]
    fn a_tie_for_last_is_broken_by_the_earlier_round() {
        // Round 1: A 5, B 4, C 3, D 1 (D's ballot goes on to C); a ranking
        // no ballot holds changes nothing.
        let tally = count(
            4,
            &[(&[0], 5), (&[1], 4), (&[2], 3), (&[3, 2], 1), (&[1, 0], 0)],
        );
        assert_eq!(tally.rounds[0].eliminated, ids(&[3]));
        // Round 2: A 5, B 4, C 4: B and C tie; round 1 had B 4, C 3: C goes.
        assert_eq!(tally.rounds[1].eliminated, ids(&[2]));
        // Round 3: A 5, B 4, and C's 4 exhausted: A has 5 of the 9 counting.
        assert_eq!(tally.rounds[2].exhausted, 4);
        assert_eq!(tally.winner, Some(OptionId::new(0)));
    }

    #[test]
    fn a_tie_of_everyone_left_has_no_winner() {
        let tally = count(2, &[(&[0], 2), (&[1], 2)]);
        assert_eq!(tally.winner, None);
        assert!(tally.rounds.last().unwrap().eliminated.is_empty());
    }
}

//! Properties of every tally, over any ballots in any order.

use proptest::prelude::*;

use super::*;

const OPTIONS: usize = 5;

fn ids(raw: &[usize]) -> Vec<OptionId> {
    raw.iter().map(|&i| OptionId::new(i as u32)).collect()
}

/// A ranking of some of the `OPTIONS` options, most preferred first.
fn ranking() -> impl Strategy<Value = Marks> {
    Just((0..OPTIONS).collect::<Vec<_>>())
        .prop_shuffle()
        .prop_flat_map(|order| (1..=OPTIONS).prop_map(move |len| order[..len].to_vec()))
        .prop_map(|order| Marks::ranking(ids(&order)).unwrap())
}

fn scores() -> impl Strategy<Value = Marks> {
    proptest::collection::vec(0..=MAX_SCORE, OPTIONS).prop_map(|s| Marks::scores(s).unwrap())
}

fn tally_of<'a>(method: Method, ballots: impl IntoIterator<Item = &'a Marks>) -> Tally {
    let mut tally = Tally::new(method, OPTIONS);
    for marks in ballots {
        tally.add(marks);
    }
    tally
}

fn results_of(method: Method, ballots: &[Marks]) -> Results {
    tally_of(method, ballots).results(PollId::generate(), 0)
}

/// The winner and eliminations by the plain definition, every round
/// recounted from every ballot: the oracle of [`instant_runoff`], which
/// moves only the ballots of eliminated options.
fn recounted(ballots: &[Marks]) -> (Option<OptionId>, Vec<Vec<OptionId>>, Vec<u64>) {
    let mut continuing = [true; OPTIONS];
    let mut history: Vec<[u64; OPTIONS]> = Vec::new();
    let mut eliminated = Vec::new();
    let mut exhausted = Vec::new();
    loop {
        let mut votes = [0u64; OPTIONS];
        let mut gone = 0;
        for marks in ballots {
            match marks.options().iter().find(|o| continuing[o.index()]) {
                Some(o) => votes[o.index()] += 1,
                None => gone += 1,
            }
        }
        exhausted.push(gone);
        let still: Vec<usize> = (0..OPTIONS).filter(|&i| continuing[i]).collect();
        let counting: u64 = still.iter().map(|&i| votes[i]).sum();
        if counting == 0 {
            return (None, eliminated, exhausted);
        }
        if let Some(&w) = still.iter().find(|&&i| votes[i] * 2 > counting) {
            return (Some(OptionId::new(w as u32)), eliminated, exhausted);
        }
        let mut out: Vec<usize> = still.iter().copied().filter(|&i| votes[i] == 0).collect();
        if out.is_empty() {
            let fewest = still.iter().map(|&i| votes[i]).min().unwrap();
            let mut tied: Vec<usize> = still
                .iter()
                .copied()
                .filter(|&i| votes[i] == fewest)
                .collect();
            for earlier in history.iter().rev() {
                let fewest = tied.iter().map(|&i| earlier[i]).min().unwrap();
                tied.retain(|&i| earlier[i] == fewest);
            }
            if tied.len() > 1 {
                return (None, eliminated, exhausted);
            }
            out = tied;
        }
        history.push(votes);
        for &i in &out {
            continuing[i] = false;
        }
        eliminated.push(ids(&out));
    }
}

proptest! {
    #[test]
    fn the_runoff_agrees_with_recounting_every_round_from_scratch(
        ballots in proptest::collection::vec(ranking(), 0..80),
    ) {
        let ranked = results_of(Method::Ranked, &ballots).ranked.unwrap();
        let (winner, eliminated, exhausted) = recounted(&ballots);
        prop_assert_eq!(ranked.winner, winner);
        let rounds_eliminated: Vec<Vec<OptionId>> = ranked
            .rounds
            .iter()
            .map(|r| r.eliminated.clone())
            .filter(|e| !e.is_empty())
            .collect();
        prop_assert_eq!(rounds_eliminated, eliminated);
        let rounds_exhausted: Vec<u64> = ranked.rounds.iter().map(|r| r.exhausted).collect();
        prop_assert_eq!(rounds_exhausted, exhausted);
    }

    #[test]
    fn tallies_never_depend_on_ballot_order(
        ranked in proptest::collection::vec(ranking(), 0..60),
        scored in proptest::collection::vec(scores(), 0..60),
        seed in any::<u64>(),
    ) {
        for (method, ballots) in [(Method::Ranked, ranked), (Method::Star, scored)] {
            let mut shuffled = ballots.clone();
            // A deterministic shuffle from `seed`.
            let mut state = seed | 1;
            for i in (1..shuffled.len()).rev() {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                shuffled.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let (a, b) = (tally_of(method, &ballots), tally_of(method, &shuffled));
            prop_assert_eq!(&a, &b);
            let id = PollId::generate();
            prop_assert_eq!(a.results(id, 1), b.results(id, 1));
        }
    }

    #[test]
    fn a_majority_of_first_preferences_elects_at_once(
        others in proptest::collection::vec(ranking(), 0..40),
        favourite in 0..OPTIONS,
        extra in 1usize..5,
    ) {
        // More ballots rank `favourite` first than there are other ballots.
        let mut ballots: Vec<Marks> = others
            .into_iter()
            .filter(|m| m.options()[0].index() != favourite)
            .collect();
        let first = ballots.len() + extra;
        ballots.extend((0..first).map(|_| Marks::ranking(ids(&[favourite])).unwrap()));
        let ranked = results_of(Method::Ranked, &ballots).ranked.unwrap();
        prop_assert_eq!(ranked.winner, Some(OptionId::new(favourite as u32)));
        prop_assert_eq!(ranked.rounds.len(), 1);
    }

    #[test]
    fn an_irv_winner_holds_a_majority_of_the_last_round(
        ballots in proptest::collection::vec(ranking(), 0..80),
    ) {
        let ranked = results_of(Method::Ranked, &ballots).ranked.unwrap();
        prop_assert!(ranked.rounds.len() <= OPTIONS);
        let last = ranked.rounds.last().unwrap();
        let counting: u64 = last.counts.iter().map(|c| c.votes).sum();
        prop_assert_eq!(counting + last.exhausted, ballots.len() as u64, "every ballot is somewhere");
        if let Some(winner) = ranked.winner {
            let votes = last.counts.iter().find(|c| c.option_id == winner).unwrap().votes;
            prop_assert!(votes * 2 > counting);
        }
        // Every round eliminates options still in it, and only the last
        // eliminates none.
        for (i, round) in ranked.rounds.iter().enumerate() {
            let last_round = i + 1 == ranked.rounds.len();
            prop_assert_eq!(round.eliminated.is_empty(), last_round);
            for gone in &round.eliminated {
                prop_assert!(round.counts.iter().any(|c| c.option_id == *gone));
            }
        }
    }

    #[test]
    fn the_star_winner_is_one_of_the_two_highest_totals(
        ballots in proptest::collection::vec(scores(), 0..80),
    ) {
        let results = results_of(Method::Star, &ballots);
        let tally = results.star.clone().unwrap();
        let mut totals: Vec<u64> = results.counts.iter().map(|c| c.votes).collect();
        totals.sort_unstable_by(|a, b| b.cmp(a));
        if let Some([first, second]) = tally.finalists {
            prop_assert_eq!(results.votes(first), Some(totals[0]));
            prop_assert_eq!(results.votes(second), Some(totals[1]));
            let runoff = tally.runoff.unwrap();
            prop_assert_eq!(runoff.prefer[0] + runoff.prefer[1] + runoff.equal, ballots.len() as u64);
        }
        if let Some(winner) = tally.winner {
            prop_assert!(tally.finalists.unwrap().contains(&winner));
        }
    }

    #[test]
    fn a_change_equals_casting_the_new_ballot_instead(
        kept in proptest::collection::vec(ranking(), 0..20),
        old in ranking(),
        new in ranking(),
        kept_scores in proptest::collection::vec(scores(), 0..20),
        old_scores in scores(),
        new_scores in scores(),
    ) {
        for (method, kept, old, new) in [
            (Method::Ranked, kept.clone(), old.clone(), new.clone()),
            (Method::Star, kept_scores.clone(), old_scores.clone(), new_scores.clone()),
        ] {
            let mut changed = tally_of(method, kept.iter().chain([&old]));
            changed.change(&old, &new);
            let direct = tally_of(method, kept.iter().chain([&new]));
            prop_assert_eq!(changed, direct);
        }
    }
}

#[test]
fn approval_counts_every_approved_option() {
    let ballots = [
        Marks::choices(ids(&[0, 1, 2])).unwrap(),
        Marks::choices(ids(&[1])).unwrap(),
    ];
    let results = results_of(Method::Approval, &ballots);
    let votes: Vec<u64> = results.counts.iter().map(|c| c.votes).collect();
    assert_eq!(votes, [1, 2, 1, 0, 0]);
    assert_eq!(results.total, 2);
    assert!(results.ranked.is_none() && results.star.is_none());
}

#[test]
fn marks_of_another_method_are_ignored_and_sums_never_go_negative() {
    let mut tally = Tally::new(Method::Star, OPTIONS);
    tally.add(&Marks::ranking(ids(&[0])).unwrap());
    assert!(tally.counts().iter().all(|&c| c == 0));
    let scores = Marks::scores(vec![5, 0, 0, 0, 0]).unwrap();
    tally.change(&scores, &scores);
    assert_eq!(tally.counts()[0], 5, "0 - 5 stays 0, then + 5");
}

#[test]
fn a_tally_survives_being_taken_apart_and_rebuilt() {
    let ballots = [
        Marks::ranking(ids(&[0, 2])).unwrap(),
        Marks::ranking(ids(&[0, 2])).unwrap(),
        Marks::ranking(ids(&[3])).unwrap(),
    ];
    let tally = tally_of(Method::Ranked, &ballots);
    assert_eq!(tally.ballots_ranking(&ids(&[0, 2])), 2);
    let rebuilt = Tally::from_parts(
        Method::Ranked,
        tally.total(),
        tally.counts().to_vec(),
        Vec::new(),
        tally.rankings().map(|(r, n)| (r.to_vec(), n)),
    );
    assert_eq!(rebuilt, tally);
}

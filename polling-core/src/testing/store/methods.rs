//! The conformance cases of [`PollStore`] for the methods beyond
//! plurality: approval, ranked (instant runoff) and STAR. Listed in
//! [`store_conformance_tests!`](crate::store_conformance_tests) with the
//! others.

use std::collections::HashMap;

use super::{create, results_of, shared};
use crate::domain::{AnonymousBallot, Ballot, Marks, Method, OptionId, Poll, VoterId};
use crate::store::PollStore;
use crate::tally::Tally;
use crate::testing::{assert_error, choices, sample_method_poll};

fn ranking(raw: &[u32]) -> Marks {
    Marks::ranking(raw.iter().copied().map(OptionId::new).collect()).expect("a ranking")
}

fn scores(raw: &[u8]) -> Marks {
    Marks::scores(raw.to_vec()).expect("scores")
}

async fn cast_all<S: PollStore>(store: &S, poll: &Poll, marks: &[Marks]) {
    for m in marks {
        let b = Ballot::with_marks(poll.id, VoterId::generate(), m.clone());
        store
            .cast(&b)
            .await
            .unwrap_or_else(|e| panic!("{} ballot {m:?} failed: {e:?}", poll.method));
    }
}

/// A poll keeps its method; approval counts every approved option; a ranked
/// poll's results carry the instant runoff (the textbook case where the
/// first-round leader loses) and a STAR poll's the runoff (the case where
/// the top scorer loses it), the same from `cast` and from `results`.
pub async fn each_method_counts_its_ballots<S: PollStore>(store: S) {
    let approval = sample_method_poll(Method::Approval, 3, false);
    let ranked = sample_method_poll(Method::Ranked, 3, false);
    let star = sample_method_poll(Method::Star, 3, false);
    for poll in [&approval, &ranked, &star] {
        create(&store, poll).await;
        assert_eq!(
            store.get(poll.id).await.expect("get").method,
            poll.method,
            "the poll keeps its method"
        );
        let empty = results_of(&store, poll).await;
        assert_eq!(
            empty,
            crate::Results::empty(poll),
            "{} before votes",
            poll.method
        );
    }

    cast_all(
        &store,
        &approval,
        &[choices(&[0, 1, 2]), choices(&[1]), choices(&[1, 2])],
    )
    .await;
    let results = results_of(&store, &approval).await;
    assert_eq!(results.total, 3);
    let votes: Vec<u64> = results.counts.iter().map(|c| c.votes).collect();
    assert_eq!(votes, [1, 3, 2], "every approved option counts one");

    let mut irv = Vec::new();
    irv.extend(std::iter::repeat_n(ranking(&[0]), 8));
    irv.extend(std::iter::repeat_n(ranking(&[1, 2]), 5));
    irv.extend(std::iter::repeat_n(ranking(&[2, 1]), 4));
    cast_all(&store, &ranked, &irv).await;
    let results = results_of(&store, &ranked).await;
    assert_eq!(results.version, 17);
    assert_eq!(
        results.votes(OptionId::new(0)),
        Some(8),
        "first preferences"
    );
    let tally = results
        .ranked
        .clone()
        .expect("a ranked poll's results carry its runoff");
    assert_eq!(tally.rounds.len(), 2);
    assert_eq!(tally.rounds[0].eliminated, [OptionId::new(2)]);
    assert_eq!(
        tally.winner,
        Some(OptionId::new(1)),
        "the first-round leader loses"
    );

    let mut scored = Vec::new();
    scored.extend(std::iter::repeat_n(scores(&[5, 0, 0]), 2));
    scored.extend(std::iter::repeat_n(scores(&[3, 4, 1]), 3));
    cast_all(&store, &star, &scored).await;
    let results = results_of(&store, &star).await;
    let totals: Vec<u64> = results.counts.iter().map(|c| c.votes).collect();
    assert_eq!(totals, [19, 12, 3], "score totals");
    let tally = results
        .star
        .clone()
        .expect("a STAR poll's results carry its runoff");
    assert_eq!(tally.finalists, Some([OptionId::new(0), OptionId::new(1)]));
    assert_eq!(tally.runoff.map(|r| r.prefer), Some([2, 3]));
    assert_eq!(
        tally.winner,
        Some(OptionId::new(1)),
        "the top scorer loses the runoff"
    );

    // The last cast gave the same results as a read.
    let b = Ballot::with_marks(star.id, VoterId::generate(), scores(&[0, 0, 5]));
    let cast = store.cast(&b).await.expect("one more STAR ballot");
    assert_eq!(cast.results, results_of(&store, &star).await);
}

/// Ballots of another method's shape, unknown options, repeated or partial
/// scores are `invalid_choice` and change nothing.
pub async fn ballots_of_the_wrong_shape_are_refused_and_change_nothing<S: PollStore>(store: S) {
    let ranked = sample_method_poll(Method::Ranked, 3, false);
    let star = sample_method_poll(Method::Star, 3, false);
    let approval = sample_method_poll(Method::Approval, 3, false);
    for poll in [&ranked, &star, &approval] {
        create(&store, poll).await;
    }
    let wrong = [
        (&ranked, choices(&[0])),
        (&ranked, scores(&[1, 2, 3])),
        (&ranked, ranking(&[0, 3])),
        (&star, ranking(&[0])),
        (&star, scores(&[1, 2])),
        (&star, scores(&[1, 2, 3, 4])),
        (&approval, ranking(&[0, 1])),
        (&approval, choices(&[3])),
    ];
    for (poll, marks) in wrong {
        let b = Ballot::with_marks(poll.id, VoterId::generate(), marks.clone());
        assert_error(
            store.cast(&b).await,
            "invalid_choice",
            &format!("{marks:?} on a {} poll", poll.method),
        );
    }
    for poll in [&ranked, &star, &approval] {
        let results = results_of(&store, poll).await;
        assert_eq!(
            results,
            crate::Results::empty(poll),
            "{} unchanged",
            poll.method
        );
        assert!(store.ballots(poll.id).await.expect("ballots").is_empty());
    }
}

/// For ranked and STAR polls alike: the identical ballot replays its
/// receipt, a change replaces the old marks in the counts (total kept),
/// `ballot` gives the current marks and `ballots` exports them.
pub async fn ranked_and_star_ballots_replay_and_change<S: PollStore>(store: S) {
    for (method, first, second) in [
        (Method::Ranked, ranking(&[2, 0]), ranking(&[1])),
        (Method::Star, scores(&[5, 1, 0]), scores(&[0, 2, 5])),
    ] {
        let poll = sample_method_poll(method, 3, true);
        create(&store, &poll).await;
        let voter = VoterId::generate();
        let other = Ballot::with_marks(poll.id, VoterId::generate(), second.clone());
        store.cast(&other).await.expect("another voter");
        let b = Ballot::with_marks(poll.id, voter.clone(), first.clone());
        let original = store.cast(&b).await.expect("first ballot");
        assert!(original.is_new());
        assert_eq!(
            original.receipt.marks, first,
            "{method}: the receipt has the marks"
        );
        let replay = store.cast(&b).await.expect("replay");
        assert!(replay.is_replay(), "{method}: identical marks replay");
        assert_eq!(replay.receipt, original.receipt);

        let changed = Ballot::with_marks(poll.id, voter.clone(), second.clone());
        let outcome = store.cast(&changed).await.expect("change");
        assert!(
            outcome.is_changed(),
            "{method}: different marks change the ballot"
        );
        assert_eq!(
            outcome.results.total, 2,
            "{method}: a change keeps the total"
        );
        let mut expected = Tally::empty(&poll);
        expected.add(&second);
        expected.add(&second);
        assert_eq!(
            outcome.results,
            expected.results(poll.id, 3),
            "{method}: the old marks left the counts"
        );
        let stored = store.ballot(poll.id, &voter).await.expect("ballot");
        assert_eq!(stored.map(|r| r.marks), Some(second.clone()));
        let exported: Vec<Marks> = store
            .ballots(poll.id)
            .await
            .expect("ballots")
            .into_iter()
            .map(|b: AnonymousBallot| b.marks)
            .collect();
        assert_eq!(exported, [second.clone(), second], "{method}: the export");
    }
}

/// Concurrent ranked and STAR ballots from distinct voters, with some of
/// them changing their vote, are all counted exactly: the results equal a
/// [`Tally`] of the ballots each voter ended with.
pub async fn concurrent_ranked_and_star_ballots_are_counted_exactly<S: PollStore>(store: S) {
    const VOTERS: usize = 40;
    let store = shared(store);
    for method in [Method::Ranked, Method::Star] {
        let poll = sample_method_poll(method, 4, true);
        create(&*store, &poll).await;
        let marks = move |i: usize, turn: usize| match method {
            Method::Ranked => {
                let k = (i + turn) % 4;
                ranking(&[k as u32, ((k + 1 + i % 2) % 4) as u32])
            }
            _ => scores(&[
                (i % 6) as u8,
                ((i + turn) % 6) as u8,
                5,
                (turn * 2 % 6) as u8,
            ]),
        };
        let tasks: Vec<_> = (0..VOTERS)
            .map(|i| {
                let store = store.clone();
                let poll = poll.clone();
                tokio::spawn(async move {
                    let voter = VoterId::generate();
                    let turns = if i % 3 == 0 { 2 } else { 1 };
                    for turn in 0..turns {
                        let b = Ballot::with_marks(poll.id, voter.clone(), marks(i, turn));
                        store.cast(&b).await.expect("a concurrent ballot");
                    }
                    (voter, marks(i, turns - 1))
                })
            })
            .collect();
        let mut last: HashMap<VoterId, Marks> = HashMap::new();
        for task in tasks {
            let (voter, m) = task.await.expect("a voter task");
            last.insert(voter, m);
        }
        let mut expected = Tally::empty(&poll);
        for m in last.values() {
            expected.add(m);
        }
        let changes = (0..VOTERS).filter(|i| i % 3 == 0).count();
        let results = results_of(&*store, &poll).await;
        assert_eq!(
            results,
            expected.results(poll.id, (VOTERS + changes) as u64),
            "{method}: exact counts after {VOTERS} concurrent voters"
        );
    }
}

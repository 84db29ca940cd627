//! The conformance cases of [`PollStore`] for secret polls (see
//! [`PollStore`#secret-polls](crate::PollStore#secret-polls)). Listed in
//! [`store_conformance_tests!`](crate::store_conformance_tests) with the
//! others.

use time::OffsetDateTime;

use super::{create, results_of, shared};
use crate::domain::{secret_minute, AnonymousBallot, Ballot, Marks, Method, OptionId, Poll};
use crate::store::PollStore;
use crate::tally::Tally;
use crate::testing::{assert_error, choices, is_error, sample_method_poll};
use crate::VoterId;

/// A fresh secret `method` poll of three options.
fn secret_poll(method: Method) -> Poll {
    let mut poll = sample_method_poll(method, 3, false);
    poll.secret = true;
    poll
}

/// Marks of `method`'s shape for voter number `i`: each method's ballots
/// vary with `i`, so a poll's counts tell them apart.
fn marks_for(method: Method, i: u32) -> Marks {
    let ids = |raw: &[u32]| raw.iter().copied().map(OptionId::new).collect::<Vec<_>>();
    match method {
        Method::Plurality => choices(&[i % 3]),
        Method::Approval => choices(&[i % 3, (i + 1) % 3]),
        Method::Ranked => Marks::ranking(ids(&[i % 3, (i + 2) % 3])).expect("a ranking"),
        Method::Star => Marks::scores(vec![(i % 6) as u8, 5 - (i % 6) as u8, 3]).expect("scores"),
    }
}

fn is_minute(t: OffsetDateTime) -> bool {
    t == secret_minute(t)
}

/// The results `ballots` give when counted from nothing: what an export
/// must agree with.
fn recount(poll: &Poll, ballots: &[AnonymousBallot], version: u64) -> crate::Results {
    let mut tally = Tally::empty(poll);
    for ballot in ballots {
        tally.add(&ballot.marks);
    }
    tally.results(poll.id, version)
}

/// For every method: a secret poll counts its ballots like any other; the
/// receipt carries the caller's marks and only the minute; the store keeps
/// no receipt (`ballot` is `None`) but knows who voted (`has_voted`); its
/// ballots, without voters and with times truncated to the minute, recount
/// to its results; and `get` gives back `secret`.
pub async fn a_secret_poll_counts_ballots_it_keeps_apart_from_voters<S: PollStore>(store: S) {
    for method in [
        Method::Plurality,
        Method::Approval,
        Method::Ranked,
        Method::Star,
    ] {
        let poll = secret_poll(method);
        create(&store, &poll).await;
        assert!(store.get(poll.id).await.expect("get").secret, "{method}");
        let voters: Vec<VoterId> = (0..7).map(|_| VoterId::generate()).collect();
        for (i, voter) in (0u32..).zip(&voters) {
            let marks = marks_for(method, i);
            let ballot = Ballot::with_marks(poll.id, voter.clone(), marks.clone());
            let outcome = store
                .cast(&ballot)
                .await
                .unwrap_or_else(|e| panic!("{method}: secret ballot {i} failed: {e:?}"));
            assert!(outcome.is_new(), "{method}: ballot {i} is new");
            assert_eq!(outcome.receipt.marks, marks, "{method}: the caller's marks");
            assert!(
                is_minute(outcome.receipt.cast_at),
                "{method}: a secret receipt's time is a minute, not {}",
                outcome.receipt.cast_at
            );
        }
        let results = results_of(&store, &poll).await;
        assert_eq!(results.total, 7, "{method}: every voter counted");
        for voter in &voters {
            assert_eq!(
                store.ballot(poll.id, voter).await.expect("ballot"),
                None,
                "{method}: a secret poll keeps no receipt"
            );
            assert!(
                store.has_voted(poll.id, voter).await.expect("has_voted"),
                "{method}: the store knows who voted"
            );
        }
        assert!(!store
            .has_voted(poll.id, &VoterId::generate())
            .await
            .expect("has_voted"));
        let ballots = store.ballots(poll.id).await.expect("ballots");
        assert_eq!(ballots.len(), 7, "{method}: one ballot per voter");
        assert!(ballots.iter().all(|b| is_minute(b.cast_minute)));
        assert!(ballots.windows(2).all(|w| w[0] <= w[1]), "export order");
        assert_eq!(
            recount(&poll, &ballots, results.version),
            results,
            "{method}: the exported ballots recount to the results"
        );
    }
    assert_error(
        store
            .has_voted(crate::PollId::generate(), &VoterId::generate())
            .await,
        "not_found",
        "has_voted of an unknown poll",
    );
}

/// In a secret poll any second ballot of a voter is `already_voted`, the
/// same marks or others (there is no stored ballot to compare it with), and
/// changes nothing; a voter racing itself is counted once.
pub async fn a_secret_polls_second_ballot_is_already_voted<S: PollStore>(store: S) {
    let store = shared(store);
    let poll = secret_poll(Method::Plurality);
    create(&*store, &poll).await;
    let voter = VoterId::generate();
    let first = Ballot::with_marks(poll.id, voter.clone(), choices(&[1]));
    assert!(store.cast(&first).await.expect("first ballot").is_new());
    let before = results_of(&*store, &poll).await;
    for marks in [choices(&[1]), choices(&[2])] {
        let again = Ballot::with_marks(poll.id, voter.clone(), marks);
        assert_error(store.cast(&again).await, "already_voted", "a second ballot");
    }
    assert_eq!(results_of(&*store, &poll).await, before, "nothing changed");

    let racer = VoterId::generate();
    let tasks: Vec<_> = (0..8u32)
        .map(|i| {
            let store = std::sync::Arc::clone(&store);
            let ballot = Ballot::with_marks(poll.id, racer.clone(), choices(&[i % 3]));
            tokio::spawn(async move { store.cast(&ballot).await })
        })
        .collect();
    let mut new = 0;
    for task in tasks {
        let outcome = task.await.expect("the task ran");
        match &outcome {
            Ok(o) if o.is_new() => new += 1,
            _ => assert!(is_error(&outcome, "already_voted"), "{outcome:?}"),
        }
    }
    assert_eq!(new, 1, "one ballot of the racing voter");
    assert_eq!(results_of(&*store, &poll).await.total, 2);
    assert_eq!(store.ballots(poll.id).await.expect("ballots").len(), 2);
}

/// 50 ballots cast in a known order that is not the export's (options
/// 2, 1, 0, 2, 1, 0, ...): the export is never in the order they were cast,
/// and holds each ballot once.
pub async fn a_secret_polls_export_is_not_in_cast_order<S: PollStore>(store: S) {
    let poll = secret_poll(Method::Plurality);
    create(&store, &poll).await;
    let cast: Vec<Marks> = (0..50u32).map(|i| choices(&[2 - i % 3])).collect();
    for marks in &cast {
        let ballot = Ballot::with_marks(poll.id, VoterId::generate(), marks.clone());
        store.cast(&ballot).await.expect("a secret ballot");
    }
    let exported: Vec<Marks> = store
        .ballots(poll.id)
        .await
        .expect("ballots")
        .into_iter()
        .map(|b| b.marks)
        .collect();
    assert_ne!(exported, cast, "the export must not be in cast order");
    let (mut sorted_cast, mut sorted_export) = (cast.clone(), exported.clone());
    sorted_cast.sort();
    sorted_export.sort();
    assert_eq!(sorted_export, sorted_cast, "every ballot, once");
}

/// A closed secret poll refuses ballots; deleting it removes its ballots
/// and participations with it.
pub async fn a_secret_poll_closes_and_deletes_like_any_other<S: PollStore>(store: S) {
    let poll = secret_poll(Method::Approval);
    create(&store, &poll).await;
    let voter = VoterId::generate();
    let ballot = Ballot::with_marks(poll.id, voter.clone(), choices(&[0, 1]));
    store.cast(&ballot).await.expect("a secret ballot");
    store.close(poll.id, crate::now()).await.expect("close");
    let late = Ballot::with_marks(poll.id, VoterId::generate(), choices(&[0]));
    assert_error(
        store.cast(&late).await,
        "poll_closed",
        "a ballot after close",
    );
    store.delete(poll.id).await.expect("delete");
    assert_error(store.ballots(poll.id).await, "not_found", "ballots");
    assert_error(
        store.has_voted(poll.id, &voter).await,
        "not_found",
        "has_voted",
    );
}

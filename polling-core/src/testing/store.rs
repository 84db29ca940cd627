//! The conformance cases of [`PollStore`].
//!
//! Each case takes a fresh, empty store and panics when the store breaks the
//! contract written on [`PollStore`]. Run them all with
//! [`store_conformance_tests!`](crate::store_conformance_tests); see the
//! [module docs](super).

use std::collections::HashSet;
use std::sync::Arc;

use time::Duration;

use super::{assert_error, ballot, is_error, sample_poll};
use crate::domain::{
    AnonymousBallot, CastKind, OptionId, Poll, PollId, Results, Visibility, VoterId,
};
use crate::store::PollStore;

mod invite_secret;
mod invites;
mod methods;
mod secret;

pub use invite_secret::*;
pub use invites::*;
pub use methods::*;
pub use secret::*;

/// Generates one test per case of [`testing::store`](crate::testing::store).
///
/// `store_conformance_tests!(#[attr] params => make)` expands, for every case
/// `c`, to
///
/// ```ignore
/// #[attr]
/// async fn c(params) {
///     let subject = make;
///     polling_core::testing::store::c(subject).await;
/// }
/// ```
///
/// `make` must give a fresh, empty store each time (the listing cases count
/// every poll in it).
///
/// # Example
///
/// ```
/// polling_core::store_conformance_tests!(
///     #[tokio::test(flavor = "multi_thread")] => polling_core::memory::MemoryStore::new()
/// );
/// # fn main() {}
/// ```
///
/// With an attribute that passes arguments (a PostgreSQL backend):
///
/// ```ignore
/// polling_core::store_conformance_tests!(#[sqlx::test] pool: PgPool => PgPollStore::new(pool));
/// ```
#[macro_export]
macro_rules! store_conformance_tests {
    (#[$attr:meta] $($arg:ident : $ty:ty),* $(,)? => $make:expr $(,)?) => {
        $crate::__conformance_tests!(store, #[$attr] ($($arg: $ty),*) => $make;
            create_then_get_returns_an_equal_poll,
            unknown_polls_are_not_found,
            list_is_newest_first_and_pages_with_a_cursor,
            closing_refuses_new_ballots_and_keeps_the_first_closed_at,
            a_poll_past_its_closing_time_refuses_ballots,
            delete_removes_the_poll_and_its_ballots,
            a_new_poll_has_zero_results_at_version_zero,
            the_first_ballot_is_new_at_version_one,
            multiple_choice_ballots_count_each_choice_and_the_ballot_once,
            an_identical_ballot_replays_the_original_receipt,
            a_different_ballot_from_the_same_voter_is_already_voted,
            invalid_choices_are_refused_and_change_nothing,
            concurrent_ballots_from_distinct_voters_are_all_counted,
            a_voter_racing_itself_is_counted_once,
            cast_returns_the_results_it_stored,
            polls_are_independent,
            ballot_returns_the_voters_current_receipt,
            a_changed_ballot_replaces_the_old_one,
            changing_a_ballot_needs_an_open_poll_and_valid_choices,
            concurrent_changes_by_one_voter_leave_exact_counts,
            ballots_list_every_ballot_anonymously_sorted_by_minute_then_choices,
            ballots_of_an_unknown_or_deleted_poll_are_not_found,
            the_ballot_stream_gives_the_ballots_in_their_order,
            each_method_counts_its_ballots,
            ballots_of_the_wrong_shape_are_refused_and_change_nothing,
            ranked_and_star_ballots_replay_and_change,
            concurrent_ranked_and_star_ballots_are_counted_exactly,
            invites_are_stored_listed_and_deleted_with_their_poll,
            a_poll_holds_at_most_max_invites_even_when_added_concurrently,
            an_invite_votes_once_and_other_voters_are_refused,
            concurrent_ballots_with_one_code_count_once,
            revoked_codes_vote_no_more_and_used_codes_cannot_be_revoked,
            a_revocation_racing_a_vote_with_its_code_is_ordered_one_way,
            invites_work_for_every_method,
            a_secret_poll_counts_ballots_it_keeps_apart_from_voters,
            a_secret_polls_second_ballot_is_already_voted,
            a_secret_polls_export_is_not_in_cast_order,
            a_secret_poll_closes_and_deletes_like_any_other,
            a_code_votes_once_in_a_secret_invite_only_poll,
            revoked_and_unknown_codes_are_refused_in_a_secret_poll,
            used_codes_of_a_secret_poll_cannot_be_revoked,
        );
    };
}

/// The store as a shared handle, for cases that spawn tasks.
fn shared<S: PollStore>(store: S) -> Arc<S> {
    Arc::new(store)
}

/// Casts `ballots` at once, each in a task of its own, and gives their
/// outcomes in the same order.
async fn cast_at_once<S: PollStore>(
    store: &Arc<S>,
    ballots: impl IntoIterator<Item = crate::Ballot>,
) -> Vec<crate::Result<crate::CastOutcome>> {
    let tasks: Vec<_> = ballots
        .into_iter()
        .map(|b| {
            let store = Arc::clone(store);
            tokio::spawn(async move { store.cast(&b).await })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        outcomes.push(task.await.expect("a casting task panicked"));
    }
    outcomes
}

async fn create<S: PollStore>(store: &S, poll: &Poll) {
    store
        .create(poll)
        .await
        .unwrap_or_else(|e| panic!("create of poll {} failed: {e:?}", poll.id));
}

async fn results_of<S: PollStore>(store: &S, poll: &Poll) -> Results {
    store
        .results(poll.id)
        .await
        .unwrap_or_else(|e| panic!("results of poll {} failed: {e:?}", poll.id))
}

fn counts(results: &Results) -> Vec<u64> {
    results.counts.iter().map(|c| c.votes).collect()
}

/// `create` stores every field; `get` gives back an equal [`Poll`], including
/// `multiple`, `max_choices`, `closes_at`, the token hash, `visibility`,
/// `allow_vote_change` and `secret`.
pub async fn create_then_get_returns_an_equal_poll<S: PollStore>(store: S) {
    let single = sample_poll(2, false, None);
    let mut multiple = sample_poll(5, true, Some(3));
    multiple.question = "Which ones? Ünïcödé, \"quotes\" and 'apostrophes' 🗳".into();
    multiple.closes_at = Some(crate::now() + Duration::days(7));
    multiple.visibility = Visibility::AfterVote;
    multiple.allow_vote_change = true;
    let mut secret = sample_poll(3, false, None);
    secret.visibility = Visibility::AfterClose;
    secret.secret = true;

    for poll in [&single, &multiple, &secret] {
        create(&store, poll).await;
        let got = store
            .get(poll.id)
            .await
            .unwrap_or_else(|e| panic!("get of a created poll failed: {e:?}"));
        assert_eq!(&got, poll, "get must return the poll as created");
    }
}

/// Every operation on an id no poll has is `NotFound`.
pub async fn unknown_polls_are_not_found<S: PollStore>(store: S) {
    let known = sample_poll(2, false, None);
    create(&store, &known).await;
    let unknown = sample_poll(2, false, None);

    assert_error(
        store.get(unknown.id).await,
        "not_found",
        "get of an unknown poll",
    );
    assert_error(
        store.results(unknown.id).await,
        "not_found",
        "results of an unknown poll",
    );
    assert_error(
        store.close(unknown.id, crate::now()).await,
        "not_found",
        "close of an unknown poll",
    );
    assert_error(
        store.delete(unknown.id).await,
        "not_found",
        "delete of an unknown poll",
    );
    assert_error(
        store
            .cast(&ballot(&unknown, &VoterId::generate(), &[0]))
            .await,
        "not_found",
        "cast in an unknown poll",
    );
}

/// `list` is newest first, pages by `limit`, and hands out `next_cursor` until
/// the last page; `before` starts after the given poll.
pub async fn list_is_newest_first_and_pages_with_a_cursor<S: PollStore>(store: S) {
    let empty = store.list(10, None).await.expect("list of an empty store");
    assert!(
        empty.polls.is_empty(),
        "an empty store lists nothing: {empty:?}"
    );
    assert_eq!(empty.next_cursor, None, "an empty store has no next page");

    let mut created = Vec::new();
    for _ in 0..5 {
        let poll = sample_poll(2, false, None);
        create(&store, &poll).await;
        created.push(poll);
    }
    let newest_first: Vec<PollId> = created.iter().rev().map(|p| p.id).collect();
    let ids = |polls: &[Poll]| polls.iter().map(|p| p.id).collect::<Vec<_>>();

    let all = store.list(10, None).await.expect("list");
    assert_eq!(ids(&all.polls), newest_first, "list must be newest first");
    assert_eq!(
        all.polls,
        created.iter().rev().cloned().collect::<Vec<_>>(),
        "listed polls must equal the created ones"
    );
    assert_eq!(
        all.next_cursor, None,
        "a page holding the rest has no next cursor"
    );

    let exact = store.list(5, None).await.expect("list");
    assert_eq!(
        ids(&exact.polls),
        newest_first,
        "a page of exactly all polls"
    );
    assert_eq!(
        exact.next_cursor, None,
        "a page that ends exactly at the last poll has no next cursor"
    );

    let first = store.list(2, None).await.expect("list of page 1");
    assert_eq!(ids(&first.polls), newest_first[0..2], "page 1");
    assert_eq!(
        first.next_cursor,
        Some(newest_first[1]),
        "page 1 cursor is its last poll"
    );

    let second = store
        .list(2, first.next_cursor)
        .await
        .expect("list of page 2");
    assert_eq!(ids(&second.polls), newest_first[2..4], "page 2");
    assert_eq!(
        second.next_cursor,
        Some(newest_first[3]),
        "page 2 cursor is its last poll"
    );

    let third = store
        .list(2, second.next_cursor)
        .await
        .expect("list of page 3");
    assert_eq!(ids(&third.polls), newest_first[4..5], "page 3");
    assert_eq!(third.next_cursor, None, "the last page has no next cursor");

    let before = store
        .list(10, Some(created[2].id))
        .await
        .expect("list before");
    assert_eq!(
        ids(&before.polls),
        [created[1].id, created[0].id],
        "`before` lists only older polls, newest first"
    );
    assert_eq!(before.next_cursor, None, "nothing is older than the oldest");

    let oldest = store
        .list(10, Some(created[0].id))
        .await
        .expect("list before the oldest");
    assert!(
        oldest.polls.is_empty(),
        "nothing is older than the oldest: {oldest:?}"
    );
}

/// After `close`, new ballots are `PollClosed`; closing again keeps the first
/// `closed_at`. A voter's earlier ballot is still replayed (the voter check
/// comes before the open check).
pub async fn closing_refuses_new_ballots_and_keeps_the_first_closed_at<S: PollStore>(store: S) {
    let poll = sample_poll(3, false, None);
    create(&store, &poll).await;
    let early = VoterId::generate();
    let early_ballot = ballot(&poll, &early, &[1]);
    let first = store
        .cast(&early_ballot)
        .await
        .expect("a ballot in an open poll");

    let closed_at = crate::now();
    let closed = store.close(poll.id, closed_at).await.expect("close");
    assert_eq!(
        closed.closed_at,
        Some(closed_at),
        "close must return the poll with closed_at set"
    );
    assert_eq!(
        Poll {
            closed_at: None,
            ..closed.clone()
        },
        poll,
        "close must change nothing but closed_at"
    );

    assert_error(
        store.cast(&ballot(&poll, &VoterId::generate(), &[0])).await,
        "poll_closed",
        "a new voter's ballot after close",
    );
    let replay = store
        .cast(&early_ballot)
        .await
        .expect("replaying a ballot cast before close");
    assert!(!replay.is_new(), "a replay after close is not new");
    assert_eq!(
        replay.receipt, first.receipt,
        "a replay after close returns the original receipt"
    );
    assert_error(
        store.cast(&ballot(&poll, &early, &[2])).await,
        "already_voted",
        "a voter changing their ballot after close",
    );

    let again = store
        .close(poll.id, closed_at + Duration::minutes(1))
        .await
        .expect("closing a closed poll");
    assert_eq!(
        again.closed_at,
        Some(closed_at),
        "closing twice keeps the first closed_at"
    );
    let got = store.get(poll.id).await.expect("get of a closed poll");
    assert_eq!(
        got.closed_at,
        Some(closed_at),
        "get shows the first closed_at"
    );

    let results = results_of(&store, &poll).await;
    assert_eq!(results, first.results, "nothing was counted after close");
}

/// A poll whose `closes_at` has passed refuses ballots with `PollClosed`, and
/// still reads as it was stored.
pub async fn a_poll_past_its_closing_time_refuses_ballots<S: PollStore>(store: S) {
    let mut poll = sample_poll(2, false, None);
    poll.closes_at = Some(crate::now() - Duration::seconds(1));
    create(&store, &poll).await;

    assert_error(
        store.cast(&ballot(&poll, &VoterId::generate(), &[0])).await,
        "poll_closed",
        "a ballot after closes_at",
    );
    let got = store.get(poll.id).await.expect("get of an expired poll");
    assert_eq!(
        got, poll,
        "an expired poll reads as stored (closed_at stays None)"
    );
    assert_eq!(
        results_of(&store, &poll).await,
        Results::empty(&poll),
        "nothing was counted"
    );
}

/// `delete` removes the poll: get, results, close, cast and a second delete
/// are `NotFound`, and `list` no longer shows it. Other polls stay.
pub async fn delete_removes_the_poll_and_its_ballots<S: PollStore>(store: S) {
    let kept = sample_poll(2, false, None);
    let doomed = sample_poll(2, false, None);
    create(&store, &kept).await;
    create(&store, &doomed).await;
    let voter = VoterId::generate();
    store
        .cast(&ballot(&doomed, &voter, &[0]))
        .await
        .expect("a ballot before delete");

    store.delete(doomed.id).await.expect("delete");

    assert_error(store.get(doomed.id).await, "not_found", "get after delete");
    assert_error(
        store.results(doomed.id).await,
        "not_found",
        "results after delete",
    );
    assert_error(
        store.close(doomed.id, crate::now()).await,
        "not_found",
        "close after delete",
    );
    assert_error(
        store.cast(&ballot(&doomed, &voter, &[0])).await,
        "not_found",
        "replaying a ballot after delete",
    );
    assert_error(
        store
            .cast(&ballot(&doomed, &VoterId::generate(), &[1]))
            .await,
        "not_found",
        "a new ballot after delete",
    );
    assert_error(store.delete(doomed.id).await, "not_found", "delete twice");

    let page = store.list(10, None).await.expect("list after delete");
    let listed: Vec<PollId> = page.polls.iter().map(|p| p.id).collect();
    assert_eq!(
        listed,
        [kept.id],
        "only the other poll is listed after delete"
    );
    assert_eq!(
        store.get(kept.id).await.expect("get of the other poll"),
        kept
    );
}

/// A new poll's results: version 0, total 0, one zero count per option, in
/// option order.
pub async fn a_new_poll_has_zero_results_at_version_zero<S: PollStore>(store: S) {
    let poll = sample_poll(4, true, None);
    create(&store, &poll).await;
    let results = results_of(&store, &poll).await;
    assert_eq!(results, Results::empty(&poll), "results before any ballot");
    assert_eq!(results.version, 0);
    assert_eq!(results.total, 0);
}

/// The first ballot is new, at version 1, with a receipt naming its poll and
/// choices.
pub async fn the_first_ballot_is_new_at_version_one<S: PollStore>(store: S) {
    let poll = sample_poll(3, false, None);
    create(&store, &poll).await;
    let before = crate::now();
    let b = ballot(&poll, &VoterId::generate(), &[2]);
    let outcome = store.cast(&b).await.expect("the first ballot");

    assert!(outcome.is_new(), "the first ballot is new");
    assert_eq!(outcome.receipt.poll_id, poll.id, "receipt poll");
    assert_eq!(&outcome.receipt.marks, b.marks(), "receipt marks");
    assert_eq!(outcome.receipt.version, 1, "receipt version");
    let drift = (outcome.receipt.cast_at - before).abs();
    assert!(
        drift < Duration::minutes(1),
        "cast_at {} is far from now ({before})",
        outcome.receipt.cast_at
    );
    assert_eq!(outcome.results.poll_id, poll.id);
    assert_eq!(
        outcome.results.version, 1,
        "results version after one ballot"
    );
    assert_eq!(outcome.results.total, 1, "total after one ballot");
    assert_eq!(
        counts(&outcome.results),
        [0, 0, 1],
        "counts after one ballot"
    );
}

/// A multiple-choice ballot adds one to each chosen option and one to `total`.
pub async fn multiple_choice_ballots_count_each_choice_and_the_ballot_once<S: PollStore>(store: S) {
    let poll = sample_poll(4, true, Some(3));
    create(&store, &poll).await;
    for choices in [&[0, 2][..], &[2, 3, 1], &[2]] {
        store
            .cast(&ballot(&poll, &VoterId::generate(), choices))
            .await
            .unwrap_or_else(|e| panic!("ballot {choices:?} failed: {e:?}"));
    }
    let results = results_of(&store, &poll).await;
    assert_eq!(
        counts(&results),
        [1, 1, 3, 1],
        "each chosen option counts once per ballot"
    );
    assert_eq!(results.total, 3, "total counts ballots, not choices");
    assert_eq!(results.version, 3, "one version per ballot");
}

/// Casting the identical ballot again (choices in any order) returns the
/// original receipt (`CastKind::Replay`) and the current results, and counts
/// nothing.
pub async fn an_identical_ballot_replays_the_original_receipt<S: PollStore>(store: S) {
    let poll = sample_poll(3, true, None);
    create(&store, &poll).await;
    let voter = VoterId::generate();
    let original = store
        .cast(&ballot(&poll, &voter, &[2, 0]))
        .await
        .expect("the ballot");

    let replay = store
        .cast(&ballot(&poll, &voter, &[0, 2]))
        .await
        .expect("the identical ballot again");
    assert!(!replay.is_new(), "a replay is not new");
    assert_eq!(
        replay.receipt, original.receipt,
        "a replay returns the original receipt"
    );
    assert_eq!(replay.results, original.results, "a replay counts nothing");

    store
        .cast(&ballot(&poll, &VoterId::generate(), &[1]))
        .await
        .expect("another voter");
    let later = store
        .cast(&ballot(&poll, &voter, &[2, 0]))
        .await
        .expect("a later replay");
    assert!(!later.is_new(), "a later replay is not new");
    assert_eq!(
        later.receipt, original.receipt,
        "a later replay keeps the original receipt"
    );
    assert_eq!(
        later.receipt.version, 1,
        "the receipt keeps the version it produced"
    );
    assert_eq!(
        later.results.version, 2,
        "a replay returns the current results"
    );
    assert_eq!(counts(&later.results), [1, 1, 1]);
    assert_eq!(results_of(&store, &poll).await, later.results);
}

/// A voter's second, different ballot is `AlreadyVoted` and counts nothing.
pub async fn a_different_ballot_from_the_same_voter_is_already_voted<S: PollStore>(store: S) {
    let poll = sample_poll(3, true, None);
    create(&store, &poll).await;
    let voter = VoterId::generate();
    let first = store
        .cast(&ballot(&poll, &voter, &[0, 1]))
        .await
        .expect("the ballot");

    for choices in [&[2][..], &[0], &[0, 1, 2]] {
        assert_error(
            store.cast(&ballot(&poll, &voter, choices)).await,
            "already_voted",
            &format!("a second ballot {choices:?} after [0, 1]"),
        );
    }
    assert_eq!(
        results_of(&store, &poll).await,
        first.results,
        "refused ballots count nothing"
    );
}

/// Unknown options, two choices on a single-choice poll and more than
/// `max_choices` are `InvalidChoice`, count nothing and don't use up the
/// voter's ballot.
pub async fn invalid_choices_are_refused_and_change_nothing<S: PollStore>(store: S) {
    let single = sample_poll(3, false, None);
    let multiple = sample_poll(4, true, Some(2));
    create(&store, &single).await;
    create(&store, &multiple).await;
    let voter = VoterId::generate();

    let refused = [
        (&single, &[3][..], "an unknown option"),
        (&single, &[0, 7], "an unknown option among known ones"),
        (&single, &[0, 1], "two options on a single-choice poll"),
        (&multiple, &[0, 1, 2], "more than max_choices"),
        (
            &multiple,
            &[4],
            "an unknown option on a multiple-choice poll",
        ),
    ];
    for (poll, choices, what) in refused {
        assert_error(
            store.cast(&ballot(poll, &voter, choices)).await,
            "invalid_choice",
            &format!("{what}: {choices:?}"),
        );
    }
    for poll in [&single, &multiple] {
        assert_eq!(
            results_of(&store, poll).await,
            Results::empty(poll),
            "refused ballots count nothing"
        );
    }

    let outcome = store
        .cast(&ballot(&single, &voter, &[0]))
        .await
        .expect("a valid ballot after refused ones");
    assert!(
        outcome.is_new(),
        "a refused ballot does not use up the voter's ballot"
    );
    assert_eq!(outcome.results.version, 1);
    let outcome = store
        .cast(&ballot(&multiple, &voter, &[1, 3]))
        .await
        .expect("a valid ballot after refused ones");
    assert!(
        outcome.is_new(),
        "a refused ballot does not use up the voter's ballot"
    );
}

/// 1,000 voters casting at once: every ballot counts, and the receipts carry
/// the versions 1 to 1,000, each once.
pub async fn concurrent_ballots_from_distinct_voters_are_all_counted<S: PollStore>(store: S) {
    const VOTERS: u64 = 1_000;
    let store = shared(store);
    let poll = sample_poll(3, false, None);
    create(&*store, &poll).await;

    let tasks: Vec<_> = (0..VOTERS)
        .map(|i| {
            let store = Arc::clone(&store);
            let b = ballot(&poll, &VoterId::generate(), &[(i % 3) as u32]);
            tokio::spawn(async move { store.cast(&b).await })
        })
        .collect();
    let mut versions = Vec::with_capacity(tasks.len());
    for task in tasks {
        let outcome = task
            .await
            .expect("a casting task panicked")
            .unwrap_or_else(|e| panic!("a concurrent ballot failed: {e:?}"));
        assert!(outcome.is_new(), "every voter's first ballot is new");
        assert_eq!(
            outcome.results.version, outcome.receipt.version,
            "cast returns the results its ballot produced"
        );
        assert_eq!(
            outcome.results.total, outcome.results.version,
            "one ballot per version"
        );
        versions.push(outcome.receipt.version);
    }
    versions.sort_unstable();
    assert!(
        versions.iter().copied().eq(1..=VOTERS),
        "receipt versions must be exactly 1..={VOTERS}, each once; got duplicates or gaps"
    );

    let results = results_of(&*store, &poll).await;
    assert_eq!(results.version, VOTERS, "final version");
    assert_eq!(results.total, VOTERS, "final total");
    assert_eq!(counts(&results), [334, 333, 333], "final counts");
}

/// One voter sending 100 ballots at once, some identical and some not: exactly
/// one is recorded, the identical ones replay its receipt and the others are
/// `AlreadyVoted`.
pub async fn a_voter_racing_itself_is_counted_once<S: PollStore>(store: S) {
    const ATTEMPTS: u32 = 100;
    let store = shared(store);
    let poll = sample_poll(3, false, None);
    create(&*store, &poll).await;
    let voter = VoterId::generate();

    let tasks: Vec<_> = (0..ATTEMPTS)
        .map(|i| {
            let store = Arc::clone(&store);
            // Mostly option 0, with options 1 and 2 mixed in.
            let choice = match i % 4 {
                0 => 1,
                1 => 2,
                _ => 0,
            };
            let b = ballot(&poll, &voter, &[choice]);
            tokio::spawn(async move { (b.clone(), store.cast(&b).await) })
        })
        .collect();
    let mut attempts = Vec::with_capacity(tasks.len());
    for task in tasks {
        attempts.push(task.await.expect("a casting task panicked"));
    }

    let winners: Vec<_> = attempts
        .iter()
        .filter_map(|(b, r)| match r {
            Ok(outcome) if outcome.is_new() => Some((b, outcome)),
            _ => None,
        })
        .collect();
    assert_eq!(winners.len(), 1, "exactly one of the racing ballots is new");
    let (winning_ballot, winner) = winners[0];
    assert_eq!(winner.receipt.version, 1);

    for (b, result) in &attempts {
        if b == winning_ballot {
            let outcome = result
                .as_ref()
                .unwrap_or_else(|e| panic!("a ballot identical to the recorded one failed: {e:?}"));
            assert_eq!(
                outcome.receipt, winner.receipt,
                "identical ballots share the receipt"
            );
        } else {
            assert!(
                is_error(result, "already_voted"),
                "a ballot {:?} differing from the recorded {:?} must be already_voted, got {result:?}",
                b.marks(),
                winning_ballot.marks()
            );
        }
    }

    let results = results_of(&*store, &poll).await;
    assert_eq!(results.total, 1, "the voter counts once");
    assert_eq!(results.version, 1, "one ballot, one version");
    assert_eq!(
        results, winner.results,
        "the final results are the winner's"
    );
}

/// The results `cast` returns are the ones `results` reads right after, for
/// new ballots and replays alike.
pub async fn cast_returns_the_results_it_stored<S: PollStore>(store: S) {
    let poll = sample_poll(3, true, Some(2));
    create(&store, &poll).await;
    let voters: Vec<VoterId> = (0..4).map(|_| VoterId::generate()).collect();
    for (i, (voter, choices)) in voters
        .iter()
        .zip([&[0][..], &[1, 2], &[0, 2], &[1]])
        .enumerate()
    {
        let outcome = store
            .cast(&ballot(&poll, voter, choices))
            .await
            .expect("a ballot");
        assert_eq!(
            outcome.results.version,
            i as u64 + 1,
            "versions grow by one"
        );
        assert_eq!(
            results_of(&store, &poll).await,
            outcome.results,
            "results right after ballot {i} must equal what cast returned"
        );
    }
    let replay = store
        .cast(&ballot(&poll, &voters[1], &[2, 1]))
        .await
        .expect("a replay");
    assert_eq!(
        results_of(&store, &poll).await,
        replay.results,
        "a replay returns the current results"
    );
    assert_eq!(counts(&replay.results), [2, 2, 2]);
}

/// Ballots, closing and deleting in one poll leave another untouched; one
/// voter votes once per poll, not once overall.
pub async fn polls_are_independent<S: PollStore>(store: S) {
    let a = sample_poll(2, false, None);
    let b = sample_poll(2, false, None);
    create(&store, &a).await;
    create(&store, &b).await;
    let voter = VoterId::generate();

    let in_a = store
        .cast(&ballot(&a, &voter, &[0]))
        .await
        .expect("a ballot in A");
    assert_eq!(
        results_of(&store, &b).await,
        Results::empty(&b),
        "a ballot in A leaves B at zero"
    );

    let in_b = store
        .cast(&ballot(&b, &voter, &[1]))
        .await
        .expect("the same voter in another poll");
    assert!(
        in_b.is_new(),
        "a voter has one ballot per poll, not overall"
    );
    assert_eq!(
        in_b.results.version, 1,
        "B's versions count B's ballots only"
    );
    assert_eq!(
        results_of(&store, &a).await,
        in_a.results,
        "a ballot in B leaves A alone"
    );

    store.close(a.id, crate::now()).await.expect("close A");
    let other = store
        .cast(&ballot(&b, &VoterId::generate(), &[0]))
        .await
        .expect("B stays open when A closes");
    assert_eq!(other.results.version, 2);
    assert_eq!(
        store.get(b.id).await.expect("get B").closed_at,
        None,
        "closing A leaves B open"
    );

    store.delete(a.id).await.expect("delete A");
    assert_eq!(
        results_of(&store, &b).await,
        other.results,
        "deleting A leaves B's results"
    );
    assert_eq!(store.get(b.id).await.expect("get B after deleting A"), b);

    let ids: HashSet<PollId> = store
        .list(10, None)
        .await
        .expect("list")
        .polls
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, HashSet::from([b.id]), "only B is listed");
}

/// A poll whose voters may change their ballot.
fn changeable_poll(options: usize, multiple: bool) -> Poll {
    let mut poll = sample_poll(options, multiple, None);
    poll.allow_vote_change = true;
    poll
}

/// `ballot` is `None` before the voter votes, then the receipt of their
/// current ballot (the newest, after a change); `NotFound` for an unknown poll.
pub async fn ballot_returns_the_voters_current_receipt<S: PollStore>(store: S) {
    let poll = changeable_poll(3, false);
    create(&store, &poll).await;
    let voter = VoterId::generate();
    assert_eq!(
        store
            .ballot(poll.id, &voter)
            .await
            .expect("ballot before voting"),
        None,
        "no ballot before voting"
    );
    let first = store
        .cast(&ballot(&poll, &voter, &[1]))
        .await
        .expect("the ballot");
    assert_eq!(
        store
            .ballot(poll.id, &voter)
            .await
            .expect("ballot after voting"),
        Some(first.receipt),
        "the receipt of the ballot cast"
    );
    let changed = store
        .cast(&ballot(&poll, &voter, &[2]))
        .await
        .expect("a changed ballot");
    assert_eq!(
        store
            .ballot(poll.id, &voter)
            .await
            .expect("ballot after a change"),
        Some(changed.receipt),
        "the receipt of the changed ballot"
    );
    assert_eq!(
        store
            .ballot(poll.id, &VoterId::generate())
            .await
            .expect("another voter's ballot"),
        None,
        "another voter has not voted"
    );
    assert_error(
        store.ballot(sample_poll(2, false, None).id, &voter).await,
        "not_found",
        "ballot in an unknown poll",
    );
}

/// With `allow_vote_change`, a different ballot replaces the voter's earlier
/// one: old choices down, new ones up, `total` unchanged, `version` up by one,
/// a new receipt; the new ballot then replays, and changing back works too.
pub async fn a_changed_ballot_replaces_the_old_one<S: PollStore>(store: S) {
    let poll = changeable_poll(3, true);
    create(&store, &poll).await;
    let voter = VoterId::generate();
    let first = store
        .cast(&ballot(&poll, &voter, &[0, 1]))
        .await
        .expect("the first ballot");
    store
        .cast(&ballot(&poll, &VoterId::generate(), &[1]))
        .await
        .expect("another voter");

    let changed = store
        .cast(&ballot(&poll, &voter, &[1, 2]))
        .await
        .expect("a changed ballot");
    assert_eq!(
        changed.kind,
        CastKind::Changed,
        "a different ballot is a change"
    );
    assert_eq!(
        counts(&changed.results),
        [0, 2, 1],
        "old choices down, new up"
    );
    assert_eq!(changed.results.total, 2, "a change keeps the total");
    assert_eq!(changed.results.version, 3, "a change is one more version");
    assert_eq!(
        changed.receipt.version, 3,
        "the new receipt has the new version"
    );
    assert_eq!(
        changed.receipt.marks,
        super::choices(&[1, 2]),
        "the new receipt has the new choices"
    );
    assert!(
        changed.receipt.cast_at >= first.receipt.cast_at,
        "the new receipt is cast later"
    );
    assert_eq!(results_of(&store, &poll).await, changed.results);

    let replay = store
        .cast(&ballot(&poll, &voter, &[2, 1]))
        .await
        .expect("the changed ballot again");
    assert_eq!(replay.kind, CastKind::Replay, "the new ballot replays");
    assert_eq!(replay.receipt, changed.receipt);
    assert_eq!(replay.results, changed.results, "a replay counts nothing");

    let back = store
        .cast(&ballot(&poll, &voter, &[0, 1]))
        .await
        .expect("changing back");
    assert_eq!(
        back.kind,
        CastKind::Changed,
        "the old ballot is a change now"
    );
    assert_eq!(counts(&back.results), [1, 2, 0]);
    assert_eq!(back.results.total, 2);
    assert_eq!(back.results.version, 4);
}

/// A change is refused like a first ballot: `PollClosed` after close,
/// `InvalidChoice` for bad choices; either leaves the earlier ballot and the
/// counts as they were, and the earlier ballot still replays after close.
pub async fn changing_a_ballot_needs_an_open_poll_and_valid_choices<S: PollStore>(store: S) {
    let poll = changeable_poll(3, false);
    create(&store, &poll).await;
    let voter = VoterId::generate();
    let first = store
        .cast(&ballot(&poll, &voter, &[0]))
        .await
        .expect("the first ballot");

    assert_error(
        store.cast(&ballot(&poll, &voter, &[3])).await,
        "invalid_choice",
        "a change to an unknown option",
    );
    assert_error(
        store.cast(&ballot(&poll, &voter, &[1, 2])).await,
        "invalid_choice",
        "a change to two options on a single-choice poll",
    );
    store.close(poll.id, crate::now()).await.expect("close");
    assert_error(
        store.cast(&ballot(&poll, &voter, &[1])).await,
        "poll_closed",
        "a change after close",
    );
    let replay = store
        .cast(&ballot(&poll, &voter, &[0]))
        .await
        .expect("replaying the first ballot after close");
    assert_eq!(replay.kind, CastKind::Replay);
    assert_eq!(replay.receipt, first.receipt);
    assert_eq!(
        results_of(&store, &poll).await,
        first.results,
        "refused changes count nothing"
    );
    assert_eq!(
        store.ballot(poll.id, &voter).await.expect("ballot"),
        Some(first.receipt),
        "refused changes keep the earlier ballot"
    );
}

/// One voter sending 50 changes at once, alternating between two options,
/// among other voters: every change is applied one after the other (versions
/// contiguous, each once), the total stays, and the counts are exact, with
/// the voter counted once, for the choice of their stored ballot.
pub async fn concurrent_changes_by_one_voter_leave_exact_counts<S: PollStore>(store: S) {
    const CHANGES: u32 = 50;
    let store = shared(store);
    let poll = changeable_poll(3, false);
    create(&*store, &poll).await;
    let voter = VoterId::generate();
    store
        .cast(&ballot(&poll, &voter, &[2]))
        .await
        .expect("the first ballot");
    for choice in [0, 1, 2] {
        store
            .cast(&ballot(&poll, &VoterId::generate(), &[choice]))
            .await
            .expect("another voter");
    }

    let tasks: Vec<_> = (0..CHANGES)
        .map(|i| {
            let store = Arc::clone(&store);
            let b = ballot(&poll, &voter, &[i % 2]);
            tokio::spawn(async move { store.cast(&b).await })
        })
        .collect();
    let mut versions = Vec::new();
    for task in tasks {
        let outcome = task
            .await
            .expect("a casting task panicked")
            .unwrap_or_else(|e| panic!("a concurrent change failed: {e:?}"));
        assert_eq!(outcome.results.total, 4, "a change never changes the total");
        assert_eq!(
            counts(&outcome.results).iter().sum::<u64>(),
            4,
            "every ballot counts once, whatever the interleaving"
        );
        if outcome.kind == CastKind::Changed {
            assert_eq!(outcome.receipt.version, outcome.results.version);
            versions.push(outcome.receipt.version);
        } else {
            assert_eq!(
                outcome.kind,
                CastKind::Replay,
                "the voter's ballot is never new"
            );
        }
    }
    versions.sort_unstable();
    let last = 4 + versions.len() as u64;
    assert!(
        versions.iter().copied().eq(5..=last),
        "change versions must be exactly 5..={last}, each once: {versions:?}"
    );
    assert!(
        versions.len() >= 2,
        "alternating ballots change the stored one at least twice"
    );

    let results = results_of(&*store, &poll).await;
    assert_eq!(results.version, last, "one version per change");
    assert_eq!(results.total, 4, "the total is the number of voters");
    let stored = store
        .ballot(poll.id, &voter)
        .await
        .expect("ballot")
        .expect("the voter has a ballot");
    let mut expected = [1, 1, 1];
    expected[stored.marks.options()[0].index()] += 1;
    assert_eq!(
        counts(&results),
        expected,
        "the voter counts once, for their stored choice {:?}",
        stored.marks
    );
}

/// `ballots` lists every recorded ballot once (a replay adds none, a refused
/// one none), with its choices and the minute of its receipt, sorted by
/// minute then choices, and they add up to the results.
pub async fn ballots_list_every_ballot_anonymously_sorted_by_minute_then_choices<S: PollStore>(
    store: S,
) {
    let poll = sample_poll(3, true, None);
    create(&store, &poll).await;
    assert_eq!(
        store.ballots(poll.id).await.expect("ballots of a new poll"),
        Vec::<AnonymousBallot>::new(),
        "a new poll has no ballots"
    );
    let mut expected = Vec::new();
    for choices in [&[2][..], &[0, 1], &[1], &[2], &[0, 1, 2]] {
        let b = ballot(&poll, &VoterId::generate(), choices);
        let outcome = store
            .cast(&b)
            .await
            .unwrap_or_else(|e| panic!("ballot {choices:?} failed: {e:?}"));
        store.cast(&b).await.expect("a replay of the same ballot");
        expected.push(AnonymousBallot::new(
            b.marks().clone(),
            outcome.receipt.cast_at,
        ));
    }
    let other = sample_poll(2, false, None);
    create(&store, &other).await;
    store
        .cast(&ballot(&other, &VoterId::generate(), &[0]))
        .await
        .expect("a ballot in another poll");
    expected.sort();

    let ballots = store.ballots(poll.id).await.expect("ballots of the poll");
    assert_eq!(ballots, expected, "every ballot once, anonymous, sorted");
    for b in &ballots {
        assert_eq!(
            (b.cast_minute.second(), b.cast_minute.nanosecond()),
            (0, 0),
            "cast_minute {} is not a whole minute",
            b.cast_minute
        );
    }
    let results = results_of(&store, &poll).await;
    let mut tally = vec![0_u64; poll.options.len()];
    for choice in ballots.iter().flat_map(|b| b.marks.options()) {
        tally[choice.index()] += 1;
    }
    assert_eq!(tally, counts(&results), "the ballots add up to the results");
    assert_eq!(ballots.len() as u64, results.total, "one ballot per vote");
    assert!(
        ballots
            .iter()
            .all(|b| b.marks.options().iter().all(|c| *c < OptionId::new(3))),
        "choices name the poll's options"
    );
}

/// `ballots` of a poll that does not exist, or no longer does, is `NotFound`.
pub async fn ballots_of_an_unknown_or_deleted_poll_are_not_found<S: PollStore>(store: S) {
    assert_error(
        store.ballots(PollId::generate()).await,
        "not_found",
        "ballots of an unknown poll",
    );
    let poll = sample_poll(2, false, None);
    create(&store, &poll).await;
    store
        .cast(&ballot(&poll, &VoterId::generate(), &[1]))
        .await
        .expect("a ballot");
    store.delete(poll.id).await.expect("delete");
    assert_error(
        store.ballots(poll.id).await,
        "not_found",
        "ballots of a deleted poll",
    );
}

/// `ballot_stream` gives what `ballots` gives, in the same order, one at a
/// time: nothing for a poll without ballots, and `NotFound` (before any
/// ballot) for a poll that does not exist or no longer does.
pub async fn the_ballot_stream_gives_the_ballots_in_their_order<S: PollStore>(store: S) {
    use futures_util::TryStreamExt;
    let poll = sample_poll(3, true, None);
    create(&store, &poll).await;
    let streamed: Vec<AnonymousBallot> = store
        .ballot_stream(poll.id)
        .await
        .expect("the stream of a new poll")
        .try_collect()
        .await
        .expect("the ballots of a new poll");
    assert!(streamed.is_empty(), "a new poll streams no ballot");
    for choices in [&[2][..], &[0, 1], &[1], &[2], &[0, 1, 2], &[0], &[1, 2]] {
        store
            .cast(&ballot(&poll, &VoterId::generate(), choices))
            .await
            .unwrap_or_else(|e| panic!("ballot {choices:?} failed: {e:?}"));
    }
    let listed = store.ballots(poll.id).await.expect("ballots of the poll");
    let streamed: Vec<AnonymousBallot> = store
        .ballot_stream(poll.id)
        .await
        .expect("the stream of the poll")
        .try_collect()
        .await
        .expect("every streamed ballot");
    assert_eq!(streamed, listed, "the same ballots in the same order");
    assert_eq!(streamed.len(), 7);

    assert_error(
        store.ballot_stream(PollId::generate()).await.map(|_| ()),
        "not_found",
        "the ballot stream of an unknown poll",
    );
    store.delete(poll.id).await.expect("delete");
    assert_error(
        store.ballot_stream(poll.id).await.map(|_| ()),
        "not_found",
        "the ballot stream of a deleted poll",
    );
}

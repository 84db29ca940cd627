//! The conformance cases of [`PollStore`] for invite-only polls (see
//! [Invites](PollStore#invites)). Listed in
//! [`store_conformance_tests!`](crate::store_conformance_tests) with the
//! others.

use std::sync::Arc;

use time::Duration;

use super::{cast_at_once, create, results_of, shared};
use crate::domain::{
    Ballot, Eligibility, Invite, InviteCode, ManageToken, Marks, Method, OptionId, Poll, VoterId,
};
use crate::store::PollStore;
use crate::testing::{assert_error, ballot, choices, is_error, sample_method_poll};

/// A fresh invite-only `method` poll with three options, its manage token
/// and `n` invites of it with their codes (not stored yet).
pub(super) fn invite_poll(
    method: Method,
    n: usize,
) -> (Poll, ManageToken, Vec<(Invite, InviteCode)>) {
    let mut poll = sample_method_poll(method, 3, false);
    let token = ManageToken::generate();
    poll.manage_token_hash = token.hash();
    poll.eligibility = Eligibility::Invite;
    let now = crate::now();
    let invites = (0..n)
        .map(|_| Invite::issue(&token, poll.id, now))
        .collect();
    (poll, token, invites)
}

pub(super) async fn add<S: PollStore>(store: &S, poll: &Poll, invites: &[(Invite, InviteCode)]) {
    let invites: Vec<Invite> = invites.iter().map(|(i, _)| i.clone()).collect();
    store
        .add_invites(poll.id, &invites)
        .await
        .unwrap_or_else(|e| panic!("adding invites to poll {} failed: {e:?}", poll.id));
}

/// Invites as [`PollStore::invites`] sorts them.
pub(super) fn sorted(mut invites: Vec<Invite>) -> Vec<Invite> {
    invites.sort_by(|a, b| (a.created_at, &a.nonce).cmp(&(b.created_at, &b.nonce)));
    invites
}

/// A poll keeps its eligibility; its invites come back as added, oldest
/// first, unused and not revoked; each makes its code again from the token;
/// invites of an unknown or deleted poll are `not_found`.
pub async fn invites_are_stored_listed_and_deleted_with_their_poll<S: PollStore>(store: S) {
    let (poll, token, first) = invite_poll(Method::Plurality, 3);
    create(&store, &poll).await;
    assert_eq!(
        store.get(poll.id).await.expect("get").eligibility,
        Eligibility::Invite,
        "the poll keeps its eligibility"
    );
    assert_eq!(store.invites(poll.id).await.expect("no invites yet"), []);
    add(&store, &poll, &first).await;
    let later = crate::now() + Duration::seconds(1);
    let second: Vec<_> = (0..2)
        .map(|_| Invite::issue(&token, poll.id, later))
        .collect();
    add(&store, &poll, &second).await;

    let listed = store.invites(poll.id).await.expect("invites");
    let expected = sorted(
        first
            .iter()
            .chain(&second)
            .map(|(i, _)| i.clone())
            .collect(),
    );
    assert_eq!(listed, expected, "every invite, oldest first");
    for ((invite, code), stored) in first.iter().zip(&listed) {
        assert_eq!(stored.code(&token, poll.id), stored.code(&token, poll.id));
        assert_eq!(invite.code(&token, poll.id), *code);
    }

    let unknown = crate::PollId::generate();
    assert_error(
        store.invites(unknown).await,
        "not_found",
        "invites of an unknown poll",
    );
    assert_error(
        store.add_invites(unknown, &[first[0].0.clone()]).await,
        "not_found",
        "adding invites to an unknown poll",
    );
    store.delete(poll.id).await.expect("delete");
    assert_error(
        store.invites(poll.id).await,
        "not_found",
        "invites of a deleted poll",
    );
}

/// A code votes as its voter id, once: the same ballot again replays its
/// receipt, another is `already_voted`; its invite is listed used. Without
/// a code, with another poll's code, or with a code on a poll that takes
/// none, the ballot is refused and nothing is counted.
pub async fn an_invite_votes_once_and_other_voters_are_refused<S: PollStore>(store: S) {
    let (poll, _, invites) = invite_poll(Method::Plurality, 2);
    create(&store, &poll).await;
    add(&store, &poll, &invites).await;
    let voter = invites[0].1.voter();

    let first = store
        .cast(&ballot(&poll, &voter, &[1]))
        .await
        .expect("an invite votes");
    assert!(first.is_new());
    let again = store
        .cast(&ballot(&poll, &voter, &[1]))
        .await
        .expect("replay");
    assert!(!again.is_new() && !again.is_changed());
    assert_eq!(
        again.receipt, first.receipt,
        "a replay returns the original receipt"
    );
    assert_error(
        store.cast(&ballot(&poll, &voter, &[0])).await,
        "already_voted",
        "another ballot of the same code",
    );

    assert_error(
        store.cast(&ballot(&poll, &VoterId::generate(), &[0])).await,
        "invite_required",
        "a voter without a code",
    );
    let (other_poll, _, other_invites) = invite_poll(Method::Plurality, 1);
    assert_error(
        store
            .cast(&ballot(&poll, &other_invites[0].1.voter(), &[0]))
            .await,
        "invite_invalid",
        "another poll's code",
    );
    let open = crate::testing::sample_poll(2, false, None);
    create(&store, &open).await;
    create(&store, &other_poll).await;
    assert_error(
        store.cast(&ballot(&open, &voter, &[0])).await,
        "invite_invalid",
        "a code on a poll that takes none",
    );
    assert_eq!(results_of(&store, &open).await.total, 0);

    let results = results_of(&store, &poll).await;
    assert_eq!(
        (results.total, results.version),
        (1, 1),
        "one code, one ballot"
    );
    let used: Vec<bool> = store
        .invites(poll.id)
        .await
        .expect("invites")
        .iter()
        .map(|i| i.used)
        .collect();
    let mut expected = vec![false, false];
    let at = sorted(invites.iter().map(|(i, _)| i.clone()).collect())
        .iter()
        .position(|i| i.voter == voter)
        .expect("the voting invite is listed");
    expected[at] = true;
    assert_eq!(used, expected, "only the code that voted is used");
    let receipt = store.ballot(poll.id, &voter).await.expect("ballot");
    assert_eq!(receipt, Some(first.receipt));
}

/// A poll holds at most [`MAX_INVITES_PER_POLL`](crate::MAX_INVITES_PER_POLL)
/// invites, revoked ones included: an addition past it is
/// `too_many_invites` and adds none, and of two additions at once that
/// only one fits, exactly one is stored.
pub async fn a_poll_holds_at_most_max_invites_even_when_added_concurrently<S: PollStore>(store: S) {
    const BATCH: usize = crate::MAX_INVITES_PER_REQUEST as usize;
    let max = crate::MAX_INVITES_PER_POLL as usize;
    let store = shared(store);
    let (poll, token, _) = invite_poll(Method::Plurality, 0);
    create(&*store, &poll).await;
    let batch = |n: usize| -> Vec<Invite> {
        let now = crate::now();
        (0..n)
            .map(|_| Invite::issue(&token, poll.id, now).0)
            .collect()
    };
    // Room left for a batch and a half.
    let mut held = 0;
    while held < max - BATCH - BATCH / 2 {
        let n = BATCH.min(max - BATCH - BATCH / 2 - held);
        store.add_invites(poll.id, &batch(n)).await.expect("room");
        held += n;
    }
    let oldest = store.invites(poll.id).await.unwrap()[0].voter.clone();
    store
        .revoke_invite(poll.id, &oldest, crate::now())
        .await
        .expect("an unused invite is revoked");
    let (a, b) = (batch(BATCH), batch(BATCH));
    let (a_added, b_added) = tokio::join!(
        store.add_invites(poll.id, &a),
        store.add_invites(poll.id, &b)
    );
    let refused = match (&a_added, &b_added) {
        (Ok(()), Err(e)) | (Err(e), Ok(())) => e,
        _ => {
            panic!("exactly one of two additions that fit once is stored: {a_added:?}, {b_added:?}")
        }
    };
    assert_eq!(refused.code(), "too_many_invites", "{refused:?}");
    assert!(
        refused
            .to_string()
            .contains(&format!("holds {}", held + BATCH)),
        "the refusal says how many the poll holds: {refused}"
    );
    held += BATCH;
    assert_eq!(
        store.invites(poll.id).await.unwrap().len(),
        held,
        "one addition stored, whole"
    );

    // Up to the cap exactly, then not one more: the revoked invite counts.
    store
        .add_invites(poll.id, &batch(max - held))
        .await
        .expect("fills the poll");
    assert_error(
        store.add_invites(poll.id, &batch(1)).await,
        "too_many_invites",
        "one past the cap",
    );
    let invites = store.invites(poll.id).await.unwrap();
    assert_eq!(invites.len(), max);
    assert_eq!(invites.iter().filter(|i| i.revoked_at.is_some()).count(), 1);
}

/// Many ballots cast at once with one code count once: one is new, the
/// identical ones replay it, the others are `already_voted`.
pub async fn concurrent_ballots_with_one_code_count_once<S: PollStore>(store: S) {
    const ATTEMPTS: u32 = 64;
    let store = shared(store);
    let (poll, _, invites) = invite_poll(Method::Plurality, 1);
    create(&*store, &poll).await;
    add(&*store, &poll, &invites).await;
    let voter = invites[0].1.voter();
    let ballots = (0..ATTEMPTS).map(|i| ballot(&poll, &voter, &[i % 2]));
    let mut new = 0;
    for outcome in cast_at_once(&store, ballots).await {
        match outcome {
            Ok(outcome) if outcome.is_new() => new += 1,
            Ok(_) => {}
            Err(error) => assert_eq!(error.code(), "already_voted", "{error:?}"),
        }
    }
    assert_eq!(new, 1, "exactly one ballot of the code is new");
    let results = results_of(&*store, &poll).await;
    assert_eq!(
        (results.total, results.version),
        (1, 1),
        "the code counts once"
    );
}

/// A revoked code votes no more (`invite_invalid`) and revoking it again
/// keeps the first time; a used code cannot be revoked (`invite_used`,
/// nothing changes); an unknown code is `invite_not_found`, an unknown poll
/// `not_found`.
pub async fn revoked_codes_vote_no_more_and_used_codes_cannot_be_revoked<S: PollStore>(store: S) {
    let (poll, _, invites) = invite_poll(Method::Plurality, 2);
    create(&store, &poll).await;
    add(&store, &poll, &invites).await;
    let (used, unused) = (invites[0].1.voter(), invites[1].1.voter());
    store.cast(&ballot(&poll, &used, &[0])).await.expect("vote");

    let at = crate::now();
    let revoked = store
        .revoke_invite(poll.id, &unused, at)
        .await
        .expect("revoke");
    assert_eq!(revoked.revoked_at, Some(at));
    assert!(!revoked.used);
    assert_error(
        store.cast(&ballot(&poll, &unused, &[0])).await,
        "invite_invalid",
        "a revoked code",
    );
    let again = store
        .revoke_invite(poll.id, &unused, at + Duration::seconds(5))
        .await
        .expect("revoking again");
    assert_eq!(
        again.revoked_at,
        Some(at),
        "the first revocation time stays"
    );

    assert_error(
        store.revoke_invite(poll.id, &used, at).await,
        "invite_used",
        "revoking a used code",
    );
    let listed = store.invites(poll.id).await.expect("invites");
    let used_one = listed.iter().find(|i| i.voter == used).expect("listed");
    assert!(
        used_one.used && used_one.revoked_at.is_none(),
        "{used_one:?}"
    );
    assert_error(
        store.revoke_invite(poll.id, &VoterId::generate(), at).await,
        "invite_not_found",
        "revoking a code the poll never issued",
    );
    assert_error(
        store
            .revoke_invite(crate::PollId::generate(), &used, at)
            .await,
        "not_found",
        "revoking in an unknown poll",
    );
    assert_eq!(results_of(&store, &poll).await.total, 1);
}

/// Revocations racing votes with the same codes are ordered one way or the
/// other: each code either voted (its revocation `invite_used`) or was
/// revoked (its ballot `invite_invalid`), never both, and the count is the
/// number of codes that voted.
pub async fn a_revocation_racing_a_vote_with_its_code_is_ordered_one_way<S: PollStore>(store: S) {
    const CODES: usize = 24;
    let store = shared(store);
    let (poll, _, invites) = invite_poll(Method::Plurality, CODES);
    create(&*store, &poll).await;
    add(&*store, &poll, &invites).await;
    race_revocations_with_votes(&store, &poll, &invites).await;
}

/// Casts a ballot with each of `invites`' codes of `poll` (stored) while
/// revoking it, and checks that each pair is ordered one way: the ballot
/// counts and the revocation is `invite_used`, or the code is revoked and
/// the ballot `invite_invalid`; then that the count is the number of codes
/// that voted and each invite is used or revoked.
pub(super) async fn race_revocations_with_votes<S: PollStore>(
    store: &Arc<S>,
    poll: &Poll,
    invites: &[(Invite, InviteCode)],
) {
    let tasks: Vec<_> = invites
        .iter()
        .map(|(_, code)| {
            let (store, voter) = (Arc::clone(store), code.voter());
            let b = ballot(poll, &voter, &[0]);
            let id = poll.id;
            tokio::spawn(async move {
                let (cast, revoke) = tokio::join!(
                    store.cast(&b),
                    store.revoke_invite(id, &voter, crate::now())
                );
                (cast, revoke)
            })
        })
        .collect();
    let mut voted = 0;
    for task in tasks {
        let (cast, revoke) = task.await.expect("a racing task panicked");
        match (&cast, &revoke) {
            (Ok(_), Err(_)) if is_error(&revoke, "invite_used") => voted += 1,
            (Err(_), Ok(_)) if is_error(&cast, "invite_invalid") => {}
            _ => panic!("a vote and a revocation of one code must exclude each other: {cast:?} / {revoke:?}"),
        }
    }
    let results = results_of(&**store, poll).await;
    assert_eq!(results.total, voted, "every code that voted counts, once");
    for invite in store.invites(poll.id).await.expect("invites") {
        assert!(
            invite.used != invite.revoked_at.is_some(),
            "each code is used or revoked: {invite:?}"
        );
    }
}

/// Invite-only polls take the ballots of every method.
pub async fn invites_work_for_every_method<S: PollStore>(store: S) {
    let marks = |method: Method| match method {
        Method::Plurality | Method::Approval => choices(&[0]),
        Method::Ranked => {
            Marks::ranking(vec![OptionId::new(2), OptionId::new(0)]).expect("ranking")
        }
        Method::Star => Marks::scores(vec![5, 0, 3]).expect("scores"),
    };
    for method in [
        Method::Plurality,
        Method::Approval,
        Method::Ranked,
        Method::Star,
    ] {
        let (poll, _, invites) = invite_poll(method, 1);
        create(&store, &poll).await;
        add(&store, &poll, &invites).await;
        let voter = invites[0].1.voter();
        let b = Ballot::with_marks(poll.id, voter.clone(), marks(method));
        let outcome = store
            .cast(&b)
            .await
            .unwrap_or_else(|e| panic!("{method}: {e:?}"));
        assert!(outcome.is_new(), "{method}");
        assert_error(
            store
                .cast(&Ballot::with_marks(
                    poll.id,
                    VoterId::generate(),
                    marks(method),
                ))
                .await,
            "invite_required",
            "a ballot without a code",
        );
        assert_eq!(results_of(&store, &poll).await.total, 1, "{method}");
    }
}

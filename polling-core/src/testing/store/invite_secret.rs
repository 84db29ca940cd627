//! The conformance cases of [`PollStore`] for polls both invite-only and
//! secret: eligible voters, a secret ballot (see
//! [Invites](PollStore#invites) and [Secret polls](PollStore#secret-polls)).
//! Listed in [`store_conformance_tests!`](crate::store_conformance_tests)
//! with the others.
//!
//! Such a poll checks the code before the secret cast, and its invites'
//! `used` comes from the participations (the ballots carry no voter), so
//! these cases hold a store to both contracts at once.

use super::invites::{add, invite_poll, race_revocations_with_votes, sorted};
use super::{cast_at_once, create, results_of, shared};
use crate::domain::{Invite, InviteCode, ManageToken, Method, Poll};
use crate::store::PollStore;
use crate::testing::{assert_error, ballot, is_error};
use crate::VoterId;

/// A fresh invite-only secret plurality poll of three options with `n`
/// invites (not stored yet).
fn secret_invite_poll(n: usize) -> (Poll, ManageToken, Vec<(Invite, InviteCode)>) {
    let (mut poll, token, invites) = invite_poll(Method::Plurality, n);
    poll.secret = true;
    (poll, token, invites)
}

/// Whether each of the poll's invites, oldest first, is `used`.
async fn used<S: PollStore>(store: &S, poll: &Poll) -> Vec<bool> {
    let listed = store.invites(poll.id).await.expect("invites");
    listed.iter().map(|i| i.used).collect()
}

/// The position of `voter`'s invite in the list, oldest first.
fn position(invites: &[(Invite, InviteCode)], voter: &VoterId) -> usize {
    sorted(invites.iter().map(|(i, _)| i.clone()).collect())
        .iter()
        .position(|i| i.voter == *voter)
        .expect("the invite is listed")
}

/// A code votes once in a secret invite-only poll: its first ballot is new
/// and secret, any second one (the same marks or others) `already_voted`,
/// and many at once count once. The store keeps no receipt for it
/// (`ballot` is `None`) but knows it voted (`has_voted`), lists its invite
/// `used` and no other, and its ballots, without voters, add up to the
/// results.
pub async fn a_code_votes_once_in_a_secret_invite_only_poll<S: PollStore>(store: S) {
    let store = shared(store);
    let (poll, _, invites) = secret_invite_poll(3);
    create(&*store, &poll).await;
    add(&*store, &poll, &invites).await;
    let voter = invites[0].1.voter();

    let first = store
        .cast(&ballot(&poll, &voter, &[1]))
        .await
        .expect("a code votes");
    assert!(first.is_new() && first.secret, "{first:?}");
    for choice in [1, 2] {
        assert_error(
            store.cast(&ballot(&poll, &voter, &[choice])).await,
            "already_voted",
            "a second ballot of the code in a secret poll",
        );
    }
    assert_eq!(
        store.ballot(poll.id, &voter).await.expect("ballot"),
        None,
        "a secret poll keeps no receipt under the code's voter id"
    );
    assert!(store.has_voted(poll.id, &voter).await.expect("has_voted"));
    let mut expected = vec![false; 3];
    expected[position(&invites, &voter)] = true;
    assert_eq!(
        used(&*store, &poll).await,
        expected,
        "the code that voted, and only it, is used"
    );

    let racer = invites[1].1.voter();
    let ballots = (0..32u32).map(|i| ballot(&poll, &racer, &[i % 3]));
    let mut new = 0;
    for outcome in cast_at_once(&store, ballots).await {
        match &outcome {
            Ok(o) if o.is_new() => new += 1,
            _ => assert!(is_error(&outcome, "already_voted"), "{outcome:?}"),
        }
    }
    assert_eq!(new, 1, "a code racing itself votes once");
    expected[position(&invites, &racer)] = true;
    assert_eq!(used(&*store, &poll).await, expected);

    let results = results_of(&*store, &poll).await;
    assert_eq!(
        (results.total, results.version),
        (2, 2),
        "two codes, two ballots"
    );
    let ballots = store.ballots(poll.id).await.expect("ballots");
    assert_eq!(ballots.len(), 2, "one anonymous ballot per code");
    let counted: u64 = results.counts.iter().map(|c| c.votes).sum();
    assert_eq!(counted, 2);
}

/// In a secret invite-only poll a revoked code, a code the poll never
/// issued and a voter without a code are refused before the secret cast:
/// nothing is counted, no participation is kept for them (`has_voted` is
/// false), and every invite stays unused.
pub async fn revoked_and_unknown_codes_are_refused_in_a_secret_poll<S: PollStore>(store: S) {
    let (poll, _, invites) = secret_invite_poll(2);
    create(&store, &poll).await;
    add(&store, &poll, &invites).await;
    let revoked = invites[0].1.voter();
    store
        .revoke_invite(poll.id, &revoked, crate::now())
        .await
        .expect("revoke an unused code");
    let (_, _, strangers) = secret_invite_poll(1);
    let unknown = strangers[0].1.voter();
    let cookie = VoterId::generate();

    for (voter, code, what) in [
        (&revoked, "invite_invalid", "a revoked code"),
        (&unknown, "invite_invalid", "a code the poll never issued"),
        (&cookie, "invite_required", "a voter without a code"),
    ] {
        assert_error(store.cast(&ballot(&poll, voter, &[0])).await, code, what);
        assert!(
            !store.has_voted(poll.id, voter).await.expect("has_voted"),
            "{what} left a participation"
        );
    }
    // Refused twice: no participation was kept the first time either.
    assert_error(
        store.cast(&ballot(&poll, &revoked, &[1])).await,
        "invite_invalid",
        "a revoked code again",
    );
    let results = results_of(&store, &poll).await;
    assert_eq!((results.total, results.version), (0, 0), "nothing counted");
    assert!(store.ballots(poll.id).await.expect("ballots").is_empty());
    assert_eq!(used(&store, &poll).await, [false, false]);

    let valid = invites[1].1.voter();
    assert!(store
        .cast(&ballot(&poll, &valid, &[2]))
        .await
        .expect("the other code still votes")
        .is_new());
}

/// A code that voted in a secret poll is listed `used` (found through its
/// participation, since the ballot names no voter) and cannot be revoked
/// (`invite_used`, nothing changes); an unused one can, and then votes no
/// more. Revocations racing votes with the same codes are ordered one way
/// or the other, as in any invite-only poll.
pub async fn used_codes_of_a_secret_poll_cannot_be_revoked<S: PollStore>(store: S) {
    const CODES: usize = 16;
    let store = shared(store);
    let (poll, _, invites) = secret_invite_poll(2);
    create(&*store, &poll).await;
    add(&*store, &poll, &invites).await;
    let (voted, unused) = (invites[0].1.voter(), invites[1].1.voter());
    store
        .cast(&ballot(&poll, &voted, &[0]))
        .await
        .expect("vote");

    let at = crate::now();
    assert_error(
        store.revoke_invite(poll.id, &voted, at).await,
        "invite_used",
        "revoking a code that voted in a secret poll",
    );
    let listed = store.invites(poll.id).await.expect("invites");
    let voted_one = listed.iter().find(|i| i.voter == voted).expect("listed");
    assert!(
        voted_one.used && voted_one.revoked_at.is_none(),
        "{voted_one:?}"
    );
    let revoked = store
        .revoke_invite(poll.id, &unused, at)
        .await
        .expect("revoking an unused code");
    assert!(
        !revoked.used && revoked.revoked_at == Some(at),
        "{revoked:?}"
    );
    assert_error(
        store.cast(&ballot(&poll, &unused, &[1])).await,
        "invite_invalid",
        "a revoked code",
    );
    assert_eq!(results_of(&*store, &poll).await.total, 1);

    let (poll, _, invites) = secret_invite_poll(CODES);
    create(&*store, &poll).await;
    add(&*store, &poll, &invites).await;
    race_revocations_with_votes(&store, &poll, &invites).await;
}

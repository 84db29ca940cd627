//! [`check_eligible`] and [`Eligible`]: who may vote in a poll, decided
//! under the store's lock on the poll.

use crate::{Ballot, CastOutcome, Eligibility, Poll, PollError, Result, VoterId};

/// Whether `voter` may vote in `poll`, given whether `voter` is the voter id
/// of one of the poll's invites that is not revoked (`invited`).
///
/// * an invite-only poll takes invite voters only: another voter is
///   [`InviteRequired`](PollError::InviteRequired), an invite voter the
///   poll did not issue or revoked [`InviteInvalid`](PollError::InviteInvalid);
/// * any other poll takes any voter but an invite voter
///   ([`InviteInvalid`](PollError::InviteInvalid): it takes no codes).
///
/// # Errors
///
/// As above.
pub fn check_eligible(poll: &Poll, voter: &VoterId, invited: bool) -> Result<()> {
    match poll.eligibility {
        Eligibility::Anyone if voter.is_invite() => Err(PollError::InviteInvalid),
        Eligibility::Invite if !voter.is_invite() => Err(PollError::InviteRequired),
        Eligibility::Invite if !invited => Err(PollError::InviteInvalid),
        _ => Ok(()),
    }
}

/// The ballots of a batch that may be cast (see [`check_eligible`]), and
/// the refusals of the others; like [`LiveBallots`](super::LiveBallots), a
/// writer decides only [`ballots`](Self::ballots) and turns their outcomes
/// back into one per ballot of the batch with [`outcomes`](Self::outcomes).
#[derive(Debug)]
pub struct Eligible {
    /// For each ballot of the batch, in order, its refusal if it has one.
    refused: Vec<Option<PollError>>,
    /// The ballots that may be cast, in the batch's order.
    eligible: Vec<Ballot>,
}

impl Eligible {
    /// Sorts `ballots` of `poll` by [`check_eligible`], with `invited`
    /// telling the voter ids of the poll's invites not revoked.
    pub fn of(poll: &Poll, ballots: &[Ballot], invited: impl Fn(&VoterId) -> bool) -> Self {
        let mut refused = Vec::with_capacity(ballots.len());
        let mut eligible = Vec::with_capacity(ballots.len());
        for ballot in ballots {
            let voter = ballot.voter();
            match check_eligible(poll, voter, voter.is_invite() && invited(voter)) {
                Ok(()) => {
                    refused.push(None);
                    eligible.push(ballot.clone());
                }
                Err(error) => refused.push(Some(error)),
            }
        }
        Self { refused, eligible }
    }

    /// The ballots that may be cast, in the batch's order.
    pub fn ballots(&self) -> &[Ballot] {
        &self.eligible
    }

    /// One outcome per ballot of the batch, in order: its refusal, or the
    /// next of `outcomes` (one per [eligible ballot](Self::ballots)).
    pub fn outcomes(self, outcomes: Vec<Result<CastOutcome>>) -> Vec<Result<CastOutcome>> {
        fill(self.refused, outcomes)
    }
}

/// The voters of `ballots` a store must look up among `poll`'s invites
/// (see [`Eligible::of`]): those with an invite voter id, in an invite-only
/// poll; none in any other poll, whose ballots need no lookup.
pub fn invite_voters<'a>(poll: &Poll, ballots: &'a [Ballot]) -> Vec<&'a str> {
    match poll.eligibility {
        Eligibility::Invite => ballots
            .iter()
            .map(Ballot::voter)
            .filter(|voter| voter.is_invite())
            .map(VoterId::as_str)
            .collect(),
        Eligibility::Anyone => Vec::new(),
    }
}

/// One outcome per slot of `refusals`, in order: the refusal where there is
/// one, else the next of `outcomes` (the decided ballots' outcomes, in order).
pub(super) fn fill(
    refusals: impl IntoIterator<Item = Option<PollError>>,
    outcomes: Vec<Result<CastOutcome>>,
) -> Vec<Result<CastOutcome>> {
    let mut outcomes = outcomes.into_iter();
    refusals
        .into_iter()
        .map(|refusal| match refusal {
            Some(error) => Err(error),
            None => outcomes
                .next()
                .unwrap_or_else(|| Err(PollError::unavailable("a ballot got no outcome"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ballot, sample_poll};
    use crate::{Invite, ManageToken};

    #[test]
    fn invite_polls_take_their_valid_invites_only_and_others_take_no_codes() {
        let mut poll = sample_poll(2, false, None);
        let (invite, _) = Invite::issue(&ManageToken::generate(), poll.id, crate::now());
        let (stranger, _) = Invite::issue(&ManageToken::generate(), poll.id, crate::now());
        let cookie = VoterId::generate();
        let batch = [
            ballot(&poll, &invite.voter, &[0]),
            ballot(&poll, &cookie, &[1]),
            ballot(&poll, &stranger.voter, &[1]),
        ];
        let codes = |eligible: Eligible| -> Vec<&'static str> {
            let n = eligible.ballots().len();
            let ok = (0..n)
                .map(|_| Err(PollError::PollClosed))
                .collect::<Vec<_>>();
            eligible
                .outcomes(ok)
                .iter()
                .map(|o| o.as_ref().unwrap_err().code())
                .collect()
        };
        let anyone = Eligible::of(&poll, &batch, |_| true);
        assert_eq!(
            codes(anyone),
            ["invite_invalid", "poll_closed", "invite_invalid"]
        );
        poll.eligibility = Eligibility::Invite;
        let invited = |v: &VoterId| *v == invite.voter;
        let only = Eligible::of(&poll, &batch, invited);
        assert_eq!(only.ballots().len(), 1);
        assert_eq!(
            codes(only),
            ["poll_closed", "invite_required", "invite_invalid"]
        );
    }
}

//! [`LiveBallots`]: the ballots of a batch whose callers still wait.

use super::abandoned_error;
use crate::{Ballot, CastOutcome, Result};

/// The ballots of a batch not [abandoned](Ballot::abandon), seen once the
/// writer holds the poll's lock.
///
/// The lock may have taken long: a ballot whose caller gave up meanwhile
/// (answered as a failure) is left out, so no later commit contradicts that
/// answer. A writer decides only [`ballots`](Self::ballots), then turns their
/// outcomes back into one per ballot of the batch with
/// [`outcomes`](Self::outcomes).
#[derive(Debug)]
pub struct LiveBallots {
    /// For each ballot of the batch, in order, whether it was abandoned.
    abandoned: Vec<bool>,
    /// The ballots not abandoned, in the batch's order.
    live: Vec<Ballot>,
}

impl LiveBallots {
    /// Sorts `ballots` (a whole batch) into abandoned and live, now.
    pub fn of(ballots: &[Ballot]) -> Self {
        let abandoned: Vec<bool> = ballots.iter().map(Ballot::is_abandoned).collect();
        let live = ballots
            .iter()
            .zip(&abandoned)
            .filter(|(_, &gone)| !gone)
            .map(|(ballot, _)| ballot.clone())
            .collect();
        Self { abandoned, live }
    }

    /// The live ballots, in the batch's order.
    pub fn ballots(&self) -> &[Ballot] {
        &self.live
    }

    /// Whether every ballot of the batch was abandoned.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// One outcome per ballot of the batch, in order: [`abandoned_error`] for
    /// an abandoned ballot and, for the live ones, `outcomes` (one per
    /// [live ballot](Self::ballots), in order).
    pub fn outcomes(self, outcomes: Vec<Result<CastOutcome>>) -> Vec<Result<CastOutcome>> {
        let refusals = self
            .abandoned
            .into_iter()
            .map(|gone| gone.then(abandoned_error));
        super::eligible::fill(refusals, outcomes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ballot, sample_poll};
    use crate::{PollError, VoterId};

    #[test]
    fn abandoned_ballots_are_left_out_and_answered_as_abandoned() {
        let poll = sample_poll(2, false, None);
        let voter = |name: &str| VoterId::try_from(name.to_owned()).unwrap();
        let batch = [
            ballot(&poll, &voter("a"), &[0]),
            ballot(&poll, &voter("b"), &[1]),
            ballot(&poll, &voter("c"), &[0]),
        ];
        batch[1].abandon();
        let live = LiveBallots::of(&batch);
        let voters: Vec<&str> = live.ballots().iter().map(|b| b.voter().as_str()).collect();
        assert_eq!(voters, ["a", "c"]);
        let outcomes = live.outcomes(vec![
            Err(PollError::AlreadyVoted),
            Err(PollError::PollClosed),
        ]);
        let codes: Vec<&str> = outcomes
            .iter()
            .map(|o| o.as_ref().unwrap_err().code())
            .collect();
        assert_eq!(codes, ["already_voted", "unavailable", "poll_closed"]);
    }
}

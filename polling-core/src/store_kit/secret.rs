//! [`SecretBatch`]: what a store needs to record a secret poll's batch
//! (see [`secrecy`](crate::domain::secrecy)): the batch voters' keyed
//! hashes to look up, and the rows to write, each in an order of its own.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::Plan;
use crate::domain::VoterHash;
use crate::{Ballot, Invite, Marks, Poll, PollId, Tally, VoterId};

/// The voters of one secret poll's batch, by their keyed hashes.
///
/// A store looks up which [`hashes`](SecretBatch::hashes) have a
/// participation, then [`decide`](SecretBatch::decide)s the batch with
/// what it found, and writes the plan's [`SecretRows`].
#[derive(Debug)]
pub struct SecretBatch<'a> {
    poll: &'a Poll,
    ballots: &'a [Ballot],
    voters: HashMap<VoterHash, &'a VoterId>,
}

/// The rows a secret poll's batch writes, with nothing that links one
/// participation to one ballot: the participations sorted by hash, the
/// ballots by their random keys, so neither follows the batch's order.
#[derive(Debug)]
pub struct SecretRows {
    /// The new participations' keyed hashes, sorted.
    pub voters: Vec<VoterHash>,
    /// The new ballots: a random key each and the marks, sorted by key.
    pub ballots: Vec<(Uuid, Marks)>,
}

impl<'a> SecretBatch<'a> {
    /// The batch `ballots` of the secret poll `poll`.
    pub fn of(poll: &'a Poll, ballots: &'a [Ballot]) -> Self {
        let voters = ballots
            .iter()
            .map(|b| (VoterHash::of(poll.id, b.voter()), b.voter()))
            .collect();
        Self {
            poll,
            ballots,
            voters,
        }
    }

    /// The hashes to look up, each once.
    pub fn hashes(&self) -> impl Iterator<Item = &VoterHash> {
        self.voters.keys()
    }

    /// Decides the batch ([`Plan::decide_secret`]) as of now, given the
    /// stored participations `found` (the hashes the lookup returned, as
    /// bytes; any other bytes are ignored) and the poll's sums and version.
    pub fn decide<B: AsRef<[u8]>>(
        &self,
        found: impl IntoIterator<Item = B>,
        tally: Tally,
        version: u64,
    ) -> Plan {
        let participated: HashSet<VoterId> = found
            .into_iter()
            .filter_map(|bytes| {
                let hash = VoterHash::from_bytes(bytes.as_ref().try_into().ok()?);
                self.voters.get(&hash).map(|voter| (*voter).clone())
            })
            .collect();
        Plan::decide_secret(
            self.poll,
            tally,
            version,
            &participated,
            self.ballots,
            crate::now(),
        )
    }
}

impl SecretRows {
    /// The rows of `plan`, a secret poll `poll`'s plan.
    pub fn of(poll: PollId, plan: &Plan) -> Self {
        let mut voters: Vec<VoterHash> = plan
            .new_ballots
            .iter()
            .map(|(voter, _)| VoterHash::of(poll, voter))
            .collect();
        voters.sort_unstable();
        let mut ballots: Vec<(Uuid, Marks)> = plan
            .new_ballots
            .iter()
            .map(|(_, receipt)| (Uuid::new_v4(), receipt.marks.clone()))
            .collect();
        ballots.sort_unstable();
        Self { voters, ballots }
    }
}

/// The keyed hashes under which a secret poll `poll` keeps the
/// participations of `invites`' voters: what a store looks up to tell
/// which invites are [`used`](Invite::used), since the poll's ballots name
/// no voter. Give what the lookup found to [`mark_used`].
pub fn invite_hashes(poll: PollId, invites: &[Invite]) -> Vec<VoterHash> {
    invites
        .iter()
        .map(|invite| VoterHash::of(poll, &invite.voter))
        .collect()
}

/// Marks `used` each of `invites` of the secret poll `poll` whose keyed
/// hash is among the stored participations `found` (as bytes; any other
/// bytes are ignored). See [`invite_hashes`].
pub fn mark_used<B: AsRef<[u8]>>(
    poll: PollId,
    invites: &mut [Invite],
    found: impl IntoIterator<Item = B>,
) {
    let found: HashSet<VoterHash> = found
        .into_iter()
        .filter_map(|bytes| Some(VoterHash::from_bytes(bytes.as_ref().try_into().ok()?)))
        .collect();
    for invite in invites {
        invite.used |= found.contains(&VoterHash::of(poll, &invite.voter));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ballot, sample_poll};

    #[test]
    fn stored_voters_are_refused_and_rows_follow_their_keys_not_the_batch() {
        let mut poll = sample_poll(3, false, None);
        poll.secret = true;
        let voters: Vec<VoterId> = (0..20).map(|_| VoterId::generate()).collect();
        let ballots: Vec<Ballot> = voters
            .iter()
            .enumerate()
            .map(|(i, v)| ballot(&poll, v, &[(i % 3) as u32]))
            .collect();
        let batch = SecretBatch::of(&poll, &ballots);
        assert_eq!(batch.hashes().count(), 20);
        let stored = VoterHash::of(poll.id, &voters[0]);
        let plan = batch.decide(
            [stored.as_bytes().to_vec(), vec![1, 2, 3]],
            Tally::empty(&poll),
            0,
        );
        assert!(plan.outcomes[0].is_err(), "the stored voter is refused");
        assert_eq!(plan.new_ballots.len(), 19);

        let rows = SecretRows::of(poll.id, &plan);
        assert_eq!((rows.voters.len(), rows.ballots.len()), (19, 19));
        assert!(rows.voters.windows(2).all(|w| w[0] < w[1]), "by hash");
        assert!(rows.ballots.windows(2).all(|w| w[0].0 < w[1].0), "by key");
        assert!(!rows.voters.contains(&stored));
    }

    #[test]
    fn invites_whose_hash_took_part_are_marked_used_and_no_others() {
        let poll = sample_poll(2, false, None);
        let token = crate::ManageToken::generate();
        let mut invites: Vec<Invite> = (0..3)
            .map(|_| Invite::issue(&token, poll.id, crate::now()).0)
            .collect();
        let hashes = invite_hashes(poll.id, &invites);
        assert_eq!(hashes[1], VoterHash::of(poll.id, &invites[1].voter));
        let elsewhere = VoterHash::of(crate::PollId::generate(), &invites[2].voter);
        let found = [
            hashes[1].as_bytes().to_vec(),
            elsewhere.as_bytes().to_vec(),
            vec![7],
        ];
        mark_used(poll.id, &mut invites, found);
        let used: Vec<bool> = invites.iter().map(|i| i.used).collect();
        assert_eq!(used, [false, true, false]);
    }
}

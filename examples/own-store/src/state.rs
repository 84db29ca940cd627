//! [`State`]: what the journal's entries add up to, kept in memory and
//! changed only by [`State::apply`].

use std::collections::{BTreeMap, HashMap, HashSet};

use polling_core::domain::VoterHash;
use polling_core::{AnonymousBallot, Invite, Poll, PollId, Results, Tally, VoteReceipt, VoterId};

use crate::entry::Entry;

/// Every live poll with its ballots, as the entries so far made them.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// By id; poll ids are ordered by creation time, so the map's order is
    /// the order of `list`, oldest first.
    pub(crate) polls: BTreeMap<PollId, Kept>,
}

/// One poll and what was counted for it.
#[derive(Debug)]
pub(crate) struct Kept {
    /// The poll, with its `closed_at` once closed.
    pub(crate) poll: Poll,
    /// The running sums of its ballots.
    tally: Tally,
    /// What `tally` gives at the current version.
    pub(crate) results: Results,
    /// Each voter's current ballot (never for a secret poll).
    pub(crate) receipts: HashMap<VoterId, VoteReceipt>,
    /// The poll's invites by voter id, `used` always false (see
    /// [`Kept::invite`]).
    invites: HashMap<VoterId, Invite>,
    /// A secret poll's participations: who voted, as keyed hashes.
    participants: HashSet<VoterHash>,
    /// A secret poll's ballots with how many times each was cast: kept in
    /// the export's order (minute, then marks), never in the cast order,
    /// and with nothing that leads to a participation.
    secret_ballots: BTreeMap<AnonymousBallot, u64>,
}

impl Kept {
    /// Whether `voter` voted here: a ballot under their id, or (in a secret
    /// poll) a participation under their hash.
    pub(crate) fn has_voted(&self, voter: &VoterId) -> bool {
        self.receipts.contains_key(voter) || self.participants.contains(&self.hash(voter))
    }

    /// `voter`'s keyed hash in this poll.
    pub(crate) fn hash(&self, voter: &VoterId) -> VoterHash {
        VoterHash::of(self.poll.id, voter)
    }

    /// The invite voting as `voter`, with whether it voted.
    pub(crate) fn invite(&self, voter: &VoterId) -> Option<Invite> {
        self.invites.get(voter).map(|invite| Invite {
            used: self.has_voted(voter),
            ..invite.clone()
        })
    }

    /// How many invites the poll holds, revoked ones included.
    pub(crate) fn invite_count(&self) -> usize {
        self.invites.len()
    }

    /// Every invite with whether it voted, oldest first.
    pub(crate) fn invites(&self) -> Vec<Invite> {
        let mut invites: Vec<Invite> = self
            .invites
            .keys()
            .filter_map(|voter| self.invite(voter))
            .collect();
        invites.sort_by(|a, b| (a.created_at, &a.nonce).cmp(&(b.created_at, &b.nonce)));
        invites
    }

    /// The poll's ballots without voters, sorted by minute then marks.
    pub(crate) fn ballots(&self) -> Vec<AnonymousBallot> {
        let open = self
            .receipts
            .values()
            .map(|receipt| AnonymousBallot::new(receipt.marks.clone(), receipt.cast_at));
        let secret = self
            .secret_ballots
            .iter()
            .flat_map(|(ballot, n)| (0..*n).map(|_| ballot.clone()));
        let mut ballots: Vec<AnonymousBallot> = open.chain(secret).collect();
        ballots.sort_unstable();
        ballots
    }
}

impl State {
    /// Applies `entry`, which was checked before it was written: the one
    /// way the state changes, whether an entry is new or replayed from the
    /// journal.
    pub(crate) fn apply(&mut self, entry: Entry) {
        match entry {
            Entry::Created { poll } => {
                let kept = Kept {
                    tally: Tally::empty(&poll),
                    results: Results::empty(&poll),
                    receipts: HashMap::new(),
                    invites: HashMap::new(),
                    participants: HashSet::new(),
                    secret_ballots: BTreeMap::new(),
                    poll,
                };
                self.polls.insert(kept.poll.id, kept);
            }
            Entry::Closed { poll_id, at } => {
                if let Some(kept) = self.polls.get_mut(&poll_id) {
                    kept.poll.closed_at.get_or_insert(at);
                }
            }
            Entry::Deleted { poll_id } => {
                self.polls.remove(&poll_id);
            }
            Entry::Cast { voter, receipt } => {
                if let Some(kept) = self.polls.get_mut(&receipt.poll_id) {
                    match kept.receipts.get(&voter) {
                        Some(earlier) => kept.tally.change(&earlier.marks, &receipt.marks),
                        None => kept.tally.add(&receipt.marks),
                    }
                    kept.results = kept.tally.results(receipt.poll_id, receipt.version);
                    kept.receipts.insert(voter, receipt);
                }
            }
            Entry::InvitesAdded { poll_id, invites } => {
                if let Some(kept) = self.polls.get_mut(&poll_id) {
                    for invite in invites.into_iter().map(Invite::from) {
                        kept.invites.insert(invite.voter.clone(), invite);
                    }
                }
            }
            Entry::InviteRevoked { poll_id, voter, at } => {
                let invite = self
                    .polls
                    .get_mut(&poll_id)
                    .and_then(|kept| kept.invites.get_mut(&voter));
                if let Some(invite) = invite {
                    invite.revoked_at.get_or_insert(at);
                }
            }
            Entry::Participated {
                poll_id,
                voter_hash,
            } => {
                if let Some(kept) = self.polls.get_mut(&poll_id) {
                    kept.participants.insert(voter_hash.0);
                }
            }
            Entry::SecretBallot {
                poll_id,
                marks,
                cast_minute,
            } => {
                if let Some(kept) = self.polls.get_mut(&poll_id) {
                    kept.tally.add(&marks);
                    kept.results = kept.tally.results(poll_id, kept.results.version + 1);
                    let ballot = AnonymousBallot::new(marks, cast_minute);
                    *kept.secret_ballots.entry(ballot).or_default() += 1;
                }
            }
        }
    }
}

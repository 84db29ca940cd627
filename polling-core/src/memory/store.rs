//! [`MemoryStore`]: polls and ballots in process memory.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::domain::{
    AnonymousBallot, Ballot, CastKind, CastOutcome, Invite, Poll, PollId, Results, VoteReceipt,
    VoterHash, VoterId,
};
use crate::error::{PollError, Result};
use crate::store::{Page, PollStore};
use crate::tally::Tally;

/// A [`PollStore`] in process memory: fast, correct under concurrency, gone
/// when the process exits.
///
/// Clones share the same data.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    /// Every poll by id; a `BTreeMap` because time-ordered ids make it the
    /// newest-first index too. The outer lock is held only to find or insert
    /// an entry, so votes on different polls never wait for each other.
    polls: Arc<RwLock<BTreeMap<PollId, Arc<Mutex<Entry>>>>>,
}

/// One poll with everything counted for it, behind one lock so that a ballot
/// and its counts change together.
#[derive(Debug)]
struct Entry {
    poll: Poll,
    /// The running sums of the poll's ballots.
    tally: Tally,
    /// What `tally` gives at the current version, computed once per ballot
    /// (for a ranked poll, its instant runoff) and then only cloned.
    results: Results,
    /// The receipt of each voter's ballot, for idempotent replays (never
    /// for a secret poll).
    ballots: HashMap<VoterId, VoteReceipt>,
    /// The poll's invites by voter id (`used` is filled in on reading).
    invites: HashMap<VoterId, Invite>,
    /// A secret poll's participations: who voted, as keyed hashes.
    participants: HashSet<VoterHash>,
    /// A secret poll's ballots, under random keys: nothing ties one to a
    /// participation, and their order is not the order they were cast in.
    secret_ballots: BTreeMap<u128, AnonymousBallot>,
    /// Set by `delete` under this lock, so a cast that found the entry just
    /// before it was removed does not count a vote into a deleted poll.
    deleted: bool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn entry(&self, id: PollId) -> Result<Arc<Mutex<Entry>>> {
        read(&self.polls)
            .get(&id)
            .cloned()
            .ok_or(PollError::NotFound)
    }

    /// Runs `f` on the live entry of poll `id`.
    fn with_entry<T>(&self, id: PollId, f: impl FnOnce(&mut Entry) -> Result<T>) -> Result<T> {
        let entry = self.entry(id)?;
        let mut entry = lock(&entry);
        if entry.deleted {
            return Err(PollError::NotFound);
        }
        f(&mut entry)
    }
}

// A panic while holding one of these locks cannot leave an entry half-updated
// (every update is computed before it is written), so a poisoned lock is still
// consistent and is used as is.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

fn lock<T>(lock: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(|e| e.into_inner())
}

impl Entry {
    /// Whether `voter` voted here: a ballot under their id, or (in a secret
    /// poll, whose ballots name no voter) a participation under their hash.
    fn has_voted(&self, voter: &VoterId) -> bool {
        self.ballots.contains_key(voter)
            || self
                .participants
                .contains(&VoterHash::of(self.poll.id, voter))
    }

    /// A ballot in a secret poll: a participation and an anonymous ballot
    /// under a random key, with no receipt kept (see
    /// [`PollStore`#secret-polls](crate::PollStore#secret-polls)).
    fn cast_secret(&mut self, ballot: &Ballot, now: OffsetDateTime) -> Result<CastOutcome> {
        let voter = VoterHash::of(ballot.poll_id(), ballot.voter());
        if self.participants.contains(&voter) {
            return Err(PollError::AlreadyVoted);
        }
        if self.poll.is_closed_at(now) {
            return Err(PollError::PollClosed);
        }
        self.poll.check_ballot(ballot)?;
        self.tally.add(ballot.marks());
        self.results = self
            .tally
            .results(ballot.poll_id(), self.results.version + 1);
        let cast_at = crate::domain::secret_minute(now);
        self.participants.insert(voter);
        self.secret_ballots.insert(
            random_key(),
            AnonymousBallot::new(ballot.marks().clone(), cast_at),
        );
        Ok(CastOutcome {
            receipt: VoteReceipt {
                poll_id: ballot.poll_id(),
                marks: ballot.marks().clone(),
                cast_at,
                version: self.results.version,
            },
            results: self.results.clone(),
            kind: CastKind::New,
            secret: true,
        })
    }
}

/// A random key for a secret ballot.
fn random_key() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

#[async_trait]
impl PollStore for MemoryStore {
    async fn create(&self, poll: &Poll) -> Result<()> {
        let entry = Entry {
            poll: poll.clone(),
            tally: Tally::empty(poll),
            results: Results::empty(poll),
            ballots: HashMap::new(),
            invites: HashMap::new(),
            participants: HashSet::new(),
            secret_ballots: BTreeMap::new(),
            deleted: false,
        };
        write(&self.polls).insert(poll.id, Arc::new(Mutex::new(entry)));
        Ok(())
    }

    async fn get(&self, id: PollId) -> Result<Poll> {
        self.with_entry(id, |entry| Ok(entry.poll.clone()))
    }

    async fn list(&self, limit: usize, before: Option<PollId>) -> Result<Page> {
        let polls = read(&self.polls);
        let upper = before.map_or(Bound::Unbounded, Bound::Excluded);
        let mut page: Vec<Poll> = polls
            .range((Bound::Unbounded, upper))
            .rev()
            .take(limit.saturating_add(1))
            .map(|(_, entry)| lock(entry).poll.clone())
            .collect();
        let next_cursor = if page.len() > limit {
            page.truncate(limit);
            page.last().map(|p| p.id)
        } else {
            None
        };
        Ok(Page {
            polls: page,
            next_cursor,
        })
    }

    async fn close(&self, id: PollId, at: OffsetDateTime) -> Result<Poll> {
        self.with_entry(id, |entry| {
            entry.poll.closed_at.get_or_insert(at);
            Ok(entry.poll.clone())
        })
    }

    async fn delete(&self, id: PollId) -> Result<()> {
        let entry = write(&self.polls).remove(&id).ok_or(PollError::NotFound)?;
        lock(&entry).deleted = true;
        Ok(())
    }

    async fn cast(&self, ballot: &Ballot) -> Result<CastOutcome> {
        let now = crate::now();
        self.with_entry(ballot.poll_id(), |entry| {
            let voter = ballot.voter();
            let invited = entry.invites.get(voter).is_some_and(Invite::is_valid);
            crate::store_kit::check_eligible(&entry.poll, voter, invited)?;
            if entry.poll.secret {
                return entry.cast_secret(ballot, now);
            }
            let earlier = entry.ballots.get(ballot.voter());
            if let Some(receipt) = earlier {
                if receipt.marks == *ballot.marks() {
                    return Ok(CastOutcome {
                        receipt: receipt.clone(),
                        results: entry.results.clone(),
                        kind: CastKind::Replay,
                        secret: false,
                    });
                }
                if !entry.poll.allow_vote_change {
                    return Err(PollError::AlreadyVoted);
                }
            }
            if entry.poll.is_closed_at(now) {
                return Err(PollError::PollClosed);
            }
            entry.poll.check_ballot(ballot)?;

            let kind = match earlier {
                Some(old) => {
                    entry.tally.change(&old.marks, ballot.marks());
                    CastKind::Changed
                }
                None => {
                    entry.tally.add(ballot.marks());
                    CastKind::New
                }
            };
            entry.results = entry
                .tally
                .results(ballot.poll_id(), entry.results.version + 1);
            let receipt = VoteReceipt {
                poll_id: ballot.poll_id(),
                marks: ballot.marks().clone(),
                cast_at: now,
                version: entry.results.version,
            };
            entry
                .ballots
                .insert(ballot.voter().clone(), receipt.clone());
            Ok(CastOutcome {
                receipt,
                results: entry.results.clone(),
                kind,
                secret: false,
            })
        })
    }

    async fn ballot(&self, poll: PollId, voter: &VoterId) -> Result<Option<VoteReceipt>> {
        self.with_entry(poll, |entry| Ok(entry.ballots.get(voter).cloned()))
    }

    async fn has_voted(&self, poll: PollId, voter: &VoterId) -> Result<bool> {
        self.with_entry(poll, |entry| Ok(entry.has_voted(voter)))
    }

    async fn results(&self, id: PollId) -> Result<Results> {
        self.with_entry(id, |entry| Ok(entry.results.clone()))
    }

    async fn ballots(&self, id: PollId) -> Result<Vec<AnonymousBallot>> {
        self.with_entry(id, |entry| {
            let mut ballots: Vec<AnonymousBallot> = entry
                .ballots
                .values()
                .map(|receipt| AnonymousBallot::new(receipt.marks.clone(), receipt.cast_at))
                .chain(entry.secret_ballots.values().cloned())
                .collect();
            ballots.sort_unstable();
            Ok(ballots)
        })
    }

    async fn add_invites(&self, poll: PollId, invites: &[Invite]) -> Result<()> {
        self.with_entry(poll, |entry| {
            crate::invite_room(entry.invites.len(), invites.len())?;
            for invite in invites {
                entry.invites.insert(invite.voter.clone(), invite.clone());
            }
            Ok(())
        })
    }

    async fn invites(&self, poll: PollId) -> Result<Vec<Invite>> {
        self.with_entry(poll, |entry| {
            let mut invites: Vec<Invite> = entry
                .invites
                .values()
                .map(|invite| Invite {
                    used: entry.has_voted(&invite.voter),
                    ..invite.clone()
                })
                .collect();
            invites.sort_by(|a, b| (a.created_at, &a.nonce).cmp(&(b.created_at, &b.nonce)));
            Ok(invites)
        })
    }

    async fn revoke_invite(
        &self,
        poll: PollId,
        voter: &VoterId,
        at: OffsetDateTime,
    ) -> Result<Invite> {
        self.with_entry(poll, |entry| {
            let used = entry.has_voted(voter);
            let invite = entry
                .invites
                .get_mut(voter)
                .ok_or(PollError::InviteNotFound)?;
            if used {
                return Err(PollError::InviteUsed);
            }
            invite.revoked_at.get_or_insert(at);
            Ok(invite.clone())
        })
    }
}

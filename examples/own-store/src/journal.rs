//! [`JournalPollStore`]: polls and ballots in an append-only journal file,
//! one JSON line per change, replayed into memory when the file is opened.
//!
//! Every change is checked against the state in memory, written to the
//! journal and synced to disk, and only then applied: a vote whose receipt
//! was returned survives a crash, and one that failed to be written was
//! never counted. One lock serializes the changes, so the journal's order
//! is the order they happened in; reads take the same lock briefly.
//!
//! A secret poll's ballot is written as two entries in one append (see
//! [`Entry`]): the participation, under the voter's keyed hash, and the
//! anonymous ballot. In memory the two are kept apart (the ballots in the
//! export's order); in the file, the order of lines still ties each
//! participation to the ballot after it, as PostgreSQL's write-ahead log
//! ties the rows of one transaction (see `SECURITY.md`, "Secret polls"): a
//! deployment with secret polls keeps the journal where it keeps a
//! database's log, or compacts it (below), which writes them apart.
//!
//! What a real deployment adds: compaction (the file only grows, and
//! opening it replays every ballot ever cast), and one process per file
//! (two servers appending to the same journal would interleave).

use std::io::{self, ErrorKind};
use std::path::Path;

use async_trait::async_trait;
use polling_core::domain::secret_minute;
use polling_core::store_kit::check_eligible;
use polling_core::{
    AnonymousBallot, Ballot, CastKind, CastOutcome, Invite, Page, Poll, PollError, PollId,
    PollStore, Result, Results, VoteReceipt, VoterId,
};
use time::OffsetDateTime;
use tokio::fs::{File, OpenOptions};
use tokio::io::AsyncWriteExt;
use tokio::sync::{Mutex, MutexGuard};

use crate::entry::Entry;
use crate::hex::HexHash;
use crate::state::{Kept, State};

/// A [`PollStore`] in one append-only file. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct JournalPollStore {
    /// The file and what it adds up to, behind one lock.
    journal: Mutex<Journal>,
}

/// The open journal and the state its entries made.
#[derive(Debug)]
struct Journal {
    /// Opened for appending.
    file: File,
    /// The length of the file up to its last complete entry: a failed
    /// write is cut back to it, so the next entry starts on a fresh line.
    len: u64,
    /// Set when a failed write could not be cut back: the file's end is
    /// unknown, so nothing more is written until the journal is reopened.
    broken: bool,
    /// What the entries so far add up to.
    state: State,
}

impl JournalPollStore {
    /// Opens the journal at `path`, creating it if there is none, and
    /// replays it.
    ///
    /// A last line cut short (the process died while writing it) is
    /// dropped: its change had not been reported as done; so is a secret
    /// poll's participation whose ballot line did not follow (the two are
    /// one change).
    ///
    /// # Errors
    ///
    /// When the file cannot be read or written, or a complete line of it is
    /// not an entry (the file is not a journal, or was damaged).
    pub(crate) async fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let text = match tokio::fs::read_to_string(path).await {
            Ok(text) => text,
            Err(error) if error.kind() == ErrorKind::NotFound => String::new(),
            Err(error) => return Err(error),
        };
        let mut state = State::default();
        let mut len = 0;
        // A participation waits for its ballot, the next line.
        let mut participated = None;
        for (number, line) in text.split_inclusive('\n').enumerate() {
            if !line.ends_with('\n') {
                // Cut short: the last line, whatever it holds.
                break;
            }
            let damaged = |why: &str| {
                let message = format!("{}: line {}: {why}", path.display(), number + 1);
                io::Error::new(ErrorKind::InvalidData, message)
            };
            let entry =
                serde_json::from_str::<Entry>(line).map_err(|error| damaged(&error.to_string()))?;
            match (participated.take(), entry) {
                (None, entry @ Entry::Participated { .. }) => {
                    participated = Some((entry, line.len() as u64));
                    continue;
                }
                (Some((first, first_len)), entry @ Entry::SecretBallot { .. }) => {
                    state.apply(first);
                    state.apply(entry);
                    len += first_len;
                }
                (Some(_), _) => return Err(damaged("a participation without its ballot")),
                (None, Entry::SecretBallot { .. }) => {
                    return Err(damaged("a secret ballot without its participation"));
                }
                (None, entry) => state.apply(entry),
            }
            len += line.len() as u64;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await?;
        file.set_len(len).await?;
        let journal = Journal {
            file,
            len,
            broken: false,
            state,
        };
        Ok(Self {
            journal: Mutex::new(journal),
        })
    }

    async fn lock(&self) -> MutexGuard<'_, Journal> {
        self.journal.lock().await
    }
}

impl Journal {
    /// Writes `entry` and syncs it to disk, then applies it.
    ///
    /// # Errors
    ///
    /// `unavailable` when the write or the sync fails (the file is cut back
    /// to before the entry, the state unchanged), and from then on if the
    /// file could not be cut back.
    async fn record(&mut self, entry: Entry) -> Result<()> {
        self.record_all(vec![entry]).await
    }

    /// Writes `entries` in one append and syncs them, then applies them:
    /// all of them or, on an error as [`record`](Self::record) says, none.
    async fn record_all(&mut self, entries: Vec<Entry>) -> Result<()> {
        if self.broken {
            return Err(PollError::unavailable(
                "the journal failed a write and must be reopened",
            ));
        }
        let mut lines = Vec::new();
        for entry in &entries {
            serde_json::to_writer(&mut lines, entry).map_err(PollError::unavailable)?;
            lines.push(b'\n');
        }
        if let Err(error) = self.append(&lines).await {
            // The next entry must start on a fresh line; if the file cannot
            // be cut back, reopening it drops the half-written line.
            self.broken = self.file.set_len(self.len).await.is_err();
            return Err(PollError::unavailable(error));
        }
        self.len += lines.len() as u64;
        for entry in entries {
            self.state.apply(entry);
        }
        Ok(())
    }

    async fn append(&mut self, line: &[u8]) -> io::Result<()> {
        self.file.write_all(line).await?;
        // tokio writes in the background: `flush` waits for the write and
        // reports its error, which `sync_data` alone would not.
        self.file.flush().await?;
        self.file.sync_data().await
    }

    /// The live poll `id`, or `NotFound`.
    fn kept(&self, id: PollId) -> Result<&Kept> {
        self.state.polls.get(&id).ok_or(PollError::NotFound)
    }

    /// A ballot in a secret poll, whose voter may vote: refused if they
    /// took part before (whatever they marked), else recorded as a
    /// participation and an anonymous ballot, and answered with a receipt
    /// that is not kept.
    async fn cast_secret(&mut self, ballot: &Ballot, now: OffsetDateTime) -> Result<CastOutcome> {
        let kept = self.kept(ballot.poll_id())?;
        let voter_hash = kept.hash(ballot.voter());
        if kept.has_voted(ballot.voter()) {
            return Err(PollError::AlreadyVoted);
        }
        if kept.poll.is_closed_at(now) {
            return Err(PollError::PollClosed);
        }
        kept.poll.check_ballot(ballot)?;
        let cast_minute = secret_minute(now);
        let poll_id = ballot.poll_id();
        self.record_all(vec![
            Entry::Participated {
                poll_id,
                voter_hash: HexHash(voter_hash),
            },
            Entry::SecretBallot {
                poll_id,
                marks: ballot.marks().clone(),
                cast_minute,
            },
        ])
        .await?;
        let results = self.kept(poll_id)?.results.clone();
        Ok(CastOutcome {
            receipt: VoteReceipt {
                poll_id,
                marks: ballot.marks().clone(),
                cast_at: cast_minute,
                version: results.version,
            },
            results,
            kind: CastKind::New,
            secret: true,
        })
    }
}

#[async_trait]
impl PollStore for JournalPollStore {
    async fn create(&self, poll: &Poll) -> Result<()> {
        let entry = Entry::Created { poll: poll.clone() };
        self.lock().await.record(entry).await
    }

    async fn get(&self, id: PollId) -> Result<Poll> {
        Ok(self.lock().await.kept(id)?.poll.clone())
    }

    async fn list(&self, limit: usize, before: Option<PollId>) -> Result<Page> {
        let journal = self.lock().await;
        let older = journal
            .state
            .polls
            .values()
            .rev()
            .map(|kept| &kept.poll)
            .filter(|poll| before.is_none_or(|cursor| poll.id < cursor));
        // One more than asked for tells whether another page follows.
        let mut polls: Vec<Poll> = older.take(limit.saturating_add(1)).cloned().collect();
        let more = polls.len() > limit;
        polls.truncate(limit);
        let next_cursor = more.then(|| polls.last().map(|poll| poll.id)).flatten();
        Ok(Page { polls, next_cursor })
    }

    async fn close(&self, id: PollId, at: OffsetDateTime) -> Result<Poll> {
        let mut journal = self.lock().await;
        if journal.kept(id)?.poll.closed_at.is_none() {
            journal.record(Entry::Closed { poll_id: id, at }).await?;
        }
        Ok(journal.kept(id)?.poll.clone())
    }

    async fn delete(&self, id: PollId) -> Result<()> {
        let mut journal = self.lock().await;
        journal.kept(id)?;
        journal.record(Entry::Deleted { poll_id: id }).await
    }

    async fn cast(&self, ballot: &Ballot) -> Result<CastOutcome> {
        let now = polling_core::now();
        let mut journal = self.lock().await;
        let kept = journal.kept(ballot.poll_id())?;
        // The checks of `PollStore`'s contract, in its order.
        let voter = ballot.voter();
        let invited = kept.invite(voter).is_some_and(|invite| invite.is_valid());
        check_eligible(&kept.poll, voter, invited)?;
        if kept.poll.secret {
            return journal.cast_secret(ballot, now).await;
        }
        let earlier = kept.receipts.get(ballot.voter());
        if let Some(receipt) = earlier.filter(|r| r.marks == *ballot.marks()) {
            return Ok(CastOutcome {
                receipt: receipt.clone(),
                results: kept.results.clone(),
                kind: CastKind::Replay,
                secret: false,
            });
        }
        let kind = match earlier {
            Some(_) if !kept.poll.allow_vote_change => return Err(PollError::AlreadyVoted),
            Some(_) => CastKind::Changed,
            None => CastKind::New,
        };
        if kept.poll.is_closed_at(now) {
            return Err(PollError::PollClosed);
        }
        kept.poll.check_ballot(ballot)?;

        let receipt = VoteReceipt {
            poll_id: ballot.poll_id(),
            marks: ballot.marks().clone(),
            cast_at: now,
            version: kept.results.version + 1,
        };
        let entry = Entry::Cast {
            voter: ballot.voter().clone(),
            receipt: receipt.clone(),
        };
        journal.record(entry).await?;
        let results = journal.kept(ballot.poll_id())?.results.clone();
        Ok(CastOutcome {
            receipt,
            results,
            kind,
            secret: false,
        })
    }

    async fn ballot(&self, poll: PollId, voter: &VoterId) -> Result<Option<VoteReceipt>> {
        Ok(self.lock().await.kept(poll)?.receipts.get(voter).cloned())
    }

    async fn has_voted(&self, poll: PollId, voter: &VoterId) -> Result<bool> {
        Ok(self.lock().await.kept(poll)?.has_voted(voter))
    }

    async fn results(&self, id: PollId) -> Result<Results> {
        Ok(self.lock().await.kept(id)?.results.clone())
    }

    async fn ballots(&self, id: PollId) -> Result<Vec<AnonymousBallot>> {
        Ok(self.lock().await.kept(id)?.ballots())
    }

    async fn add_invites(&self, poll: PollId, invites: &[Invite]) -> Result<()> {
        let mut journal = self.lock().await;
        polling_core::invite_room(journal.kept(poll)?.invite_count(), invites.len())?;
        let entry = Entry::InvitesAdded {
            poll_id: poll,
            invites: invites.iter().map(Into::into).collect(),
        };
        journal.record(entry).await
    }

    async fn invites(&self, poll: PollId) -> Result<Vec<Invite>> {
        Ok(self.lock().await.kept(poll)?.invites())
    }

    async fn revoke_invite(
        &self,
        poll: PollId,
        voter: &VoterId,
        at: OffsetDateTime,
    ) -> Result<Invite> {
        let mut journal = self.lock().await;
        let invite = journal
            .kept(poll)?
            .invite(voter)
            .ok_or(PollError::InviteNotFound)?;
        if invite.used {
            return Err(PollError::InviteUsed);
        }
        if invite.revoked_at.is_none() {
            let entry = Entry::InviteRevoked {
                poll_id: poll,
                voter: voter.clone(),
                at,
            };
            journal.record(entry).await?;
        }
        journal
            .kept(poll)?
            .invite(voter)
            .ok_or(PollError::InviteNotFound)
    }
}

//! Building blocks for [`PollStore`](crate::PollStore) implementations that
//! record ballots in batches (group commit).
//!
//! | piece | what |
//! |---|---|
//! | [`Plan`] | what a batch of ballots does to one poll: each ballot decided exactly as if cast alone, in the batch's order |
//! | [`BatchWriter`] | the store's side: one poll's batch in one transaction, one outcome per ballot |
//! | [`Coalescer`] | group commit per poll over a [`BatchWriter`]: a queue, one writer task, a batch limit and a queue bound |
//! | [`SecretBatch`], [`SecretRows`] | a secret poll's batch: the voters' keyed hashes to look up, and the rows to write without a link |
//! | [`LiveBallots`] | the ballots of a batch not [abandoned](crate::Ballot::abandon) once the writer holds the poll's lock |
//! | [`Eligible`], [`check_eligible`] | the ballots of a batch whose voters may vote in the poll (invite-only polls take their invites' voters only) |
//! | [`invite_hashes`], [`mark_used`] | which invites of a secret poll voted, told by their participations (its ballots name no voter) |
//! | [`abandoned_error`], [`batch_failure`] | the outcomes a writer gives an abandoned ballot and every ballot of a failed batch |
//!
//! The PostgreSQL and SQLite stores are built from these: their writers lock
//! the poll, read its sums and the batch voters' stored ballots, call
//! [`Plan::decide`], write the plan and commit.
//!
//! # Example
//!
//! A writer keeping one poll in memory, behind a coalescer:
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//!
//! use polling_core::store_kit::{BatchWriter, Coalescer, LiveBallots, Plan};
//! use polling_core::{
//!     Ballot, CastOutcome, ManageToken, NewPoll, OptionId, Poll, PollDraft, PollError, PollId,
//!     Result, Tally, VoteReceipt, VoterId,
//! };
//!
//! /// One poll, its sums and version, and every voter's ballot.
//! struct MemoryWriter {
//!     poll: Poll,
//!     state: Mutex<(Tally, u64, HashMap<VoterId, VoteReceipt>)>,
//! }
//!
//! impl BatchWriter for MemoryWriter {
//!     async fn write_batch(&self, poll_id: PollId, ballots: &[Ballot]) -> Vec<Result<CastOutcome>> {
//!         if poll_id != self.poll.id {
//!             return ballots.iter().map(|_| Err(PollError::NotFound)).collect();
//!         }
//!         // The lock a database store takes on the poll.
//!         let mut state = self.state.lock().unwrap();
//!         let (tally, version, stored) = &mut *state;
//!         let live = LiveBallots::of(ballots);
//!         let earlier = live
//!             .ballots()
//!             .iter()
//!             .filter_map(|b| Some((b.voter().clone(), stored.get(b.voter())?.clone())))
//!             .collect();
//!         let plan = Plan::decide(&self.poll, tally.clone(), *version, earlier, live.ballots(), polling_core::now());
//!         // "Write" the plan, then answer in the batch's order.
//!         for (voter, receipt) in plan.new_ballots.iter().chain(&plan.changed_ballots) {
//!             stored.insert(voter.clone(), receipt.clone());
//!         }
//!         (*tally, *version) = (plan.tally, plan.results.version);
//!         live.outcomes(plan.outcomes)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<()> {
//! let now = polling_core::now();
//! let draft = PollDraft {
//!     question: "Tabs or spaces?".into(),
//!     options: vec!["Tabs".into(), "Spaces".into()],
//!     ..PollDraft::default()
//! };
//! let poll = Poll::open(NewPoll::new(draft, now)?, ManageToken::generate().hash(), now);
//! let writer = MemoryWriter {
//!     state: Mutex::new((Tally::empty(&poll), 0, HashMap::new())),
//!     poll: poll.clone(),
//! };
//! let coalescer = Coalescer::new(writer, 512, 4096);
//!
//! let voter = VoterId::try_from("ada".to_owned()).unwrap();
//! let ballot = Ballot::new(poll.id, voter, vec![OptionId::new(1)])?;
//! let outcome = coalescer.cast(&ballot).await?;
//! assert!(outcome.is_new());
//! assert_eq!(outcome.results.votes(OptionId::new(1)), Some(1));
//! // The same ballot again is a replay, not a second vote.
//! assert!(!coalescer.cast(&ballot).await?.is_new());
//! # Ok(())
//! # }
//! ```

mod batch_writer;
mod coalescer;
mod eligible;
mod live_ballots;
mod plan;
mod secret;

pub use batch_writer::{abandoned_error, batch_failure, BatchWriter};
pub use coalescer::Coalescer;
pub use eligible::{check_eligible, invite_voters, Eligible};
pub use live_ballots::LiveBallots;
pub use plan::Plan;
pub use secret::{invite_hashes, mark_used, SecretBatch, SecretRows};

//! [`Ballot`]: one voter's marks in one poll.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{Marks, OptionId, PollId, VoterId};
use crate::error::Result;

/// One voter's marks in one poll: choices, a ranking or scores ([`Marks`]).
///
/// A ballot always marks at least one option and never the same option
/// twice; choices are kept sorted, so two ballots with the same choices in
/// a different order are equal. Whether the marks fit the poll (its method
/// and options) is checked by the store, with
/// [`Poll::check_ballot`](crate::Poll::check_ballot).
///
/// A ballot also carries whether its caller has [abandoned](Ballot::abandon)
/// it (shared by its clones, and not part of its value: equality and hashing
/// ignore it), so that a store which queues ballots never records one whose
/// caller gave up before it entered a transaction.
#[derive(Clone, Debug)]
pub struct Ballot {
    poll_id: PollId,
    voter: VoterId,
    marks: Marks,
    /// Set once the caller no longer waits for the outcome; shared by clones.
    abandoned: Arc<AtomicBool>,
}

impl PartialEq for Ballot {
    fn eq(&self, other: &Self) -> bool {
        self.poll_id == other.poll_id && self.voter == other.voter && self.marks == other.marks
    }
}

impl Eq for Ballot {}

impl Hash for Ballot {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.poll_id.hash(state);
        self.voter.hash(state);
        self.marks.hash(state);
    }
}

impl Ballot {
    /// A ballot by `voter` in poll `poll_id`.
    ///
    /// # Errors
    ///
    /// [`PollError::InvalidChoice`](crate::PollError::InvalidChoice) when `choices` is empty, names an option
    /// twice, or names more options than any poll has.
    ///
    /// # Example
    ///
    /// ```
    /// use polling_core::{Ballot, OptionId, PollId, VoterId};
    ///
    /// let poll = PollId::generate();
    /// let voter = VoterId::generate();
    /// let a = Ballot::new(poll, voter.clone(), vec![OptionId::new(2), OptionId::new(0)])?;
    /// let b = Ballot::new(poll, voter, vec![OptionId::new(0), OptionId::new(2)])?;
    /// assert_eq!(a, b);
    /// # Ok::<(), polling_core::PollError>(())
    /// ```
    pub fn new(poll_id: PollId, voter: VoterId, choices: Vec<OptionId>) -> Result<Self> {
        Ok(Self::with_marks(poll_id, voter, Marks::choices(choices)?))
    }

    /// A ballot by `voter` in poll `poll_id` with any [`Marks`]: a ranking
    /// for a ranked poll, scores for a STAR poll.
    ///
    /// # Example
    ///
    /// ```
    /// use polling_core::{Ballot, Marks, PollId, VoterId};
    ///
    /// let scores = Marks::scores(vec![5, 0, 3])?;
    /// let ballot = Ballot::with_marks(PollId::generate(), VoterId::generate(), scores.clone());
    /// assert_eq!(ballot.marks(), &scores);
    /// # Ok::<(), polling_core::PollError>(())
    /// ```
    pub fn with_marks(poll_id: PollId, voter: VoterId, marks: Marks) -> Self {
        Self {
            poll_id,
            voter,
            marks,
            abandoned: Arc::default(),
        }
    }

    /// The poll this ballot is for.
    pub fn poll_id(&self) -> PollId {
        self.poll_id
    }

    /// Who cast it.
    pub fn voter(&self) -> &VoterId {
        &self.voter
    }

    /// What the voter marked.
    pub fn marks(&self) -> &Marks {
        &self.marks
    }

    /// Marks the ballot (and every clone of it) abandoned: its caller gave
    /// up waiting (it timed out, hung up or was shed).
    ///
    /// A store that has not yet started recording the ballot must then never
    /// record it, and answers it [`PollError::Unavailable`](crate::PollError::Unavailable); one already
    /// inside a transaction finishes it, and the voter's retry finds it.
    /// Layers whose work follows a commit (cache, broadcast) call this when
    /// their caller drops them, and finish that work in a task of their own.
    ///
    /// # Example
    ///
    /// ```
    /// use polling_core::{Ballot, OptionId, PollId, VoterId};
    ///
    /// let ballot = Ballot::new(PollId::generate(), VoterId::generate(), vec![OptionId::new(0)])?;
    /// let queued = ballot.clone();
    /// ballot.abandon();
    /// assert!(queued.is_abandoned());
    /// # Ok::<(), polling_core::PollError>(())
    /// ```
    pub fn abandon(&self) {
        self.abandoned.store(true, Ordering::SeqCst);
    }

    /// Whether [`abandon`](Ballot::abandon) was called on this ballot or a
    /// clone of it.
    pub fn is_abandoned(&self) -> bool {
        self.abandoned.load(Ordering::SeqCst)
    }

    /// A handle that [abandons](Ballot::abandon) this ballot and its clones
    /// later, without keeping a copy of its voter and choices: what a layer's
    /// response future keeps on every vote, for the rare caller that drops it.
    pub(crate) fn abandoner(&self) -> Abandoner {
        Abandoner(Arc::clone(&self.abandoned))
    }
}

/// Abandons one [`Ballot`] and its clones; see [`Ballot::abandoner`].
#[derive(Clone, Debug)]
pub(crate) struct Abandoner(Arc<AtomicBool>);

impl Abandoner {
    /// Does what [`Ballot::abandon`] does to the ballot this came from.
    pub(crate) fn abandon(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(raw: &[u32]) -> Vec<OptionId> {
        raw.iter().copied().map(OptionId::new).collect()
    }

    #[test]
    fn empty_and_repeated_choices_are_refused() {
        let (poll, voter) = (PollId::generate(), VoterId::generate());
        assert!(Ballot::new(poll, voter.clone(), vec![]).is_err());
        assert!(Ballot::new(poll, voter.clone(), ids(&[1, 0, 1])).is_err());
        assert!(Ballot::new(poll, voter, ids(&(0..21).collect::<Vec<_>>())).is_err());
    }

    #[test]
    fn abandoning_reaches_every_clone_but_not_equality() {
        let ballot = Ballot::new(PollId::generate(), VoterId::generate(), ids(&[0])).unwrap();
        let clone = ballot.clone();
        assert!(!clone.is_abandoned());
        ballot.abandon();
        assert!(clone.is_abandoned());
        let fresh = Ballot::new(ballot.poll_id(), ballot.voter().clone(), ids(&[0])).unwrap();
        assert!(!fresh.is_abandoned());
        assert_eq!(fresh, ballot);
    }

    #[test]
    fn choices_are_sorted() {
        let ballot = Ballot::new(PollId::generate(), VoterId::generate(), ids(&[3, 1, 2])).unwrap();
        assert_eq!(ballot.marks(), &Marks::Choices(ids(&[1, 2, 3])));
    }
}

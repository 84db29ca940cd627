//! [`Poll`]: a question with its options, as stored.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{
    Ballot, Eligibility, ManageToken, Marks, Method, NewPoll, OptionId, PollId, TokenHash,
    Visibility,
};
use crate::error::{PollError, Result};

/// One answer voters can choose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollOption {
    /// Its position in the poll, starting at 0.
    pub id: OptionId,
    /// What voters read.
    pub text: String,
}

/// A poll as stores keep it.
///
/// Fields are public so that stores can build one from their rows; new polls
/// come from [`Poll::open`], which takes a validated [`NewPoll`]. The
/// `manage_token_hash` is part of the record: don't serialize a `Poll` to a
/// client, map it to a view (as `polling-server` does).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Poll {
    /// Time-ordered id.
    pub id: PollId,
    /// The question, trimmed.
    pub question: String,
    /// The options, in display order; `options[i].id == OptionId::new(i)`.
    pub options: Vec<PollOption>,
    /// How ballots are marked and counted.
    #[serde(default)]
    pub method: Method,
    /// Whether a ballot may mark more than one option (true for every
    /// method but single-choice plurality).
    pub multiple: bool,
    /// The most options one plurality ballot may choose (1 for single
    /// choice; the option count for the other methods).
    pub max_choices: u32,
    /// When voting ends by itself, if ever.
    #[serde(with = "time::serde::rfc3339::option")]
    pub closes_at: Option<OffsetDateTime>,
    /// When the owner closed it, if they did.
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The hash of the owner's manage token; the token itself is never stored.
    pub manage_token_hash: TokenHash,
    /// Who sees the counts, and when.
    #[serde(default)]
    pub visibility: Visibility,
    /// Whether a voter may replace their ballot while the poll is open.
    #[serde(default)]
    pub allow_vote_change: bool,
    /// Who may vote: anyone, or the holders of its invite codes.
    #[serde(default)]
    pub eligibility: Eligibility,
    /// Whether the poll is secret: who voted and what they voted are
    /// stored apart (see [`secrecy`](crate::domain::secrecy)); never with
    /// `allow_vote_change`.
    #[serde(default)]
    pub secret: bool,
}

impl Poll {
    /// Opens `new` as a poll with a fresh id, created `now`, owned by whoever
    /// holds the token behind `manage_token_hash`.
    pub fn open(new: NewPoll, manage_token_hash: TokenHash, now: OffsetDateTime) -> Self {
        let options = new
            .options()
            .iter()
            .enumerate()
            .map(|(i, text)| PollOption {
                id: OptionId::new(u32::try_from(i).expect("at most MAX_OPTIONS")),
                text: text.clone(),
            })
            .collect();
        Self {
            id: PollId::generate(),
            question: new.question().to_owned(),
            options,
            method: new.method(),
            multiple: new.multiple(),
            max_choices: new.max_choices(),
            closes_at: new.closes_at(),
            closed_at: None,
            created_at: super::truncate_to_micros(now),
            manage_token_hash,
            visibility: new.visibility(),
            allow_vote_change: new.allow_vote_change(),
            eligibility: new.eligibility(),
            secret: new.secret(),
        }
    }

    /// Whether voting has ended as of `now`: closed by the owner, or past `closes_at`.
    pub fn is_closed_at(&self, now: OffsetDateTime) -> bool {
        self.closed_at.is_some() || self.closes_at.is_some_and(|t| t <= now)
    }

    /// Whether `token` is this poll's manage token: its presenter owns the
    /// poll (closes, deletes and exports it, and always sees its counts).
    pub fn is_managed_by(&self, token: &ManageToken) -> bool {
        self.manage_token_hash.verifies(token)
    }

    /// Checks `ballot` against this poll's method, options and choice rule.
    ///
    /// # Errors
    ///
    /// [`PollError::InvalidChoice`] for marks of another method's shape, an
    /// unknown option, too many choices, or scores not one per option.
    pub fn check_ballot(&self, ballot: &Ballot) -> Result<()> {
        let marks = ballot.marks();
        if !marks.fits(self.method) {
            return Err(PollError::invalid_choice(format!(
                "this is a {} poll: a ballot is {}, not {:?}",
                self.method,
                self.method.ballot_shape(),
                marks.key()
            )));
        }
        if let Some(unknown) = marks
            .options()
            .iter()
            .find(|c| c.index() >= self.options.len())
        {
            return Err(PollError::invalid_choice(format!(
                "option {unknown} does not exist in this poll"
            )));
        }
        match marks {
            Marks::Choices(chosen) if chosen.len() > self.max_choices as usize => {
                let chosen = chosen.len();
                Err(PollError::invalid_choice(if self.multiple {
                    format!(
                        "at most {} options may be chosen, not {chosen}",
                        self.max_choices
                    )
                } else {
                    format!("this poll takes one choice, not {chosen}")
                }))
            }
            Marks::Scores(scores) if scores.len() != self.options.len() => {
                Err(PollError::invalid_choice(format!(
                    "a ballot scores each of the {} options, not {}",
                    self.options.len(),
                    scores.len()
                )))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;
    use crate::{ManageToken, PollDraft, VoterId};

    /// A poll of options a, b and c opened from `draft` (its question and
    /// options set here).
    fn open(draft: PollDraft) -> Poll {
        let draft = PollDraft {
            question: "Q".into(),
            options: vec!["a".into(), "b".into(), "c".into()],
            ..draft
        };
        let now = crate::now();
        Poll::open(
            NewPoll::new(draft, now).unwrap(),
            ManageToken::generate().hash(),
            now,
        )
    }

    fn poll(multiple: bool, max_choices: Option<u32>) -> Poll {
        open(PollDraft {
            multiple,
            max_choices,
            ..PollDraft::default()
        })
    }

    fn ballot(poll: &Poll, choices: &[u32]) -> Ballot {
        let choices = choices.iter().copied().map(OptionId::new).collect();
        Ballot::new(poll.id, VoterId::generate(), choices).unwrap()
    }

    fn with_method(method: Method) -> Poll {
        open(PollDraft {
            method,
            ..PollDraft::default()
        })
    }

    fn marked(poll: &Poll, marks: Marks) -> Ballot {
        Ballot::with_marks(poll.id, VoterId::generate(), marks)
    }

    #[test]
    fn each_method_takes_its_own_shape_of_ballot() {
        let ids = |raw: &[u32]| raw.iter().copied().map(OptionId::new).collect::<Vec<_>>();
        let approval = with_method(Method::Approval);
        assert!(approval
            .check_ballot(&ballot(&approval, &[0, 1, 2]))
            .is_ok());
        let ranked = with_method(Method::Ranked);
        let ranking = Marks::ranking(ids(&[2, 0])).unwrap();
        assert!(ranked
            .check_ballot(&marked(&ranked, ranking.clone()))
            .is_ok());
        let unknown = Marks::ranking(ids(&[3])).unwrap();
        assert!(ranked.check_ballot(&marked(&ranked, unknown)).is_err());
        let Err(PollError::InvalidChoice(message)) = ranked.check_ballot(&ballot(&ranked, &[0]))
        else {
            panic!("choices on a ranked poll must be refused");
        };
        assert!(message.contains("ranking"), "{message}");
        let star = with_method(Method::Star);
        let scores = Marks::scores(vec![5, 0, 3]).unwrap();
        assert!(star.check_ballot(&marked(&star, scores)).is_ok());
        let short = Marks::scores(vec![5, 0]).unwrap();
        assert!(star.check_ballot(&marked(&star, short)).is_err());
        assert!(star.check_ballot(&marked(&star, ranking)).is_err());
    }

    #[test]
    fn options_are_numbered_in_order() {
        let p = poll(false, None);
        let ids: Vec<u32> = p.options.iter().map(|o| o.id.get()).collect();
        assert_eq!(ids, [0, 1, 2]);
    }

    #[test]
    fn single_choice_polls_take_one_known_option() {
        let p = poll(false, None);
        assert!(p.check_ballot(&ballot(&p, &[2])).is_ok());
        assert!(matches!(
            p.check_ballot(&ballot(&p, &[3])),
            Err(PollError::InvalidChoice(_))
        ));
        assert!(matches!(
            p.check_ballot(&ballot(&p, &[0, 1])),
            Err(PollError::InvalidChoice(_))
        ));
    }

    #[test]
    fn multiple_choice_polls_respect_max_choices() {
        let p = poll(true, Some(2));
        assert!(p.check_ballot(&ballot(&p, &[0, 2])).is_ok());
        assert!(matches!(
            p.check_ballot(&ballot(&p, &[0, 1, 2])),
            Err(PollError::InvalidChoice(_))
        ));
    }

    #[test]
    fn a_poll_is_closed_by_its_owner_or_by_its_clock() {
        let mut p = poll(false, None);
        let now = crate::now();
        assert!(!p.is_closed_at(now));
        p.closes_at = Some(now + Duration::seconds(1));
        assert!(!p.is_closed_at(now));
        assert!(p.is_closed_at(now + Duration::seconds(1)));
        p.closes_at = None;
        p.closed_at = Some(now);
        assert!(p.is_closed_at(now));
    }
}

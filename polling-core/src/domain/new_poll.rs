//! [`PollDraft`] (what a creator asks for) and [`NewPoll`] (a draft that passed validation).

use std::collections::HashSet;

use serde::Deserialize;
use time::OffsetDateTime;

use super::limits::{MAX_OPTIONS, MAX_OPTION_CHARS, MAX_QUESTION_CHARS, MIN_OPTIONS};
use super::truncate_to_micros;
use super::{Eligibility, Method, Visibility, MAX_INVITES_PER_REQUEST};
use crate::error::{PollError, Result};

/// A poll as a creator asks for it, not yet validated.
///
/// This is also the JSON body of `POST /api/polls`; unknown fields are refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollDraft {
    /// The question voters answer.
    pub question: String,
    /// The options, in display order.
    pub options: Vec<String>,
    /// How ballots are marked and counted (default: plurality).
    #[serde(default)]
    pub method: Method,
    /// Plurality only: whether a voter may choose more than one option.
    #[serde(default)]
    pub multiple: bool,
    /// Plurality with `multiple` only: the most options one ballot may
    /// choose (default: all).
    #[serde(default)]
    pub max_choices: Option<u32>,
    /// When voting ends by itself, if ever.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub closes_at: Option<OffsetDateTime>,
    /// Who sees the counts, and when (default: everyone, always).
    #[serde(default)]
    pub visibility: Visibility,
    /// Whether a voter may replace their ballot while the poll is open.
    #[serde(default)]
    pub allow_vote_change: bool,
    /// Who may vote (default: anyone with the link).
    #[serde(default)]
    pub eligibility: Eligibility,
    /// Invite-only polls: how many invite codes to issue with the poll, 0
    /// to [`MAX_INVITES_PER_REQUEST`] (default 0; more can be added later).
    #[serde(default)]
    pub invites: Option<u32>,
    /// Whether the ballot is secret: who voted is stored apart from what
    /// they voted (see [`secrecy`](crate::domain::secrecy)). Refused with
    /// `allow_vote_change`.
    #[serde(default)]
    pub secret: bool,
}

/// A validated poll, ready to be opened with [`Poll::open`](crate::Poll::open).
///
/// Texts are trimmed; the limits are in the [module docs](crate::domain).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPoll {
    question: String,
    options: Vec<String>,
    method: Method,
    multiple: bool,
    max_choices: u32,
    closes_at: Option<OffsetDateTime>,
    visibility: Visibility,
    allow_vote_change: bool,
    eligibility: Eligibility,
    invites: u32,
    secret: bool,
}

impl NewPoll {
    /// Validates `draft` as of `now`.
    ///
    /// # Errors
    ///
    /// [`PollError::InvalidPoll`] naming the first field at fault.
    ///
    /// # Example
    ///
    /// ```
    /// use polling_core::{NewPoll, PollDraft};
    ///
    /// let draft = PollDraft {
    ///     question: "  Tabs or spaces? ".into(),
    ///     options: vec!["Tabs".into(), "Spaces".into()],
    ///     ..PollDraft::default()
    /// };
    /// let poll = NewPoll::new(draft, polling_core::now())?;
    /// assert_eq!(poll.question(), "Tabs or spaces?");
    /// assert_eq!(poll.max_choices(), 1);
    /// # Ok::<(), polling_core::PollError>(())
    /// ```
    pub fn new(draft: PollDraft, now: OffsetDateTime) -> Result<Self> {
        let question = draft.question.trim().to_owned();
        check_text("question", "the question", &question, MAX_QUESTION_CHARS)?;

        if draft.options.len() < MIN_OPTIONS || draft.options.len() > MAX_OPTIONS {
            return Err(PollError::invalid_poll(
                "options",
                format!(
                    "a poll needs {MIN_OPTIONS} to {MAX_OPTIONS} options, not {}",
                    draft.options.len()
                ),
            ));
        }
        let mut seen = HashSet::with_capacity(draft.options.len());
        let mut options = Vec::with_capacity(draft.options.len());
        for (i, option) in draft.options.iter().enumerate() {
            let option = option.trim();
            check_text(
                "options",
                &format!("option {}", i + 1),
                option,
                MAX_OPTION_CHARS,
            )?;
            if !seen.insert(option.to_lowercase()) {
                return Err(PollError::invalid_poll(
                    "options",
                    format!("option {} repeats an earlier option: {option:?}", i + 1),
                ));
            }
            options.push(option.to_owned());
        }

        let option_count = u32::try_from(options.len()).expect("at most MAX_OPTIONS");
        if draft.method != Method::Plurality && (draft.multiple || draft.max_choices.is_some()) {
            return Err(PollError::invalid_poll(
                if draft.multiple { "multiple" } else { "max_choices" },
                format!(
                    "multiple and max_choices are for plurality polls; a {} ballot marks any number of options",
                    draft.method
                ),
            ));
        }
        let multiple = draft.multiple || draft.method != Method::Plurality;
        let max_choices = match (multiple, draft.max_choices) {
            (false, None | Some(1)) => 1,
            (false, Some(_)) => {
                return Err(PollError::invalid_poll(
                    "max_choices",
                    "max_choices other than 1 needs multiple: true",
                ))
            }
            (true, None) => option_count,
            (true, Some(n)) if (1..=option_count).contains(&n) => n,
            (true, Some(n)) => {
                return Err(PollError::invalid_poll(
                    "max_choices",
                    format!("max_choices must be between 1 and {option_count}, not {n}"),
                ))
            }
        };

        let closes_at = draft.closes_at.map(truncate_to_micros);
        if closes_at.is_some_and(|t| t <= now) {
            return Err(PollError::invalid_poll(
                "closes_at",
                "closes_at must be in the future",
            ));
        }

        if draft.secret && draft.allow_vote_change {
            return Err(PollError::SecretVoteChange);
        }
        let invites = check_invites(draft.eligibility, draft.invites)?;

        Ok(Self {
            question,
            options,
            method: draft.method,
            multiple,
            max_choices,
            closes_at,
            visibility: draft.visibility,
            allow_vote_change: draft.allow_vote_change,
            eligibility: draft.eligibility,
            invites,
            secret: draft.secret,
        })
    }

    /// The trimmed question.
    pub fn question(&self) -> &str {
        &self.question
    }

    /// The trimmed options, in display order.
    pub fn options(&self) -> &[String] {
        &self.options
    }

    /// How ballots are marked and counted.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Whether a ballot may mark more than one option.
    pub fn multiple(&self) -> bool {
        self.multiple
    }

    /// The most options one ballot may choose (1 for single choice).
    pub fn max_choices(&self) -> u32 {
        self.max_choices
    }

    /// When voting ends by itself, if ever.
    pub fn closes_at(&self) -> Option<OffsetDateTime> {
        self.closes_at
    }

    /// Who sees the counts, and when.
    pub fn visibility(&self) -> Visibility {
        self.visibility
    }

    /// Whether a voter may replace their ballot while the poll is open.
    pub fn allow_vote_change(&self) -> bool {
        self.allow_vote_change
    }

    /// Who may vote.
    pub fn eligibility(&self) -> Eligibility {
        self.eligibility
    }

    /// How many invite codes to issue with the poll (0 unless invite-only).
    pub fn invites(&self) -> u32 {
        self.invites
    }

    /// Whether the poll's ballot is secret.
    pub fn secret(&self) -> bool {
        self.secret
    }
}

/// The number of invite codes a draft asks for: only invite-only polls take
/// some, at most [`MAX_INVITES_PER_REQUEST`].
fn check_invites(eligibility: Eligibility, invites: Option<u32>) -> Result<u32> {
    match (eligibility, invites) {
        (Eligibility::Anyone, None) => Ok(0),
        (Eligibility::Anyone, Some(_)) => Err(PollError::invalid_poll(
            "invites",
            "invites are for invite-only polls (eligibility: invite)",
        )),
        (Eligibility::Invite, None) => Ok(0),
        (Eligibility::Invite, Some(n)) if n <= MAX_INVITES_PER_REQUEST => Ok(n),
        (Eligibility::Invite, Some(n)) => Err(PollError::invalid_poll(
            "invites",
            format!("a poll is created with at most {MAX_INVITES_PER_REQUEST} invites, not {n}"),
        )),
    }
}

fn check_text(field: &'static str, what: &str, text: &str, max_chars: usize) -> Result<()> {
    if text.is_empty() {
        return Err(PollError::invalid_poll(field, format!("{what} is empty")));
    }
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(PollError::invalid_poll(
            field,
            format!("{what} has {chars} characters, more than the {max_chars} allowed"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(PollError::invalid_poll(
            field,
            format!("{what} contains control characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;

    fn draft(question: &str, options: &[&str]) -> PollDraft {
        PollDraft {
            question: question.into(),
            options: options.iter().map(|o| (*o).to_owned()).collect(),
            ..PollDraft::default()
        }
    }

    fn field_of(result: Result<NewPoll>) -> &'static str {
        match result {
            Err(PollError::InvalidPoll { field, .. }) => field,
            other => panic!("expected invalid_poll, got {other:?}"),
        }
    }

    #[test]
    fn texts_are_trimmed() {
        let poll = NewPoll::new(draft(" Q? ", &[" a", "b "]), crate::now()).unwrap();
        assert_eq!(poll.question(), "Q?");
        assert_eq!(poll.options(), ["a", "b"]);
        assert!(!poll.multiple());
    }

    #[test]
    fn question_limits_are_enforced() {
        let now = crate::now();
        assert_eq!(
            field_of(NewPoll::new(draft("   ", &["a", "b"]), now)),
            "question"
        );
        let long = "é".repeat(MAX_QUESTION_CHARS + 1);
        assert_eq!(
            field_of(NewPoll::new(draft(&long, &["a", "b"]), now)),
            "question"
        );
        let exact = "é".repeat(MAX_QUESTION_CHARS);
        assert!(NewPoll::new(draft(&exact, &["a", "b"]), now).is_ok());
        assert_eq!(
            field_of(NewPoll::new(draft("a\u{0}b", &["a", "b"]), now)),
            "question"
        );
    }

    #[test]
    fn option_limits_are_enforced() {
        let now = crate::now();
        assert_eq!(field_of(NewPoll::new(draft("Q", &["a"]), now)), "options");
        let many: Vec<String> = (0..=MAX_OPTIONS).map(|i| i.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(field_of(NewPoll::new(draft("Q", &many), now)), "options");
        assert!(NewPoll::new(draft("Q", &many[..MAX_OPTIONS]), now).is_ok());
        let long = "x".repeat(MAX_OPTION_CHARS + 1);
        assert_eq!(
            field_of(NewPoll::new(draft("Q", &["a", &long]), now)),
            "options"
        );
        assert_eq!(
            field_of(NewPoll::new(draft("Q", &["a", " "]), now)),
            "options"
        );
    }

    #[test]
    fn duplicate_options_after_trimming_are_refused() {
        let result = NewPoll::new(draft("Q", &["Yes", " yes "]), crate::now());
        assert_eq!(field_of(result), "options");
    }

    #[test]
    fn max_choices_needs_multiple_and_a_sane_value() {
        let now = crate::now();
        let mut d = draft("Q", &["a", "b", "c"]);
        d.max_choices = Some(2);
        assert_eq!(field_of(NewPoll::new(d.clone(), now)), "max_choices");
        d.multiple = true;
        assert_eq!(NewPoll::new(d.clone(), now).unwrap().max_choices(), 2);
        d.max_choices = Some(4);
        assert_eq!(field_of(NewPoll::new(d.clone(), now)), "max_choices");
        d.max_choices = Some(0);
        assert_eq!(field_of(NewPoll::new(d.clone(), now)), "max_choices");
        d.max_choices = None;
        assert_eq!(NewPoll::new(d, now).unwrap().max_choices(), 3);
    }

    #[test]
    fn closes_at_must_be_in_the_future() {
        let now = crate::now();
        let mut d = draft("Q", &["a", "b"]);
        d.closes_at = Some(now);
        assert_eq!(field_of(NewPoll::new(d.clone(), now)), "closes_at");
        d.closes_at = Some(now + Duration::minutes(5));
        assert!(NewPoll::new(d, now).is_ok());
    }

    #[test]
    fn visibility_and_vote_change_default_off_and_are_kept() {
        let json = r#"{"question":"Q","options":["a","b"]}"#;
        let d: PollDraft = serde_json::from_str(json).unwrap();
        let poll = NewPoll::new(d, crate::now()).unwrap();
        assert_eq!(poll.visibility(), Visibility::Always);
        assert!(!poll.allow_vote_change());
        let json = r#"{"question":"Q","options":["a","b"],"visibility":"after_close","allow_vote_change":true}"#;
        let d: PollDraft = serde_json::from_str(json).unwrap();
        let poll = NewPoll::new(d, crate::now()).unwrap();
        assert_eq!(poll.visibility(), Visibility::AfterClose);
        assert!(poll.allow_vote_change());
        let json = r#"{"question":"Q","options":["a","b"],"visibility":"never"}"#;
        assert!(serde_json::from_str::<PollDraft>(json).is_err());
    }

    #[test]
    fn a_secret_poll_is_kept_and_refuses_vote_changes() {
        let now = crate::now();
        let secret = PollDraft {
            secret: true,
            ..draft("Q", &["a", "b"])
        };
        assert!(NewPoll::new(secret.clone(), now).unwrap().secret());
        assert!(!NewPoll::new(draft("Q", &["a", "b"]), now).unwrap().secret());
        let changing = PollDraft {
            allow_vote_change: true,
            ..secret
        };
        let refused = NewPoll::new(changing, now).unwrap_err();
        assert_eq!(refused.code(), "secret_vote_change");
    }

    #[test]
    fn methods_other_than_plurality_take_no_choice_limits() {
        let now = crate::now();
        let json = r#"{"question":"Q","options":["a","b","c"],"method":"ranked"}"#;
        let ranked = NewPoll::new(serde_json::from_str(json).unwrap(), now).unwrap();
        assert_eq!(ranked.method(), Method::Ranked);
        assert!(ranked.multiple());
        assert_eq!(ranked.max_choices(), 3);
        let mut d = draft("Q", &["a", "b"]);
        d.method = Method::Star;
        d.max_choices = Some(1);
        assert_eq!(field_of(NewPoll::new(d.clone(), now)), "max_choices");
        d.max_choices = None;
        d.multiple = true;
        assert_eq!(field_of(NewPoll::new(d, now)), "multiple");
        let json = r#"{"question":"Q","options":["a","b"],"method":"borda"}"#;
        assert!(serde_json::from_str::<PollDraft>(json).is_err());
    }

    #[test]
    fn invites_are_for_invite_only_polls_and_bounded() {
        let now = crate::now();
        let json = r#"{"question":"Q","options":["a","b"],"eligibility":"invite","invites":3}"#;
        let poll = NewPoll::new(serde_json::from_str(json).unwrap(), now).unwrap();
        assert_eq!(poll.eligibility(), Eligibility::Invite);
        assert_eq!(poll.invites(), 3);
        let mut d = draft("Q", &["a", "b"]);
        assert_eq!(
            NewPoll::new(d.clone(), now).unwrap().eligibility(),
            Eligibility::Anyone
        );
        d.invites = Some(1);
        assert_eq!(field_of(NewPoll::new(d.clone(), now)), "invites");
        d.eligibility = Eligibility::Invite;
        d.invites = Some(MAX_INVITES_PER_REQUEST);
        assert!(NewPoll::new(d.clone(), now).is_ok());
        d.invites = Some(MAX_INVITES_PER_REQUEST + 1);
        assert_eq!(field_of(NewPoll::new(d.clone(), now)), "invites");
        d.invites = None;
        assert_eq!(NewPoll::new(d, now).unwrap().invites(), 0);
    }

    #[test]
    fn drafts_refuse_unknown_fields() {
        let json = r#"{"question":"Q","options":["a","b"],"colour":"red"}"#;
        assert!(serde_json::from_str::<PollDraft>(json).is_err());
        let json = r#"{"question":"Q","options":["a","b"],"closes_at":"2999-01-01T00:00:00Z"}"#;
        assert!(serde_json::from_str::<PollDraft>(json)
            .unwrap()
            .closes_at
            .is_some());
    }
}

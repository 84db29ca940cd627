//! [`Marks`]: what a voter marked on a ballot, in the shape of its poll's
//! [`Method`].

use serde::{Deserialize, Serialize};

use super::limits::MAX_OPTIONS;
use super::{Method, OptionId};
use crate::error::{PollError, Result};

/// The highest score a STAR ballot gives an option (the lowest is 0).
pub const MAX_SCORE: u8 = 5;

/// What a voter marked, in one of three shapes; on the wire (a vote, a
/// receipt) it is one key: `choices`, `ranking` or `scores`.
///
/// A value always holds at least one mark and obeys its shape's rules, by
/// construction and by deserialization alike; whether it fits a given poll
/// (its method, its options, `max_choices`) is checked by
/// [`Poll::check_ballot`](crate::Poll::check_ballot).
///
/// # Example
///
/// ```
/// use polling_core::{Marks, OptionId};
///
/// let marks: Marks = serde_json::from_str(r#"{"ranking": [2, 0]}"#)?;
/// assert_eq!(marks, Marks::ranking(vec![OptionId::new(2), OptionId::new(0)]).unwrap());
/// assert!(serde_json::from_str::<Marks>(r#"{"ranking": [1, 1]}"#).is_err());
/// assert!(serde_json::from_str::<Marks>(r#"{"scores": [6, 0]}"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "RawMarks")]
pub enum Marks {
    /// Plurality and approval: the chosen options, sorted, no repeats.
    Choices(Vec<OptionId>),
    /// Ranked: options, most preferred first, no repeats; a partial
    /// ranking leaves the others unranked.
    Ranking(Vec<OptionId>),
    /// STAR: one score from 0 to [`MAX_SCORE`] per option, in option order.
    Scores(Vec<u8>),
}

impl Marks {
    /// Chosen options (plurality, approval), kept sorted.
    ///
    /// # Errors
    ///
    /// [`PollError::InvalidChoice`] when `choices` is empty, names an option
    /// twice, or names more options than any poll has.
    pub fn choices(mut choices: Vec<OptionId>) -> Result<Self> {
        check_count("choose", choices.len())?;
        choices.sort_unstable();
        if let Some(pair) = choices.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(PollError::invalid_choice(format!(
                "option {} is chosen more than once",
                pair[0]
            )));
        }
        Ok(Self::Choices(choices))
    }

    /// A ranking (ranked polls), most preferred first.
    ///
    /// # Errors
    ///
    /// [`PollError::InvalidChoice`] when `ranking` is empty, ranks an option
    /// twice, or ranks more options than any poll has.
    pub fn ranking(ranking: Vec<OptionId>) -> Result<Self> {
        check_count("rank", ranking.len())?;
        for (i, option) in ranking.iter().enumerate() {
            if ranking[..i].contains(option) {
                return Err(PollError::invalid_choice(format!(
                    "option {option} is ranked more than once"
                )));
            }
        }
        Ok(Self::Ranking(ranking))
    }

    /// Scores (STAR polls), one per option in option order.
    ///
    /// # Errors
    ///
    /// [`PollError::InvalidChoice`] when `scores` is empty, longer than any
    /// poll, or holds a score above [`MAX_SCORE`].
    pub fn scores(scores: Vec<u8>) -> Result<Self> {
        check_count("score", scores.len())?;
        if let Some((i, &score)) = scores.iter().enumerate().find(|(_, &s)| s > MAX_SCORE) {
            return Err(score_error(i, i64::from(score)));
        }
        Ok(Self::Scores(scores))
    }

    /// Scores as any integers (from JSON, from storage), one per option in
    /// option order: [`scores`](Self::scores) once each fits a score.
    ///
    /// # Errors
    ///
    /// [`PollError::InvalidChoice`] as for [`scores`](Self::scores),
    /// naming the first option whose score is outside 0 to [`MAX_SCORE`].
    pub fn scores_from_integers(scores: impl IntoIterator<Item = i64>) -> Result<Self> {
        let scores = scores
            .into_iter()
            .enumerate()
            .map(|(i, score)| u8::try_from(score).map_err(|_| score_error(i, score)))
            .collect::<Result<_>>()?;
        Self::scores(scores)
    }

    /// The wire key of this shape: `choices`, `ranking` or `scores`.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Choices(_) => "choices",
            Self::Ranking(_) => "ranking",
            Self::Scores(_) => "scores",
        }
    }

    /// Whether this is the shape ballots of `method` take.
    pub fn fits(&self, method: Method) -> bool {
        matches!(
            (self, method),
            (Self::Choices(_), Method::Plurality | Method::Approval)
                | (Self::Ranking(_), Method::Ranked)
                | (Self::Scores(_), Method::Star)
        )
    }

    /// The options named, in their order (chosen or ranked); empty for
    /// scores, which name every option by position.
    pub fn options(&self) -> &[OptionId] {
        match self {
            Self::Choices(ids) | Self::Ranking(ids) => ids,
            Self::Scores(_) => &[],
        }
    }

    /// The marks as integers, as stores keep them: option ids for choices
    /// and rankings, scores for scores. [`from_integers`](Self::from_integers)
    /// reads them back, given the poll's method.
    pub fn to_integers(&self) -> Vec<i32> {
        match self {
            Self::Choices(ids) | Self::Ranking(ids) => {
                ids.iter().map(|id| id.get() as i32).collect()
            }
            Self::Scores(scores) => scores.iter().map(|&s| i32::from(s)).collect(),
        }
    }

    /// The marks that [`to_integers`](Self::to_integers) gave for a ballot
    /// of a `method` poll.
    ///
    /// # Errors
    ///
    /// [`PollError::InvalidChoice`] for integers no ballot of `method` has.
    pub fn from_integers(method: Method, integers: &[i32]) -> Result<Self> {
        let id = |&n: &i32| {
            u32::try_from(n)
                .map(OptionId::new)
                .map_err(|_| PollError::invalid_choice(format!("{n} is not an option id")))
        };
        match method {
            Method::Plurality | Method::Approval => {
                Self::choices(integers.iter().map(id).collect::<Result<_>>()?)
            }
            Method::Ranked => Self::ranking(integers.iter().map(id).collect::<Result<_>>()?),
            Method::Star => Self::scores_from_integers(integers.iter().map(|&n| i64::from(n))),
        }
    }
}

fn check_count(verb: &str, count: usize) -> Result<()> {
    if count == 0 {
        return Err(PollError::invalid_choice(format!(
            "{verb} at least one option"
        )));
    }
    if count > MAX_OPTIONS {
        return Err(PollError::invalid_choice(format!(
            "a ballot marks at most {MAX_OPTIONS} options"
        )));
    }
    Ok(())
}

/// The error of option `i`'s `score` outside 0 to [`MAX_SCORE`].
fn score_error(i: usize, score: i64) -> PollError {
    PollError::invalid_choice(format!(
        "option {i} has score {score}; scores go from 0 to {MAX_SCORE}"
    ))
}

/// [`Marks`] as the wire has them, before their rules are checked.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawMarks {
    Choices(Vec<OptionId>),
    Ranking(Vec<OptionId>),
    Scores(Vec<i64>),
}

impl TryFrom<RawMarks> for Marks {
    type Error = PollError;

    fn try_from(raw: RawMarks) -> Result<Self> {
        match raw {
            RawMarks::Choices(ids) => Self::choices(ids),
            RawMarks::Ranking(ids) => Self::ranking(ids),
            RawMarks::Scores(scores) => Self::scores_from_integers(scores),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(raw: &[u32]) -> Vec<OptionId> {
        raw.iter().copied().map(OptionId::new).collect()
    }

    #[test]
    fn choices_are_sorted_and_rankings_keep_their_order() {
        assert_eq!(
            Marks::choices(ids(&[2, 0])).unwrap(),
            Marks::Choices(ids(&[0, 2]))
        );
        assert_eq!(
            Marks::ranking(ids(&[2, 0])).unwrap().options(),
            ids(&[2, 0])
        );
    }

    #[test]
    fn empty_repeated_and_oversized_marks_are_refused() {
        assert!(Marks::choices(vec![]).is_err());
        assert!(Marks::ranking(vec![]).is_err());
        assert!(Marks::scores(vec![]).is_err());
        assert!(Marks::choices(ids(&[1, 1])).is_err());
        assert!(Marks::ranking(ids(&[0, 1, 0])).is_err());
        assert!(Marks::scores(vec![0, 6]).is_err());
        assert!(Marks::scores(vec![5; MAX_OPTIONS + 1]).is_err());
        assert!(Marks::scores(vec![0, 5]).is_ok());
    }

    #[test]
    fn the_wire_form_is_one_key_and_is_checked() {
        let marks = Marks::scores(vec![5, 0, 3]).unwrap();
        assert_eq!(
            serde_json::to_string(&marks).unwrap(),
            r#"{"scores":[5,0,3]}"#
        );
        let back: Marks = serde_json::from_str(r#"{"scores":[5,0,3]}"#).unwrap();
        assert_eq!(back, marks);
        for bad in [
            r#"{"scores":[-1]}"#,
            r#"{"scores":[300]}"#,
            r#"{"choices":[]}"#,
            r#"{"votes":[1]}"#,
        ] {
            assert!(serde_json::from_str::<Marks>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn integers_round_trip_per_method() {
        let cases = [
            (Method::Plurality, Marks::choices(ids(&[3, 1])).unwrap()),
            (Method::Approval, Marks::choices(ids(&[0, 1, 2])).unwrap()),
            (Method::Ranked, Marks::ranking(ids(&[3, 1, 2])).unwrap()),
            (Method::Star, Marks::scores(vec![0, 5, 2]).unwrap()),
        ];
        for (method, marks) in cases {
            assert!(marks.fits(method));
            let back = Marks::from_integers(method, &marks.to_integers()).unwrap();
            assert_eq!(back, marks, "{method}");
        }
        assert!(Marks::from_integers(Method::Star, &[9]).is_err());
        assert!(Marks::from_integers(Method::Ranked, &[-1]).is_err());
        assert!(!Marks::scores(vec![1, 2]).unwrap().fits(Method::Ranked));
    }
}

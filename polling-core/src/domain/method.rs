//! [`Method`]: how a poll's ballots are marked and counted.

use serde::{Deserialize, Serialize};

/// How voters mark a ballot and how the ballots are counted, chosen when a
/// poll is created.
///
/// | method | a ballot | the results |
/// |---|---|---|
/// | `plurality` | [`Marks::Choices`](crate::Marks::Choices): one option, or up to `max_choices` | votes per option |
/// | `approval` | [`Marks::Choices`](crate::Marks::Choices): any number of options | approvals per option |
/// | `ranked` | [`Marks::Ranking`](crate::Marks::Ranking): options, most preferred first | first preferences, and the instant-runoff [`RankedTally`](crate::RankedTally) |
/// | `star` | [`Marks::Scores`](crate::Marks::Scores): a score 0 to 5 per option | score totals, and the runoff of the [`StarTally`](crate::StarTally) |
///
/// # Example
///
/// ```
/// use polling_core::Method;
///
/// let method: Method = serde_json::from_str(r#""ranked""#)?;
/// assert_eq!(method, Method::Ranked);
/// assert_eq!(Method::default(), Method::Plurality);
/// assert_eq!(Method::Star.as_str(), "star");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Single or multiple choice; most votes wins.
    #[default]
    Plurality,
    /// Approve any number of options; most approvals wins.
    Approval,
    /// Instant runoff over rankings.
    Ranked,
    /// Score then automatic runoff.
    Star,
}

impl Method {
    /// Every method, in the order the create form offers them.
    pub const ALL: [Method; 4] = [Self::Plurality, Self::Approval, Self::Ranked, Self::Star];

    /// Its name on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plurality => "plurality",
            Self::Approval => "approval",
            Self::Ranked => "ranked",
            Self::Star => "star",
        }
    }

    /// The method named `name` (as [`as_str`](Self::as_str) gives it).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// What a ballot of this method looks like, for error messages.
    pub(crate) fn ballot_shape(self) -> &'static str {
        match self {
            Self::Plurality | Self::Approval => r#"{"choices": [option ids]}"#,
            Self::Ranked => r#"{"ranking": [option ids, most preferred first]}"#,
            Self::Star => r#"{"scores": [a score 0 to 5 per option]}"#,
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for method in Method::ALL {
            assert_eq!(Method::from_name(method.as_str()), Some(method));
            let json = serde_json::to_string(&method).unwrap();
            assert_eq!(json, format!("\"{method}\""));
        }
        assert_eq!(Method::from_name("borda"), None);
    }
}

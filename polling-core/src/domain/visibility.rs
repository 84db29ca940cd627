//! [`Visibility`]: who may see a poll's counts, and when.

use serde::{de, Deserialize, Deserializer, Serialize};

/// When a poll's counts are shown, chosen by its creator.
///
/// The owner (who holds the manage token) always sees them. The server
/// enforces the rule on every path that carries counts: the results route,
/// the vote response and the live socket.
///
/// # Example
///
/// ```
/// use polling_core::domain::Visibility;
///
/// assert_eq!(Visibility::default(), Visibility::Always);
/// let v: Visibility = serde_json::from_str("\"after_vote\"").unwrap();
/// assert_eq!(v, Visibility::AfterVote);
/// assert_eq!(v.as_str(), "after_vote");
/// assert!(v.may_see(true, false));
/// assert!(!v.may_see(false, false));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Everyone sees the counts at any time.
    #[default]
    Always,
    /// A voter sees the counts once they have voted (or once the poll is
    /// closed), so early votes do not sway later ones.
    AfterVote,
    /// Nobody but the owner sees the counts before the poll is closed.
    AfterClose,
}

impl Visibility {
    /// Every visibility, in the order a creator is offered them.
    pub const ALL: [Visibility; 3] = [Self::Always, Self::AfterVote, Self::AfterClose];

    /// Its name, as in JSON and in the database (`always`, `after_vote`, `after_close`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::AfterVote => "after_vote",
            Self::AfterClose => "after_close",
        }
    }

    /// The visibility named `name` (see [`as_str`](Self::as_str)).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == name)
    }

    /// Whether someone who is not the owner may see the counts, given whether
    /// they `voted` in the poll and whether the poll is `closed`.
    pub fn may_see(self, voted: bool, closed: bool) -> bool {
        match self {
            Self::Always => true,
            Self::AfterVote => voted || closed,
            Self::AfterClose => closed,
        }
    }

    /// When the counts will show, for a person who may not see them yet.
    pub fn hidden_message(self) -> &'static str {
        match self {
            Self::Always => "the results are visible",
            Self::AfterVote => "the results are shown once you have voted or the poll is closed",
            Self::AfterClose => "the results are shown once the poll is closed",
        }
    }
}

/// By name, as a string: anything else (`null`, a number) is a type error,
/// where serde's derived enum would report JSON that is not well-formed.
impl<'de> Deserialize<'de> for Visibility {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::from_name(&name).ok_or_else(|| {
            de::Error::unknown_variant(&name, &["always", "after_vote", "after_close"])
        })
    }
}

impl std::fmt::Display for Visibility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_json_and_text() {
        for v in Visibility::ALL {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.as_str()));
            assert_eq!(serde_json::from_str::<Visibility>(&json).unwrap(), v);
            assert_eq!(Visibility::from_name(v.as_str()), Some(v));
        }
        assert_eq!(Visibility::from_name("sometimes"), None);
        assert!(serde_json::from_str::<Visibility>("\"AfterVote\"").is_err());
        for not_a_name in ["null", "1", "{}"] {
            let error = serde_json::from_str::<Visibility>(not_a_name).unwrap_err();
            assert!(
                error.is_data(),
                "{not_a_name}: a type error, not a syntax error"
            );
        }
    }

    #[test]
    fn each_rule_shows_counts_when_it_says() {
        for (voted, closed) in [(false, false), (true, false), (false, true), (true, true)] {
            assert!(Visibility::Always.may_see(voted, closed));
            assert_eq!(
                Visibility::AfterVote.may_see(voted, closed),
                voted || closed
            );
            assert_eq!(Visibility::AfterClose.may_see(voted, closed), closed);
        }
    }
}

//! [`Eligibility`]: who may vote in a poll.

use serde::{Deserialize, Serialize};

/// Who may vote, chosen by the poll's creator.
///
/// # Example
///
/// ```
/// use polling_core::Eligibility;
///
/// assert_eq!(Eligibility::default(), Eligibility::Anyone);
/// let e: Eligibility = serde_json::from_str("\"invite\"").unwrap();
/// assert_eq!(e, Eligibility::Invite);
/// assert_eq!(Eligibility::from_name(e.as_str()), Some(e));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Eligibility {
    /// Anyone with the link votes, once per voter cookie (the default).
    #[default]
    Anyone,
    /// Only the holders of the poll's invite codes vote, once per code
    /// (see [`InviteCode`](crate::InviteCode)).
    Invite,
}

impl Eligibility {
    /// Every eligibility, in the order a creator is offered them.
    pub const ALL: [Eligibility; 2] = [Self::Anyone, Self::Invite];

    /// Its name, as in JSON and in the database (`anyone`, `invite`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anyone => "anyone",
            Self::Invite => "invite",
        }
    }

    /// The eligibility named `name` (see [`as_str`](Self::as_str)).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

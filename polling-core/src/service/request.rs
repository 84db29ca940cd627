//! [`ResultsRequest`]: the request of the results path.

use crate::domain::PollId;

/// Asks a results service for the current results of one poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResultsRequest {
    /// The poll whose results are wanted.
    pub poll_id: PollId,
}

impl ResultsRequest {
    /// The results of `poll_id`, please.
    pub fn new(poll_id: PollId) -> Self {
        Self { poll_id }
    }
}

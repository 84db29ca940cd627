//! The `NOTIFY` channel of each poll, and the largest payload PostgreSQL
//! carries.
//!
//! Each poll has its own channel, `polling:poll:{poll_id}` (49 bytes, within
//! the 63 bytes of an identifier). The database server routes by channel, so
//! a replica's listening connection receives the events of the polls its own
//! subscribers watch, not every vote of every poll.

use polling_core::PollId;

/// What every poll channel starts with.
const PREFIX: &str = "polling:poll:";

/// A `NOTIFY` payload must be shorter than this many bytes (with the default
/// block size); a longer one fails the statement.
pub(crate) const MAX_PAYLOAD_BYTES: usize = 8000;

/// The channel of `poll`.
pub(crate) fn channel(poll: PollId) -> String {
    format!("{PREFIX}{poll}")
}

/// The poll whose channel `channel` is, if it is one.
pub(crate) fn poll_of_channel(channel: &str) -> Option<PollId> {
    channel.strip_prefix(PREFIX)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The longest identifier PostgreSQL keeps (`NAMEDATALEN - 1`).
    const MAX_CHANNEL_BYTES: usize = 63;

    #[test]
    fn a_channel_names_its_poll_within_an_identifiers_length() {
        let poll = PollId::generate();
        let name = channel(poll);
        assert!(
            name.len() <= MAX_CHANNEL_BYTES,
            "{name}: {} bytes",
            name.len()
        );
        assert_eq!(poll_of_channel(&name), Some(poll));
    }

    #[test]
    fn other_channels_name_no_poll() {
        assert_eq!(poll_of_channel("polling:poll:not-a-uuid"), None);
        assert_eq!(poll_of_channel(&PollId::generate().to_string()), None);
    }
}

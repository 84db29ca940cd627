//! [`Keys`]: the names of the Redis keys and channels of one prefix.
//!
//! | what | name |
//! |---|---|
//! | a poll's cached results (a hash: `v` version, `json` results) | `{prefix}results:{poll_id}` |
//! | a poll's Pub/Sub channel (JSON `ResultsEvent`s) | `{prefix}poll:{poll_id}` |
//! | a rate limit's token bucket (a string: the next arrival, µs) | `{prefix}rate:{name}` |
//!
//! Poll ids are written in their canonical hyphenated form, the one
//! `PollId::from_str` accepts back.

use polling_core::PollId;

/// Names keys and channels under one prefix.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    /// Put in front of every name (see [`RedisConfig::with_key_prefix`](crate::RedisConfig::with_key_prefix)).
    prefix: String,
}

impl Keys {
    /// The segment between the prefix and the poll id of a results key.
    const RESULTS: &'static str = "results:";
    /// The segment between the prefix and the poll id of a channel.
    const CHANNEL: &'static str = "poll:";
    /// The segment between the prefix and the name of a rate-limit bucket.
    const RATE: &'static str = "rate:";

    pub(crate) fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The key of `poll`'s cached results.
    pub(crate) fn results(&self, poll: PollId) -> String {
        format!("{}{}{poll}", self.prefix, Self::RESULTS)
    }

    /// The key of the rate-limit bucket `name`.
    pub(crate) fn rate(&self, name: &str) -> String {
        format!("{}{}{name}", self.prefix, Self::RATE)
    }

    /// The Pub/Sub channel of `poll`'s events.
    pub(crate) fn channel(&self, poll: PollId) -> String {
        format!("{}{}{poll}", self.prefix, Self::CHANNEL)
    }

    /// The poll whose channel is `channel`, if it is one of this prefix.
    pub(crate) fn poll_of_channel(&self, channel: &str) -> Option<PollId> {
        channel
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix(Self::CHANNEL)?
            .parse()
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_channels_are_the_prefix_then_the_kind_then_the_poll() {
        let keys = Keys::new("polling:");
        let poll: PollId = "0190a5c4-5d3e-7b8a-9c1d-2e3f4a5b6c7d".parse().unwrap();
        assert_eq!(
            keys.results(poll),
            "polling:results:0190a5c4-5d3e-7b8a-9c1d-2e3f4a5b6c7d"
        );
        assert_eq!(
            keys.channel(poll),
            "polling:poll:0190a5c4-5d3e-7b8a-9c1d-2e3f4a5b6c7d"
        );
    }

    #[test]
    fn a_channel_name_gives_its_poll_back() {
        let keys = Keys::new("test:1:");
        let poll = PollId::generate();
        assert_eq!(keys.poll_of_channel(&keys.channel(poll)), Some(poll));
    }

    #[test]
    fn foreign_channels_name_no_poll() {
        let keys = Keys::new("app:");
        let poll = PollId::generate();
        let other_prefix = Keys::new("other:").channel(poll);
        assert_eq!(keys.poll_of_channel(&other_prefix), None, "another prefix");
        assert_eq!(
            keys.poll_of_channel(&keys.results(poll)),
            None,
            "a results key is not a channel"
        );
        assert_eq!(keys.poll_of_channel("app:poll:not-a-poll-id"), None);
        assert_eq!(keys.poll_of_channel("app:poll:"), None);
    }

    #[test]
    fn an_empty_prefix_is_allowed() {
        let keys = Keys::new("");
        let poll = PollId::generate();
        assert_eq!(keys.results(poll), format!("results:{poll}"));
        assert_eq!(keys.poll_of_channel(&format!("poll:{poll}")), Some(poll));
    }
}

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
//!
//! On a Redis Cluster ([`Keys::hash_tagged`]) the part that picks the slot
//! is wrapped in a hash tag (literal braces; `<poll_id>` stands for the id): a poll's results and channel are
//! `{prefix}results:{<poll_id>}` and `{prefix}poll:{<poll_id>}`, so both live
//! on the shard owning the poll's slot, and a rate-limit bucket is
//! `{prefix}rate:{<shard>}{name}`, so the buckets one check takes from
//! together (which share a shard key) sit in one slot, as the Lua script
//! that takes from them needs. A prefix that has a hash tag of its own puts
//! every key in one slot.

use polling_core::PollId;

/// Names keys and channels under one prefix.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    /// Put in front of every name (see [`RedisConfig::with_key_prefix`](crate::RedisConfig::with_key_prefix)).
    prefix: String,
    /// Whether names carry hash tags (on a Redis Cluster), so that what one
    /// poll or one rate check touches shares a slot.
    hash_tags: bool,
}

impl Keys {
    /// The segment between the prefix and the poll id of a results key.
    const RESULTS: &'static str = "results:";
    /// The segment between the prefix and the poll id of a channel.
    const CHANNEL: &'static str = "poll:";
    /// The segment between the prefix and the name of a rate-limit bucket.
    const RATE: &'static str = "rate:";

    /// Names for one Redis node.
    pub(crate) fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            hash_tags: false,
        }
    }

    /// Names for a Redis Cluster: with hash tags (see the [module docs](self)).
    pub(crate) fn hash_tagged(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            hash_tags: true,
        }
    }

    /// Whether these names carry hash tags.
    pub(crate) fn is_hash_tagged(&self) -> bool {
        self.hash_tags
    }

    /// The key of `poll`'s cached results.
    pub(crate) fn results(&self, poll: PollId) -> String {
        self.of_poll(Self::RESULTS, poll)
    }

    /// The key of the rate-limit bucket `name`, whose check shares `shard`
    /// (on a cluster, the slot: the bucket's name when `None`).
    pub(crate) fn rate(&self, name: &str, shard: Option<&str>) -> String {
        if self.hash_tags {
            match shard {
                Some(shard) => format!("{}{}{{{shard}}}{name}", self.prefix, Self::RATE),
                None => format!("{}{}{{{name}}}", self.prefix, Self::RATE),
            }
        } else {
            format!("{}{}{name}", self.prefix, Self::RATE)
        }
    }

    /// The hash tag that picks the slot of the rate-limit bucket `name`.
    pub(crate) fn rate_tag<'a>(name: &'a str, shard: Option<&'a str>) -> &'a str {
        shard.unwrap_or(name)
    }

    /// The Pub/Sub channel of `poll`'s events.
    pub(crate) fn channel(&self, poll: PollId) -> String {
        self.of_poll(Self::CHANNEL, poll)
    }

    /// The poll whose channel is `channel`, if it is one of this prefix.
    pub(crate) fn poll_of_channel(&self, channel: &str) -> Option<PollId> {
        let poll = channel
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix(Self::CHANNEL)?;
        let poll = if self.hash_tags {
            poll.strip_prefix('{')?.strip_suffix('}')?
        } else {
            poll
        };
        poll.parse().ok()
    }

    /// The prefix, then `kind`, then `poll` (in a hash tag on a cluster).
    fn of_poll(&self, kind: &str, poll: PollId) -> String {
        if self.hash_tags {
            format!("{}{kind}{{{poll}}}", self.prefix)
        } else {
            format!("{}{kind}{poll}", self.prefix)
        }
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
    fn on_a_cluster_a_poll_hash_tags_its_key_and_channel_alike() {
        let keys = Keys::hash_tagged("polling:");
        let poll: PollId = "0190a5c4-5d3e-7b8a-9c1d-2e3f4a5b6c7d".parse().unwrap();
        assert_eq!(
            keys.results(poll),
            "polling:results:{0190a5c4-5d3e-7b8a-9c1d-2e3f4a5b6c7d}"
        );
        assert_eq!(
            keys.channel(poll),
            "polling:poll:{0190a5c4-5d3e-7b8a-9c1d-2e3f4a5b6c7d}"
        );
        assert_eq!(keys.poll_of_channel(&keys.channel(poll)), Some(poll));
        assert_eq!(
            keys.poll_of_channel(&Keys::new("polling:").channel(poll)),
            None,
            "an untagged channel is another prefix's"
        );
    }

    #[test]
    fn on_a_cluster_buckets_of_one_shard_share_a_hash_tag() {
        let keys = Keys::hash_tagged("p:");
        assert_eq!(
            keys.rate("votes:203.0.113.7", Some("203.0.113.7")),
            "p:rate:{203.0.113.7}votes:203.0.113.7"
        );
        assert_eq!(keys.rate("votes:1", None), "p:rate:{votes:1}");
        assert_eq!(
            Keys::new("p:").rate("votes:1", Some("1")),
            "p:rate:votes:1",
            "one node needs no tags"
        );
    }

    #[test]
    fn an_empty_prefix_is_allowed() {
        let keys = Keys::new("");
        let poll = PollId::generate();
        assert_eq!(keys.results(poll), format!("results:{poll}"));
        assert_eq!(keys.poll_of_channel(&format!("poll:{poll}")), Some(poll));
    }
}

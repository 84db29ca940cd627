//! The names, labels and help texts of every metric **polling** records, in
//! one place, so that the server, the docs, the dashboards and the tests use
//! the same strings.
//!
//! The crates record through the [`metrics`] facade: nothing is
//! kept until the application installs a recorder (the server installs the
//! Prometheus exporter), and [`describe`] gives each name its help text and
//! unit. Names follow the Prometheus conventions: counters end in `_total`,
//! durations are histograms in seconds, and every label has a small, closed
//! set of values (never a poll id).
//!
//! | name | type | labels | recorded by |
//! |---|---|---|---|
//! | [`VOTES_TOTAL`] | counter | `outcome`: see [`outcome`] | [`MetricsLayer`](crate::layer::MetricsLayer) |
//! | [`VOTE_DURATION_SECONDS`] | histogram | — | [`MetricsLayer`](crate::layer::MetricsLayer) |
//! | [`RESULTS_READS_TOTAL`] | counter | `source`: see [`source`] | [`CacheLayer`](crate::layer::CacheLayer) |
//! | [`RESULTS_READ_DURATION_SECONDS`] | histogram | — | [`MetricsLayer`](crate::layer::MetricsLayer) |
//! | [`RESULTS_READ_ERRORS_TOTAL`] | counter | `code`: a [`PollError::code`](crate::PollError::code) | [`MetricsLayer`](crate::layer::MetricsLayer) |
//! | [`CACHE_ERRORS_TOTAL`] | counter | `operation`: see [`operation`] | [`CacheLayer`](crate::layer::CacheLayer) (`get`, `put`); the application (`invalidate`) |
//! | [`BROADCAST_PUBLISH_ERRORS_TOTAL`] | counter | — | [`BroadcastLayer`](crate::layer::BroadcastLayer) |
//! | [`LIVE_SOCKETS`] | gauge | — | polling-realtime |
//! | [`LIVE_MESSAGES_SENT_TOTAL`] | counter | — | polling-realtime |
//! | [`LIVE_MESSAGES_SKIPPED_TOTAL`] | counter | — | polling-realtime |
//! | [`LIVE_SOCKETS_CLOSED_TOTAL`] | counter | `reason`: see [`reason`] | polling-realtime |
//! | [`BROADCAST_RESYNCS_TOTAL`] | counter | — | [`relay`](crate::relay), for polling-cache-redis and polling-store-postgres |
//! | [`BROADCAST_RECONNECTS_TOTAL`] | counter | — | [`relay`](crate::relay), for polling-cache-redis and polling-store-postgres |
//! | [`BROADCAST_RECEIVE_ERRORS_TOTAL`] | counter | — | [`relay`](crate::relay), for polling-cache-redis and polling-store-postgres |
//! | [`REDIS_PUBSUB_CONNECTED`] | gauge | — | polling-cache-redis |
//! | [`IDEMPOTENCY_KEYS`] | gauge | — | [`MemoryIdempotencyStore`](crate::memory::MemoryIdempotencyStore) |
//! | [`IDEMPOTENCY_EVICTIONS_TOTAL`] | counter | — | [`MemoryIdempotencyStore`](crate::memory::MemoryIdempotencyStore) |
//! | [`NEAR_CACHE_HITS_TOTAL`] | counter | — | [`NearCache`](crate::NearCache) |
//! | [`NEAR_CACHE_MISSES_TOTAL`] | counter | — | [`NearCache`](crate::NearCache) |
//! | [`NEAR_CACHE_ENTRIES`] | gauge | — | [`NearCache`](crate::NearCache) |
//! | [`NEAR_CACHE_EVICTIONS_TOTAL`] | counter | — | [`NearCache`](crate::NearCache) |
//!
//! Reads of results are counted by source only where a
//! [`CacheLayer`](crate::layer::CacheLayer) is in the stack; every read,
//! with or without one, is in the `_count` of
//! [`RESULTS_READ_DURATION_SECONDS`].
//!
//! # Example
//!
//! ```
//! use polling_core::metrics::{self, outcome, VOTES_TOTAL};
//!
//! // Once at start-up, after installing the recorder:
//! metrics::describe();
//! // Anywhere, the same strings:
//! ::metrics::counter!(VOTES_TOTAL, outcome::LABEL => outcome::ACCEPTED).increment(1);
//! ```

use ::metrics::{describe_counter, describe_gauge, describe_histogram, Unit};

use crate::domain::{CastKind, CastOutcome};
use crate::error::{AsPollError, PollError};

/// Results reads the near cache answered from process memory (counter).
pub const NEAR_CACHE_HITS_TOTAL: &str = "polling_near_cache_hits_total";
/// Results reads the near cache passed to the shared cache (counter).
pub const NEAR_CACHE_MISSES_TOTAL: &str = "polling_near_cache_misses_total";
/// Polls the near cache follows now (gauge).
pub const NEAR_CACHE_ENTRIES: &str = "polling_near_cache_entries";
/// Polls the near cache dropped to stay within its capacity (counter).
pub const NEAR_CACHE_EVICTIONS_TOTAL: &str = "polling_near_cache_evictions_total";

/// Ballots answered, by [`outcome`] (counter).
pub const VOTES_TOTAL: &str = "polling_votes_total";
/// How long casting a ballot took, from the request to the answer (histogram, seconds).
pub const VOTE_DURATION_SECONDS: &str = "polling_vote_duration_seconds";
/// Results reads through a cache, by [`source`] (counter).
pub const RESULTS_READS_TOTAL: &str = "polling_results_reads_total";
/// How long reading a poll's results took (histogram, seconds).
pub const RESULTS_READ_DURATION_SECONDS: &str = "polling_results_read_duration_seconds";
/// Results reads that failed, by `code` ([`PollError::code`]; `not_found`
/// included) (counter).
pub const RESULTS_READ_ERRORS_TOTAL: &str = "polling_results_read_errors_total";
/// Results cache operations that failed, by [`operation`] (counter).
pub const CACHE_ERRORS_TOTAL: &str = "polling_cache_errors_total";
/// Results events the vote path failed to publish (counter).
pub const BROADCAST_PUBLISH_ERRORS_TOTAL: &str = "polling_broadcast_publish_errors_total";
/// Live results sockets open now (gauge).
pub const LIVE_SOCKETS: &str = "polling_live_sockets";
/// `snapshot` and `results` messages sent to live sockets (counter).
pub const LIVE_MESSAGES_SENT_TOTAL: &str = "polling_live_messages_sent_total";
/// Results changes a slow live socket skipped for a newer one (coalescing) (counter).
pub const LIVE_MESSAGES_SKIPPED_TOTAL: &str = "polling_live_messages_skipped_total";
/// Live sockets that ended, by [`reason`] (counter).
pub const LIVE_SOCKETS_CLOSED_TOTAL: &str = "polling_live_sockets_closed_total";
/// `Resync`s a broadcaster sent its subscribers after they may have missed
/// events (counter).
pub const BROADCAST_RESYNCS_TOTAL: &str = "polling_broadcast_resyncs_total";
/// Pub/Sub connections a broadcaster opened again after losing one (counter).
pub const BROADCAST_RECONNECTS_TOTAL: &str = "polling_broadcast_reconnects_total";
/// Messages a broadcaster received and skipped as malformed (counter).
pub const BROADCAST_RECEIVE_ERRORS_TOTAL: &str = "polling_broadcast_receive_errors_total";
/// Whether the Redis Pub/Sub connection is up with its subscriptions in
/// place: 1 or 0 (gauge).
pub const REDIS_PUBSUB_CONNECTED: &str = "polling_redis_pubsub_connected";
/// Idempotency keys the in-process store holds now, at most its cap
/// (gauge).
pub const IDEMPOTENCY_KEYS: &str = "polling_idempotency_keys";
/// Kept responses the in-process idempotency store dropped before they
/// expired, to make room for new keys under its cap (counter).
pub const IDEMPOTENCY_EVICTIONS_TOTAL: &str = "polling_idempotency_evictions_total";

/// The `outcome` label of [`VOTES_TOTAL`].
pub mod outcome {
    /// The label's name.
    pub const LABEL: &str = "outcome";
    /// A new ballot was recorded ([`CastKind::New`](crate::CastKind::New)).
    pub const ACCEPTED: &str = "accepted";
    /// The voter's identical ballot again: the original receipt
    /// ([`CastKind::Replay`](crate::CastKind::Replay)).
    pub const DUPLICATE: &str = "duplicate";
    /// The voter replaced their earlier ballot
    /// ([`CastKind::Changed`](crate::CastKind::Changed)).
    pub const CHANGED: &str = "changed";
    /// The voter had cast a different ballot (`already_voted`).
    pub const ALREADY_VOTED: &str = "already_voted";
    /// The choices do not fit the poll (`invalid_choice`).
    pub const INVALID: &str = "invalid";
    /// The poll is closed (`poll_closed`).
    pub const CLOSED: &str = "closed";
    /// No such poll (`not_found`).
    pub const NOT_FOUND: &str = "not_found";
    /// The store failed, or a limit layer refused or timed the ballot out.
    pub const UNAVAILABLE: &str = "unavailable";
    /// Every value, in the order above.
    pub const ALL: [&str; 8] = [
        ACCEPTED,
        DUPLICATE,
        CHANGED,
        ALREADY_VOTED,
        INVALID,
        CLOSED,
        NOT_FOUND,
        UNAVAILABLE,
    ];
}

/// The `source` label of [`RESULTS_READS_TOTAL`].
pub mod source {
    /// The label's name.
    pub const LABEL: &str = "source";
    /// Answered from the cache.
    pub const CACHE_HIT: &str = "cache_hit";
    /// Not in the cache: read from the store (then cached).
    pub const CACHE_MISS: &str = "cache_miss";
    /// The cache failed: read from the store.
    pub const CACHE_ERROR: &str = "cache_error";
    /// Every value, in the order above.
    pub const ALL: [&str; 3] = [CACHE_HIT, CACHE_MISS, CACHE_ERROR];
}

/// The `operation` label of [`CACHE_ERRORS_TOTAL`].
pub mod operation {
    /// The label's name.
    pub const LABEL: &str = "operation";
    /// [`ResultsCache::get`](crate::ResultsCache::get).
    pub const GET: &str = "get";
    /// [`ResultsCache::put`](crate::ResultsCache::put).
    pub const PUT: &str = "put";
    /// [`ResultsCache::invalidate`](crate::ResultsCache::invalidate), called
    /// by the application when it deletes a poll.
    pub const INVALIDATE: &str = "invalidate";
    /// Every value, in the order above.
    pub const ALL: [&str; 3] = [GET, PUT, INVALIDATE];
}

/// The `reason` label of [`LIVE_SOCKETS_CLOSED_TOTAL`]: why a live socket
/// ended, polling-realtime's `SocketEnd` in snake_case.
pub mod reason {
    /// The label's name.
    pub const LABEL: &str = "reason";
    /// The client sent a close frame.
    pub const CLIENT_CLOSED: &str = "client_closed";
    /// The client's stream ended or failed without a close frame.
    pub const CLIENT_GONE: &str = "client_gone";
    /// No frame came within the pong timeout after a ping.
    pub const PONG_TIMEOUT: &str = "pong_timeout";
    /// A send did not complete within the send timeout.
    pub const STALLED: &str = "stalled";
    /// A send failed.
    pub const SEND_FAILED: &str = "send_failed";
    /// The hub shut down.
    pub const SHUTDOWN: &str = "shutdown";
    /// The client sent frames too fast.
    pub const FLOOD: &str = "flood";
    /// The client sent a frame too large.
    pub const TOO_BIG: &str = "too_big";
    /// The poll does not exist (any more).
    pub const POLL_NOT_FOUND: &str = "poll_not_found";
    /// The results could not be read.
    pub const SNAPSHOT_FAILED: &str = "snapshot_failed";
    /// Every value, in the order above.
    pub const ALL: [&str; 10] = [
        CLIENT_CLOSED,
        CLIENT_GONE,
        PONG_TIMEOUT,
        STALLED,
        SEND_FAILED,
        SHUTDOWN,
        FLOOD,
        TOO_BIG,
        POLL_NOT_FOUND,
        SNAPSHOT_FAILED,
    ];
}

/// The [`outcome`] of a ballot's `result`, as [`VOTES_TOTAL`] counts it.
///
/// An error that is not a [`PollError`] (such as tower's timeout or load
/// shedding error in a [`BoxError`](crate::BoxError)) is `unavailable`.
pub fn vote_outcome<E: AsPollError>(result: &Result<CastOutcome, E>) -> &'static str {
    match result {
        Ok(cast) => match cast.kind {
            CastKind::New => outcome::ACCEPTED,
            CastKind::Replay => outcome::DUPLICATE,
            CastKind::Changed => outcome::CHANGED,
        },
        Err(error) => match error.as_poll_error() {
            Some(PollError::NotFound) => outcome::NOT_FOUND,
            Some(PollError::PollClosed) => outcome::CLOSED,
            Some(PollError::AlreadyVoted) => outcome::ALREADY_VOTED,
            // A cast refuses no poll and checks no token; should a store do
            // so anyway, it refused the ballot as it stands.
            Some(
                PollError::InvalidChoice(_)
                | PollError::InvalidPoll { .. }
                | PollError::SecretVoteChange
                | PollError::Forbidden,
            ) => outcome::INVALID,
            // A ballot without a valid invite code of an invite-only poll
            // is refused as it stands too.
            Some(
                PollError::InviteRequired
                | PollError::InviteInvalid
                | PollError::InviteNotFound
                | PollError::InviteUsed
                | PollError::TooManyInvites { .. },
            ) => outcome::INVALID,
            Some(PollError::Unavailable(_)) | None => outcome::UNAVAILABLE,
        },
    }
}

/// The `code` label of [`RESULTS_READ_ERRORS_TOTAL`] for `error`:
/// [`PollError::code`], or `unavailable` for an error that is not a
/// [`PollError`].
pub fn error_code<E: AsPollError>(error: &E) -> &'static str {
    error
        .as_poll_error()
        .map_or(outcome::UNAVAILABLE, PollError::code)
}

/// Gives every metric above its help text and unit through the installed
/// recorder, so that the exporter can write `# HELP` and `# TYPE` lines.
///
/// Call it once, after installing the recorder. See the [module example](self).
pub fn describe() {
    describe_counter!(
        NEAR_CACHE_HITS_TOTAL,
        Unit::Count,
        "Results reads the near cache answered from process memory."
    );
    describe_counter!(
        NEAR_CACHE_MISSES_TOTAL,
        Unit::Count,
        "Results reads the near cache passed on to the shared cache."
    );
    describe_gauge!(
        NEAR_CACHE_ENTRIES,
        Unit::Count,
        "Polls the near cache follows now."
    );
    describe_counter!(
        NEAR_CACHE_EVICTIONS_TOTAL,
        Unit::Count,
        "Polls the near cache dropped to stay within its capacity."
    );
    describe_counter!(
        VOTES_TOTAL,
        Unit::Count,
        "Ballots answered, by outcome (accepted, duplicate, already_voted, invalid, closed, not_found, unavailable)."
    );
    describe_histogram!(
        VOTE_DURATION_SECONDS,
        Unit::Seconds,
        "Time to cast a ballot, from the request to the answer."
    );
    describe_counter!(
        RESULTS_READS_TOTAL,
        Unit::Count,
        "Results reads through the cache, by source (cache_hit, cache_miss, cache_error)."
    );
    describe_histogram!(
        RESULTS_READ_DURATION_SECONDS,
        Unit::Seconds,
        "Time to read a poll's results."
    );
    describe_counter!(
        RESULTS_READ_ERRORS_TOTAL,
        Unit::Count,
        "Results reads that failed, by error code."
    );
    describe_counter!(
        CACHE_ERRORS_TOTAL,
        Unit::Count,
        "Results cache operations that failed, by operation (get, put, invalidate)."
    );
    describe_counter!(
        BROADCAST_PUBLISH_ERRORS_TOTAL,
        Unit::Count,
        "Results events the vote path failed to publish."
    );
    describe_gauge!(LIVE_SOCKETS, Unit::Count, "Live results sockets open now.");
    describe_counter!(
        LIVE_MESSAGES_SENT_TOTAL,
        Unit::Count,
        "Snapshot and results messages sent to live sockets."
    );
    describe_counter!(
        LIVE_MESSAGES_SKIPPED_TOTAL,
        Unit::Count,
        "Results changes slow live sockets skipped for newer ones (coalescing)."
    );
    describe_counter!(
        LIVE_SOCKETS_CLOSED_TOTAL,
        Unit::Count,
        "Live sockets that ended, by reason."
    );
    describe_counter!(
        BROADCAST_RESYNCS_TOTAL,
        Unit::Count,
        "Resyncs sent to subscribers that may have missed events."
    );
    describe_counter!(
        BROADCAST_RECONNECTS_TOTAL,
        Unit::Count,
        "Pub/Sub connections opened again after one was lost."
    );
    describe_counter!(
        BROADCAST_RECEIVE_ERRORS_TOTAL,
        Unit::Count,
        "Pub/Sub messages received and skipped as malformed."
    );
    describe_gauge!(
        REDIS_PUBSUB_CONNECTED,
        Unit::Count,
        "Whether the Redis Pub/Sub connection is up with its subscriptions (1) or not (0)."
    );
    describe_gauge!(
        IDEMPOTENCY_KEYS,
        Unit::Count,
        "Idempotency keys held in process memory (at most --idempotency-max-keys)."
    );
    describe_counter!(
        IDEMPOTENCY_EVICTIONS_TOTAL,
        Unit::Count,
        "Kept idempotent responses dropped before their expiry to make room under --idempotency-max-keys."
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BoxError;

    fn all_names() -> [&'static str; 17] {
        [
            VOTES_TOTAL,
            VOTE_DURATION_SECONDS,
            RESULTS_READS_TOTAL,
            RESULTS_READ_DURATION_SECONDS,
            RESULTS_READ_ERRORS_TOTAL,
            CACHE_ERRORS_TOTAL,
            BROADCAST_PUBLISH_ERRORS_TOTAL,
            LIVE_SOCKETS,
            LIVE_MESSAGES_SENT_TOTAL,
            LIVE_MESSAGES_SKIPPED_TOTAL,
            LIVE_SOCKETS_CLOSED_TOTAL,
            BROADCAST_RESYNCS_TOTAL,
            BROADCAST_RECONNECTS_TOTAL,
            BROADCAST_RECEIVE_ERRORS_TOTAL,
            REDIS_PUBSUB_CONNECTED,
            IDEMPOTENCY_KEYS,
            IDEMPOTENCY_EVICTIONS_TOTAL,
        ]
    }

    #[test]
    fn names_follow_the_prometheus_conventions() {
        let mut names = all_names().to_vec();
        for name in &names {
            assert!(name.starts_with("polling_"), "{name}: the namespace");
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}: snake_case"
            );
        }
        for counter in [
            VOTES_TOTAL,
            RESULTS_READS_TOTAL,
            CACHE_ERRORS_TOTAL,
            IDEMPOTENCY_EVICTIONS_TOTAL,
        ] {
            assert!(counter.ends_with("_total"));
        }
        for histogram in [VOTE_DURATION_SECONDS, RESULTS_READ_DURATION_SECONDS] {
            assert!(histogram.ends_with("_seconds"));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all_names().len(), "no name twice");
    }

    #[test]
    fn label_values_are_snake_case() {
        let values = outcome::ALL
            .iter()
            .chain(&source::ALL)
            .chain(&operation::ALL)
            .chain(&reason::ALL);
        for value in values {
            assert!(
                value.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{value}"
            );
        }
    }

    #[test]
    fn every_refusal_of_a_ballot_has_its_outcome() {
        let cases: [(PollError, &str); 5] = [
            (PollError::NotFound, outcome::NOT_FOUND),
            (PollError::PollClosed, outcome::CLOSED),
            (PollError::AlreadyVoted, outcome::ALREADY_VOTED),
            (PollError::invalid_choice("x"), outcome::INVALID),
            (PollError::unavailable("down"), outcome::UNAVAILABLE),
        ];
        for (error, expected) in cases {
            assert_eq!(vote_outcome::<PollError>(&Err(error)), expected);
        }
    }

    #[test]
    fn a_boxed_error_is_looked_into() {
        let boxed: BoxError = Box::new(PollError::AlreadyVoted);
        assert_eq!(
            vote_outcome::<BoxError>(&Err(boxed)),
            outcome::ALREADY_VOTED
        );
        let timeout: BoxError = "request timed out".into();
        assert_eq!(
            vote_outcome::<BoxError>(&Err(timeout)),
            outcome::UNAVAILABLE
        );
        let boxed: BoxError = Box::new(PollError::NotFound);
        assert_eq!(error_code(&boxed), "not_found");
    }
}

//! [`HubStats`]: what the hub has done, for metrics.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use polling_core::metrics::{LIVE_MESSAGES_SENT_TOTAL, LIVE_MESSAGES_SKIPPED_TOTAL, LIVE_SOCKETS};

/// A reading of a [`Hub`](crate::Hub)'s counters and gauges, from
/// [`Hub::stats`](crate::Hub::stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubStats {
    /// Sockets admitted and not yet gone (gauge).
    pub sockets: usize,
    /// Polls with at least one socket, each with one upstream subscription
    /// (gauge).
    pub polls: usize,
    /// `snapshot` and `results` messages sent, over all sockets (counter).
    pub messages_sent: u64,
    /// Results changes a socket never sent because a newer one arrived while
    /// it was busy: the coalescing of slow sockets (counter).
    pub skipped: u64,
}

/// The counters behind [`HubStats`], shared by the hub and its sockets.
///
/// Each change is also recorded through the `metrics` facade, under the
/// names of [`polling_core::metrics`]: [`LIVE_SOCKETS`],
/// [`LIVE_MESSAGES_SENT_TOTAL`] and [`LIVE_MESSAGES_SKIPPED_TOTAL`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// See [`HubStats::sockets`].
    sockets: AtomicUsize,
    /// See [`HubStats::messages_sent`].
    messages_sent: AtomicU64,
    /// See [`HubStats::skipped`].
    skipped: AtomicU64,
}

impl Counters {
    pub(crate) fn admitted(&self) {
        self.sockets.fetch_add(1, Ordering::Relaxed);
        metrics::gauge!(LIVE_SOCKETS).increment(1.0);
    }

    pub(crate) fn left(&self) {
        self.sockets.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!(LIVE_SOCKETS).decrement(1.0);
    }

    pub(crate) fn sent(&self) {
        self.messages_sent.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(LIVE_MESSAGES_SENT_TOTAL).increment(1);
    }

    pub(crate) fn skipped(&self, changes: u64) {
        if changes > 0 {
            self.skipped.fetch_add(changes, Ordering::Relaxed);
            metrics::counter!(LIVE_MESSAGES_SKIPPED_TOTAL).increment(changes);
        }
    }

    pub(crate) fn read(&self, polls: usize) -> HubStats {
        HubStats {
            sockets: self.sockets.load(Ordering::Relaxed),
            polls,
            messages_sent: self.messages_sent.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
        }
    }
}

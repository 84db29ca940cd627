//! [`CountsGate`]: whether one socket may see the counts of its poll.
//!
//! A poll's visibility (`after_vote`, `after_close`) may hide its counts from
//! a socket. This crate knows no voters, cookies or tokens: the server
//! implements the gate for each socket (with the voter id of the handshake,
//! its store and the poll) and hands it to
//! [`serve_gated_socket`](crate::serve_gated_socket). A socket that may not
//! see counts gets a `hidden` message and nothing else, and a `snapshot` the
//! moment the gate says it may (see [`protocol`](crate::protocol)).

use std::time::Duration;

use async_trait::async_trait;
use polling_core::Visibility;

/// What a [`CountsGate`] says about a socket, now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CountsAccess {
    /// The socket may see the counts (and will from now on: visibility only
    /// widens, so the socket stops asking).
    Visible,
    /// It may not, under this rule.
    Hidden {
        /// The poll's rule, sent to the client.
        visibility: Visibility,
        /// How long until the counts show by themselves (an `after_close`
        /// poll's closing time), so the socket asks again then.
        reveal_in: Option<Duration>,
    },
}

/// Decides whether one socket may see its poll's counts, for
/// [`serve_gated_socket`](crate::serve_gated_socket).
///
/// A poll's visibility (`after_vote`, `after_close`) may hide its counts from
/// a socket. This crate knows no voters, cookies or tokens: the server
/// implements the gate for each socket, with the voter id of the handshake,
/// its store and the poll.
///
/// The socket asks when it starts, then — while hidden — when the poll's
/// results change (at most once per
/// [`recheck_interval`](crate::SocketConfig::recheck_interval); this catches
/// the voter's own vote, cast on any replica), after a resync (the owner
/// closed the poll), when the client sends `{"type":"recheck"}`, and at
/// `reveal_in`.
#[async_trait]
pub trait CountsGate: Send + Sync {
    /// Whether the socket may see the counts now.
    ///
    /// An error keeps the counts hidden (the socket asks again later).
    async fn access(&self) -> polling_core::Result<CountsAccess>;

    /// Whether `token`, sent by the client as `{"type":"manage","token":…}`,
    /// is the poll's manage token: then the socket sees the counts from now
    /// on. The token comes in a message, never in the URL, where logs would
    /// keep it.
    async fn manages(&self, token: &str) -> polling_core::Result<bool>;
}

/// The gate of a poll whose counts everyone sees: what
/// [`serve_socket`](crate::serve_socket) uses.
#[derive(Clone, Copy, Debug, Default)]
pub struct AlwaysVisible;

#[async_trait]
impl CountsGate for AlwaysVisible {
    async fn access(&self) -> polling_core::Result<CountsAccess> {
        Ok(CountsAccess::Visible)
    }

    async fn manages(&self, _token: &str) -> polling_core::Result<bool> {
        Ok(false)
    }
}

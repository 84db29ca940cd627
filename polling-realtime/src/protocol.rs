//! The protocol of the live results socket: [`ServerMessage`], the frames in
//! both directions ([`ClientFrame`], [`ServerFrame`]) and the close codes
//! ([`close_code`]).
//!
//! The server sends JSON text messages only:
//!
//! ```json
//! {"type":"snapshot","results":{"poll_id":"…","version":7,"total":7,"counts":[…]}}
//! {"type":"results","results":{"poll_id":"…","version":9,"total":9,"counts":[…]}}
//! ```
//!
//! A `snapshot` comes first, and again after the server lost track of the
//! poll's events (a resync): the client replaces what it holds. A `results`
//! message follows every change the socket had time to send; versions only
//! grow, a slow socket skips some.
//!
//! # Hidden counts
//!
//! When the poll's visibility hides its counts from this socket (see
//! [`CountsGate`](crate::CountsGate)), the first message is instead
//!
//! ```json
//! {"type":"hidden","visibility":"after_vote"}
//! ```
//!
//! (or `"after_close"`), and no `snapshot` or `results` follows until the
//! socket may see the counts: then it gets a `snapshot`, and `results` as
//! usual. A hidden socket learns nothing of the votes, not even the turnout
//! (no `version`, no `total`): the turnout of an `after_vote` poll tells
//! little, but a message per vote would tell a watcher when someone voted,
//! and one shape for both rules keeps clients simple.
//!
//! # Client messages
//!
//! Clients may send two JSON text messages ([`ClientMessage`]); anything
//! else is ignored, and everything counts against the
//! [limits](crate::SocketConfig):
//!
//! * `{"type":"recheck"}`: ask again whether the counts may be shown now; a
//!   browser sends it right after its vote succeeded, for an immediate
//!   `snapshot` (the socket also notices the vote by itself, from the
//!   [`Voted`](polling_core::ResultsEvent::Voted) event the vote publishes,
//!   whichever replica or tab cast it);
//! * `{"type":"manage","token":"<manage token>"}`: the poll owner's page; with
//!   the poll's manage token the socket sees the counts from now on. The
//!   token travels in a message, never in the URL.
//!
//! Both go through the socket's throttle: the first one after a quiet
//! [`recheck_interval`](crate::SocketConfig::recheck_interval) is answered at
//! once, more within the interval are answered together at its end, once
//! (a `manage` flood: for the last token sent). So a client sending them as
//! fast as the frame cap allows still costs the server at most one check of
//! the store per interval.

use polling_core::{Results, Visibility};
use serde::{Deserialize, Serialize};

/// A message from the server, as JSON text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerMessage {
    /// The whole current results: replace whatever you hold.
    Snapshot {
        /// The results.
        results: Results,
    },
    /// Newer results than the last message.
    Results {
        /// The results.
        results: Results,
    },
    /// The poll's visibility hides the counts from this socket for now; a
    /// `snapshot` follows when they may be shown.
    Hidden {
        /// The rule hiding them (`after_vote` or `after_close`).
        visibility: Visibility,
    },
}

impl ServerMessage {
    /// The message as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("results serialize to JSON")
    }

    /// The results the message carries, if any (a `hidden` message has none).
    pub fn results(&self) -> Option<&Results> {
        match self {
            Self::Snapshot { results } | Self::Results { results } => Some(results),
            Self::Hidden { .. } => None,
        }
    }
}

/// A message from the client, as JSON text; see [Client
/// messages](self#client-messages).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientMessage {
    /// Ask again whether the counts may be shown.
    Recheck,
    /// Present the poll's manage token.
    Manage {
        /// The manage token from the poll's creation.
        token: String,
    },
}

impl ClientMessage {
    /// The message in `text`, if it is one (anything else is ignored).
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    /// The message as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("client messages serialize to JSON")
    }
}

/// The kind of a [`ServerMessage`], for building its text without
/// serializing the results again for every socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MessageKind {
    /// [`ServerMessage::Snapshot`].
    Snapshot,
    /// [`ServerMessage::Results`].
    Results,
}

impl MessageKind {
    /// The text of the message of this kind carrying `results_json`, the
    /// results already serialized (the same text as [`ServerMessage::to_json`]).
    pub(crate) fn encode(self, results_json: &str) -> String {
        let tag = match self {
            Self::Snapshot => "snapshot",
            Self::Results => "results",
        };
        format!(r#"{{"type":"{tag}","results":{results_json}}}"#)
    }
}

/// A frame from the client, as the server's WebSocket library delivers it
/// (the server maps its own message type onto this).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientFrame {
    /// A text message: ignored, counted against the limits.
    Text(String),
    /// A binary message: ignored, counted against the limits.
    Binary(Vec<u8>),
    /// A ping (the WebSocket library answers it): counted against the limits.
    Ping(Vec<u8>),
    /// A pong, the answer to the server's ping: proves the peer alive.
    Pong(Vec<u8>),
    /// The client closes the socket.
    Close,
}

impl ClientFrame {
    /// The size of the frame's payload in bytes.
    pub fn len(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Binary(bytes) | Self::Ping(bytes) | Self::Pong(bytes) => bytes.len(),
            Self::Close => 0,
        }
    }

    /// Whether the frame has no payload.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A frame for the server to send (the server maps this onto its own message
/// type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerFrame {
    /// A text message: a [`ServerMessage`] as JSON.
    Text(String),
    /// A ping; the peer answers with a pong.
    Ping(Vec<u8>),
    /// A close frame; nothing follows it.
    Close {
        /// Why, as a WebSocket close code (see [`close_code`]).
        code: u16,
        /// Why, for a person (short: at most 123 bytes).
        reason: String,
    },
}

impl ServerFrame {
    /// A close frame with `code` and `reason`.
    pub fn close(code: u16, reason: &str) -> Self {
        Self::Close {
            code,
            reason: reason.to_owned(),
        }
    }

    /// The [`ServerMessage`] in a text frame, if it holds one.
    pub fn message(&self) -> Option<ServerMessage> {
        match self {
            Self::Text(text) => serde_json::from_str(text).ok(),
            _ => None,
        }
    }
}

pub mod close_code {
    //! The close codes the server sends.
    //!
    //! | code | when |
    //! |---|---|
    //! | [`GOING_AWAY`] 1001 | the server shuts down |
    //! | [`POLICY_VIOLATION`] 1008 | the client sent more frames per second than allowed |
    //! | [`MESSAGE_TOO_BIG`] 1009 | the client sent a frame larger than allowed |
    //! | [`INTERNAL_ERROR`] 1011 | the results could not be read (store or cache unavailable) |
    //! | [`POLL_NOT_FOUND`] 4404 | the poll does not exist, or was deleted while watched |
    //!
    //! 4404 sits in the range RFC 6455 leaves to applications (4000–4999) and
    //! mirrors HTTP 404: a client should stop reconnecting. A dead peer (no
    //! frame within the pong timeout) or a stalled one (a send that does not
    //! complete within the send timeout) gets no close frame: it would not read
    //! it; the connection is dropped.

    /// The server shuts down; reconnect (to another replica) later.
    pub const GOING_AWAY: u16 = 1001;
    /// The client sent frames faster than allowed.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// The client sent a frame larger than allowed.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The results could not be read; reconnecting later may work.
    pub const INTERNAL_ERROR: u16 = 1011;
    /// The poll does not exist (any more); do not reconnect.
    pub const POLL_NOT_FOUND: u16 = 4404;
}

#[cfg(test)]
mod tests {
    use polling_core::{OptionCount, OptionId, PollId};

    use super::*;

    fn results() -> Results {
        Results {
            poll_id: PollId::generate(),
            version: 3,
            total: 3,
            counts: vec![OptionCount {
                option_id: OptionId::new(0),
                votes: 3,
            }],
            ranked: None,
            star: None,
        }
    }

    #[test]
    fn encoded_messages_are_the_serialized_messages() {
        let results = results();
        let json = serde_json::to_string(&results).unwrap();
        assert_eq!(
            MessageKind::Snapshot.encode(&json),
            ServerMessage::Snapshot {
                results: results.clone()
            }
            .to_json()
        );
        assert_eq!(
            MessageKind::Results.encode(&json),
            ServerMessage::Results { results }.to_json()
        );
    }

    #[test]
    fn messages_are_tagged_by_type() {
        let results = results();
        let text = ServerMessage::Snapshot {
            results: results.clone(),
        }
        .to_json();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["type"], "snapshot");
        assert_eq!(value["results"]["version"], 3);
        let frame = ServerFrame::Text(text);
        assert_eq!(frame.message().unwrap().results(), Some(&results));
    }

    #[test]
    fn hidden_messages_carry_the_rule_and_no_counts() {
        let text = ServerMessage::Hidden {
            visibility: Visibility::AfterVote,
        }
        .to_json();
        assert_eq!(text, r#"{"type":"hidden","visibility":"after_vote"}"#);
        assert_eq!(ServerFrame::Text(text).message().unwrap().results(), None);
    }

    #[test]
    fn client_messages_parse_and_anything_else_is_none() {
        assert_eq!(
            ClientMessage::parse(r#"{"type":"recheck"}"#),
            Some(ClientMessage::Recheck)
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"manage","token":"abc"}"#),
            Some(ClientMessage::Manage {
                token: "abc".into()
            })
        );
        for other in ["hello", "{}", r#"{"type":"manage"}"#, r#"{"type":"vote"}"#] {
            assert_eq!(ClientMessage::parse(other), None, "{other}");
        }
        assert_eq!(
            ClientMessage::Manage { token: "t".into() }.to_json(),
            r#"{"type":"manage","token":"t"}"#
        );
    }
}

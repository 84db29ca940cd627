//! [`StoredResponse`]: a response kept for replays.

/// A response as kept for replays: the status, the headers that matter for a
/// retrying client, and the body, all as sent the first time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    /// The HTTP status code.
    pub status: u16,
    /// Header names (lower case) and values, in order; a name may repeat.
    pub headers: Vec<(String, String)>,
    /// The body's bytes.
    pub body: Vec<u8>,
}

//! What the routes stand on: the [route table](route), client addresses,
//! streamed response bodies, the browser app's files, the listening socket
//! and the readiness probe's client.

pub(crate) mod client_addr;
pub(crate) mod frontend;
pub(crate) mod listener;
pub(crate) mod probe;
pub(crate) mod route;
pub(crate) mod streamed;

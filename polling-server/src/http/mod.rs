//! The transport under the routes: the [route table](route), the accept
//! loop, the response contract, client addresses, streamed bodies and the
//! readiness probe.

pub(crate) mod route;

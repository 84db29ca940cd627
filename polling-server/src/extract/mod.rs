//! Filters that take what handlers need out of a request, refusing bad input
//! with an [`ApiError`](crate::error::ApiError).

mod bearer;
mod idempotency_key;
mod json_body;
mod voter;

pub(crate) use bearer::{bearer_token, optional_bearer_token};
pub(crate) use idempotency_key::{idempotency_key, IdempotencyKey};
pub(crate) use json_body::{fingerprinted_json_body, BodyBytes};
pub(crate) use voter::{from_cookies as voter_from_cookies, voter, Voter};

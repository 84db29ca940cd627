//! Filters that take what handlers need out of a request, refusing bad input
//! with an [`ApiError`](crate::error::ApiError).

mod bearer;
mod json_body;
mod voter;

pub(crate) use bearer::{bearer_token, optional_bearer_token};
pub(crate) use json_body::json_body;
pub(crate) use voter::{voter, Voter};

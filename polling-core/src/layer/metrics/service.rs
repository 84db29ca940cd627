use std::task::{Context, Poll};
use std::time::Duration;

use tower::Service;

use super::ResponseFuture;
use crate::domain::{Ballot, CastOutcome, Results};
use crate::error::AsPollError;
use crate::metrics::{
    error_code, outcome, vote_outcome, RESULTS_READ_DURATION_SECONDS, RESULTS_READ_ERRORS_TOTAL,
    VOTES_TOTAL, VOTE_DURATION_SECONDS,
};
use crate::service::ResultsRequest;

/// Counts and times the requests to a service. See the [module docs](super).
#[derive(Clone, Debug)]
pub struct Metrics<S> {
    /// The service whose requests are recorded.
    inner: S,
}

impl<S> Metrics<S> {
    /// Records the requests to `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }

    define_inner_service_accessors!();
}

impl<S> Service<Ballot> for Metrics<S>
where
    S: Service<Ballot, Response = CastOutcome>,
    S::Error: AsPollError,
{
    type Response = CastOutcome;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, ballot: Ballot) -> Self::Future {
        ResponseFuture::new(self.inner.call(ballot), record_vote::<S::Error>)
    }
}

impl<S> Service<ResultsRequest> for Metrics<S>
where
    S: Service<ResultsRequest, Response = Results>,
    S::Error: AsPollError,
{
    type Response = Results;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: ResultsRequest) -> Self::Future {
        ResponseFuture::new(self.inner.call(request), record_read::<S::Error>)
    }
}

/// Records a ballot's outcome and duration.
fn record_vote<E: AsPollError>(result: &Result<CastOutcome, E>, elapsed: Duration) {
    ::metrics::counter!(VOTES_TOTAL, outcome::LABEL => vote_outcome(result)).increment(1);
    ::metrics::histogram!(VOTE_DURATION_SECONDS).record(elapsed.as_secs_f64());
}

/// Records a results read's duration, and its error if it failed.
fn record_read<E: AsPollError>(result: &Result<Results, E>, elapsed: Duration) {
    ::metrics::histogram!(RESULTS_READ_DURATION_SECONDS).record(elapsed.as_secs_f64());
    if let Err(error) = result {
        ::metrics::counter!(RESULTS_READ_ERRORS_TOTAL, "code" => error_code(error)).increment(1);
    }
}

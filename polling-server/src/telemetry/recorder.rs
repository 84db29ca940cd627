//! The process's Prometheus recorder.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::{
    BUILD_INFO, DB_POOL_CONNECTIONS, DB_POOL_MAX_CONNECTIONS, HTTP_REQUESTS_TOTAL,
    HTTP_REQUEST_DURATION_SECONDS, IDEMPOTENCY_REQUESTS_TOTAL, OVERLOADED_TOTAL,
    RATE_LIMITED_TOTAL, RATE_LIMIT_FALLBACK_TOTAL,
};

/// Histogram buckets for every `_seconds` metric: from half a millisecond
/// (a cached read) to ten seconds (a timeout).
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The recorder [`install_recorder`] installed, if it did.
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder as the `metrics` facade's global
/// recorder (once per process; later calls return the same handle), with
/// histogram buckets from 0.5 ms to 10 s and `# HELP` texts, and returns
/// the handle that renders it. The binary calls it first thing; an
/// application embedding the server calls it to serve `GET /metrics`, or
/// installs a recorder of its own (then `/metrics` says it is off).
pub fn install_recorder() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .expect("the bucket list is not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics stays empty");
        }
        describe();
        polling_core::metrics::describe();
        handle
    })
}

/// The handle of the recorder [`install_recorder`] installed; `None` if it
/// was never called.
pub fn installed_recorder() -> Option<&'static PrometheusHandle> {
    HANDLE.get()
}

/// `# HELP` texts and units of the server's own metrics (the libraries'
/// are described by `polling_core::metrics::describe`).
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        HTTP_REQUESTS_TOTAL,
        "HTTP requests served, by method, route template and status class."
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "HTTP request latency, by method and route template."
    );
    describe_counter!(
        RATE_LIMITED_TOTAL,
        "Requests refused 429 rate_limited, by route (creating polls, voting)."
    );
    describe_counter!(
        RATE_LIMIT_FALLBACK_TOTAL,
        "Rate-limit checks decided by this replica's own buckets because Redis failed."
    );
    describe_counter!(
        OVERLOADED_TOTAL,
        "Requests shed with 503 at the cap on requests in flight."
    );
    describe_gauge!(
        BUILD_INFO,
        "Always 1: the server's version and instance as labels."
    );
    describe_gauge!(
        DB_POOL_CONNECTIONS,
        "PostgreSQL pool connections, by state (idle, in_use)."
    );
    describe_gauge!(
        DB_POOL_MAX_CONNECTIONS,
        "The PostgreSQL pool's maximum size."
    );
    describe_counter!(
        IDEMPOTENCY_REQUESTS_TOTAL,
        "Requests with an Idempotency-Key, by outcome (fresh, replayed, mismatch, in_use)."
    );
}

/// The process's standard metrics (`process_cpu_seconds_total`,
/// `process_resident_memory_bytes`, open files...), collected at each scrape:
/// what the dashboard shows per replica where no cAdvisor runs.
pub(crate) fn process_collector() -> &'static metrics_process::Collector {
    static COLLECTOR: OnceLock<metrics_process::Collector> = OnceLock::new();
    COLLECTOR.get_or_init(|| {
        let collector = metrics_process::Collector::default();
        collector.describe();
        collector
    })
}

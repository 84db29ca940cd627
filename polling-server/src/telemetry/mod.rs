//! What the server tells operators: Prometheus metrics at `GET /metrics`.
//!
//! * [`install_recorder`]: the process's Prometheus recorder, with histogram
//!   buckets from 0.5 ms to 10 s and `# HELP` texts, installed by the
//!   binary (a library constructor never installs a global recorder);
//!   without it `/metrics` answers that metrics are off.
//! * The metric names below, with those of `polling_core::metrics`. The
//!   HTTP ones are recorded around every request by the `middleware`'s
//!   observe layer (request id, span, one log line), labelled with the
//!   route template (`/api/polls/{id}/results`), never the raw path: poll
//!   ids never become labels.
//! * [`JsonLines`]: the JSON log line (`--log-format json`), formatted in
//!   one pass; [`LogBuffer`] keeps lines in memory for tests.

mod json_lines;
mod log_buffer;
pub(crate) mod recorder;

pub use json_lines::{JsonLines, JsonSpanFields};
pub use log_buffer::LogBuffer;
pub use recorder::{install_recorder, installed_recorder};

/// HTTP requests served: labels `method`, `route`, `status` (`2xx`...).
pub const HTTP_REQUESTS_TOTAL: &str = "http_requests_total";
/// HTTP request latency, seconds: labels `method`, `route`.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "http_request_duration_seconds";
/// Requests refused 429 `rate_limited`: label `route` (`/api/polls`,
/// `/api/polls/{id}/votes`).
pub const RATE_LIMITED_TOTAL: &str = "polling_rate_limited_total";
/// Rate-limit checks decided by this replica's own buckets because the
/// shared ones in Redis failed (or failed less than a second ago).
pub const RATE_LIMIT_FALLBACK_TOTAL: &str = "polling_rate_limit_fallback_total";
/// Requests shed with 503 because the cap on requests in flight was reached.
pub const OVERLOADED_TOTAL: &str = "polling_overloaded_total";
/// 1, with the server's `version` and `instance` as labels.
pub const BUILD_INFO: &str = "polling_build_info";
/// PostgreSQL pool connections: label `state` (`idle`, `in_use`).
pub const DB_POOL_CONNECTIONS: &str = "polling_db_pool_connections";
/// The PostgreSQL pool's configured maximum.
pub const DB_POOL_MAX_CONNECTIONS: &str = "polling_db_pool_max_connections";
/// Requests sent with an `Idempotency-Key`: label `outcome` (`fresh`: run,
/// `replayed`, `mismatch`: another body, `in_use`: the first still running).
pub const IDEMPOTENCY_REQUESTS_TOTAL: &str = "polling_idempotency_requests_total";

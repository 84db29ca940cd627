//! What the server tells operators: Prometheus metrics at `GET /metrics`, one
//! log line per request with a request id, and the HTTP metrics behind them.
//!
//! * [`prometheus_handle`]: the process's Prometheus recorder, with histogram
//!   buckets from 0.5 ms to 10 s and `# HELP` texts.
//! * Around every request: a request id (`X-Request-Id`, kept when the
//!   caller sent a sane one, and returned), a `request` span carrying it, one
//!   log line (method, route, path, status, latency), and the HTTP metrics
//!   below, labelled with the route template (`/api/polls/{id}/results`),
//!   never the raw path: poll ids never become labels.
//! * The metric names below, with those of `polling_core::metrics`.

mod observe;
pub(crate) mod recorder;
mod request_id;
mod route_template;

pub(crate) use observe::ObserveLayer;
pub use recorder::prometheus_handle;
pub(crate) use route_template::route_template;

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

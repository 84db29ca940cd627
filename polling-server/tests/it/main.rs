//! The server's integration tests, one binary (each former test file a
//! module): one link of the server and its dependencies instead of one per
//! file. `common` holds the shared helpers and `on_both_backends!`; `rules`
//! the visibility and vote-change scenarios run on every backend.

#[macro_use]
mod common;
mod rules;

mod bad_input;
mod cancelled_votes;
mod deleted_polls;
mod embedded_app;
mod export;
mod export_stream;
mod faults_postgres;
mod faults_redis;
mod hall;
mod hidden_sockets;
mod http;
mod idempotency;
mod invites;
mod layering;
mod limits;
mod live;
mod methods;
mod openapi;
mod pgbouncer;
mod postgres;
mod postgres_replicas;
mod processes;
mod properties;
mod readiness;
mod readme;
mod redis;
mod redis_cluster;
mod refusals;
mod secret_polls;
mod security;
mod shared_limits;
mod sharing;
mod shutdown;
mod sqlite;
mod telemetry;
mod vote_after_commit;
mod vote_layer;
mod zombie_ballots;

//! The polling-core idempotency conformance suite on PostgreSQL.

use polling_store_postgres::PgIdempotencyStore;
use sqlx::PgPool;

polling_core::idempotency_conformance_tests!(
    #[sqlx::test] pool: PgPool => PgIdempotencyStore::new(pool)
);

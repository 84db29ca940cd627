//! The polling-core conformance suite on PostgreSQL, once per cast mode.

mod coalesced {
    use polling_store_postgres::PgPollStore;
    use sqlx::PgPool;

    polling_core::store_conformance_tests!(#[sqlx::test] pool: PgPool => PgPollStore::new(pool));
}

mod per_ballot {
    use polling_store_postgres::{CastMode, PgPollStore};
    use sqlx::PgPool;

    polling_core::store_conformance_tests!(
        #[sqlx::test] pool: PgPool => PgPollStore::with_cast_mode(pool, CastMode::PerBallot)
    );
}

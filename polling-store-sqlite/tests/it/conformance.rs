//! The polling-core conformance suite on SQLite: on a file once per cast
//! mode, and in memory.

mod file_coalesced {
    use polling_store_sqlite::CastMode;

    polling_core::store_conformance_tests!(
        #[tokio::test(flavor = "multi_thread")] => crate::common::file_store(CastMode::default()).await
    );
}

mod file_per_ballot {
    use polling_store_sqlite::CastMode;

    polling_core::store_conformance_tests!(
        #[tokio::test(flavor = "multi_thread")] => crate::common::file_store(CastMode::PerBallot).await
    );
}

mod memory {
    use polling_store_sqlite::SqlitePollStore;

    polling_core::store_conformance_tests!(
        #[tokio::test(flavor = "multi_thread")] => SqlitePollStore::new(crate::common::memory_pool().await)
    );
}

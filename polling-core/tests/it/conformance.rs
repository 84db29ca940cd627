//! The conformance suites on the in-process implementations, the reference
//! every other backend is held to.

mod store {
    polling_core::store_conformance_tests!(
        #[tokio::test(flavor = "multi_thread")] => polling_core::memory::MemoryStore::new()
    );
}

mod cache {
    polling_core::cache_conformance_tests!(
        #[tokio::test(flavor = "multi_thread")] => polling_core::memory::MemoryCache::new()
    );
}

mod broadcaster {
    polling_core::broadcaster_conformance_tests!(
        #[tokio::test(flavor = "multi_thread")] => polling_core::memory::LocalBroadcaster::new()
    );
}

mod idempotency {
    polling_core::idempotency_conformance_tests!(
        #[tokio::test(flavor = "multi_thread")] => polling_core::memory::MemoryIdempotencyStore::new()
    );
}

/// The same cases on a store at a tiny cap: no case holds more than four
/// keys, so the cap changes no answer.
mod idempotency_capped {
    polling_core::idempotency_conformance_tests!(
        #[tokio::test(flavor = "multi_thread")] => polling_core::memory::MemoryIdempotencyStore::with_max_keys(4)
    );
}

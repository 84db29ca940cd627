//! polling-core's conformance suites on the Redis backends: against the
//! Redis at `REDIS_URL` (default `127.0.0.1:6379`), each test under a key
//! prefix of its own; and against a Redis Cluster (three masters with a
//! replica each) that each test starts and stops.

mod cache {
    polling_core::cache_conformance_tests!(
        #[tokio::test(flavor = "multi_thread")] => crate::common::fresh_cache().await
    );
}

mod broadcaster {
    polling_core::broadcaster_conformance_tests!(
        #[tokio::test(flavor = "multi_thread")] => crate::common::fresh_broadcaster().await
    );
}

mod cluster_cache {
    polling_core::cache_conformance_tests!(
        #[tokio::test(flavor = "multi_thread")] => crate::common::cluster_cache().await
    );
}

mod cluster_broadcaster {
    polling_core::broadcaster_conformance_tests!(
        #[tokio::test(flavor = "multi_thread")] => crate::common::cluster_broadcaster().await
    );
}

//! The polling-core idempotency conformance suite on SQLite, and the sweep
//! of expired keys.

use polling_core::idempotency::{Begun, Claim, Fingerprint, IdempotencyStore};
use polling_store_sqlite::SqliteIdempotencyStore;
use time::Duration;

use crate::common::memory_pool;

mod file {
    polling_core::idempotency_conformance_tests!(
        #[tokio::test(flavor = "multi_thread")] => crate::common::file_keys().await
    );
}

mod memory {
    use polling_store_sqlite::SqliteIdempotencyStore;

    polling_core::idempotency_conformance_tests!(
        #[tokio::test(flavor = "multi_thread")] =>
            SqliteIdempotencyStore::new(crate::common::memory_pool().await)
    );
}

/// Expired keys are deleted by later claims, a bounded batch at a time; the
/// live ones stay.
#[tokio::test]
async fn claims_sweep_expired_keys_a_bounded_batch_at_a_time() {
    let pool = memory_pool().await;
    let store = SqliteIdempotencyStore::new(pool.clone());
    let now = polling_core::now();
    let claim = |key: String, at| Claim {
        key,
        fingerprint: Fingerprint::of(b"body"),
        at,
        lease: Duration::minutes(1),
    };
    for i in 0..100 {
        let begun = store.begin(&claim(format!("old-{i}"), now)).await.unwrap();
        assert!(matches!(begun, Begun::Fresh(_)));
    }
    let rows = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM idempotency_keys")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(rows().await, 100);
    let later = now + Duration::minutes(2);
    store.begin(&claim("new-1".into(), later)).await.unwrap();
    assert_eq!(rows().await, 100 - 64 + 1, "one batch swept");
    store.begin(&claim("new-2".into(), later)).await.unwrap();
    assert_eq!(rows().await, 2, "the rest swept, the live keys kept");
}

//! [`wait_for_lock_waiters`]: until sessions of a database wait for a lock.

use std::time::Duration;

use sqlx::PgPool;

/// Waits until at least `count` sessions of `pool`'s database wait for a
/// lock (a row lock, or a transaction they conflict with), for up to 5 s:
/// how a test knows that the transaction it blocked has got that far.
///
/// # Panics
///
/// When fewer sessions wait after 5 s, or the database cannot be asked.
pub async fn wait_for_lock_waiters(pool: &PgPool, count: i64) {
    for _ in 0..500 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(pool)
        .await
        .expect("pg_stat_activity answers");
        if waiting >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{count} sessions never waited for a lock within 5 s");
}

//! [`closed_loop`]: a fixed number of operations from a fixed number of
//! concurrent workers, each starting its next operation as soon as its last
//! one is done.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs `ops` calls of `op` from `workers` tokio tasks and returns the time
/// they took. Each call gets a number unique within the process, for fresh
/// voter ids and the like.
///
/// # Panics
///
/// When an operation panics.
pub async fn closed_loop<F, Fut>(workers: usize, ops: u64, op: F) -> Duration
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let quota = Arc::new(AtomicU64::new(ops));
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (op, quota) = (op.clone(), quota.clone());
            tokio::spawn(async move {
                while quota
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |q| q.checked_sub(1))
                    .is_ok()
                {
                    op(NEXT.fetch_add(1, Ordering::Relaxed)).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a benchmark worker panicked");
    }
    started.elapsed()
}

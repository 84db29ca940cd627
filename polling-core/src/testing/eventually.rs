//! [`eventually`]: waits for a condition that the code under test brings
//! about in the background (a reconnect, an expiry, a closed connection).

use std::future::Future;
use std::time::Duration;

/// Retries `check` every 20 ms until it returns `Some`, for at most `within`,
/// and returns what it gave.
///
/// # Panics
///
/// When `within` passes first; `what` names the awaited condition.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use polling_core::testing::eventually;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut tries = 0;
/// let found = eventually(Duration::from_secs(1), "the third try", || {
///     tries += 1;
///     let tried = tries;
///     async move { (tried == 3).then_some(tried) }
/// })
/// .await;
/// assert_eq!(found, 3);
/// # }
/// ```
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

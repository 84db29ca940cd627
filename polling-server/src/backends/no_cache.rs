//! [`NoCache`]: the results cache of `--cache none`.

use async_trait::async_trait;
use polling_core::{PollId, Result, Results, ResultsCache};

/// A [`ResultsCache`] that holds nothing: every read is a miss and goes to
/// the store, so a replica always serves the store's latest results.
///
/// The default with PostgreSQL and no Redis: replicas on one database share
/// no cache, and an in-process one per replica would keep serving the
/// results it cached while other replicas' votes change them.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct NoCache;

#[async_trait]
impl ResultsCache for NoCache {
    async fn get(&self, _poll: PollId) -> Result<Option<Results>> {
        Ok(None)
    }

    async fn put(&self, _results: &Results) -> Result<()> {
        Ok(())
    }

    async fn invalidate(&self, _poll: PollId) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use polling_core::testing::results_at;

    use super::*;

    #[tokio::test]
    async fn what_is_put_is_never_served() {
        let poll = PollId::generate();
        NoCache.put(&results_at(poll, 3)).await.unwrap();
        assert_eq!(NoCache.get(poll).await.unwrap(), None);
    }
}

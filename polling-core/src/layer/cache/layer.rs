use std::fmt;
use std::sync::Arc;

use tower::Layer;

use super::stale::StalePolls;
use super::Cache;
use crate::cache::ResultsCache;

/// Applies [`Cache`] to a service. See the [module docs](super).
pub struct CacheLayer<C: ?Sized> {
    /// The cache shared by every service this layer makes.
    cache: Arc<C>,
    /// The polls whose cached results failed to refresh, shared likewise.
    stale: Arc<StalePolls>,
}

impl<C: ResultsCache> CacheLayer<C> {
    /// Caches through `cache`.
    pub fn new(cache: C) -> Self {
        Self::from_arc(Arc::new(cache))
    }
}

impl<C: ResultsCache + ?Sized> CacheLayer<C> {
    /// Caches through a shared cache (such as `Arc<dyn ResultsCache>`).
    pub fn from_arc(cache: Arc<C>) -> Self {
        Self {
            cache,
            stale: Arc::default(),
        }
    }
}

impl<C: ?Sized> Clone for CacheLayer<C> {
    fn clone(&self) -> Self {
        Self {
            cache: Arc::clone(&self.cache),
            stale: Arc::clone(&self.stale),
        }
    }
}

impl<C: ?Sized> fmt::Debug for CacheLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheLayer").finish_non_exhaustive()
    }
}

impl<S, C: ?Sized> Layer<S> for CacheLayer<C> {
    type Service = Cache<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        Cache::with_stale(inner, Arc::clone(&self.cache), Arc::clone(&self.stale))
    }
}

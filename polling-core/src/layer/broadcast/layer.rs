use std::fmt;
use std::sync::Arc;

use tower::Layer;

use super::Broadcast;
use crate::broadcaster::Broadcaster;

/// Applies [`Broadcast`] to a service. See the [module docs](super).
pub struct BroadcastLayer<B: ?Sized> {
    /// The broadcaster shared by every service this layer makes.
    broadcaster: Arc<B>,
}

impl<B: Broadcaster> BroadcastLayer<B> {
    /// Publishes through `broadcaster`.
    pub fn new(broadcaster: B) -> Self {
        Self {
            broadcaster: Arc::new(broadcaster),
        }
    }
}

impl<B: Broadcaster + ?Sized> BroadcastLayer<B> {
    /// Publishes through a shared broadcaster (such as `Arc<dyn Broadcaster>`).
    pub fn from_arc(broadcaster: Arc<B>) -> Self {
        Self { broadcaster }
    }
}

impl<B: ?Sized> Clone for BroadcastLayer<B> {
    fn clone(&self) -> Self {
        Self {
            broadcaster: Arc::clone(&self.broadcaster),
        }
    }
}

impl<B: ?Sized> fmt::Debug for BroadcastLayer<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastLayer").finish_non_exhaustive()
    }
}

impl<S, B: ?Sized> Layer<S> for BroadcastLayer<B> {
    type Service = Broadcast<S, B>;

    fn layer(&self, inner: S) -> Self::Service {
        Broadcast::from_arc(inner, Arc::clone(&self.broadcaster))
    }
}

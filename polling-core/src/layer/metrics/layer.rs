use tower::Layer;

use super::Metrics;

/// Applies [`Metrics`] to a service. See the [module docs](super).
#[derive(Clone, Copy, Debug, Default)]
pub struct MetricsLayer {
    /// Private: leaves room for settings without breaking callers.
    _priv: (),
}

impl MetricsLayer {
    /// Records through the installed recorder.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Metrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Metrics::new(inner)
    }
}

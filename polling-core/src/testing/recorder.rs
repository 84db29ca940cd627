//! [`TestRecorder`]: a [`metrics::Recorder`] that keeps what it is told, for
//! tests that assert on metrics.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use metrics::{
    Counter, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};

/// A metric's name with its labels, sorted by label name.
type Id = (String, Vec<(String, String)>);

/// A [`metrics::Recorder`] that keeps every counter, gauge and histogram in
/// memory, for tests to read back by name and labels.
///
/// Install it for one test only, so that tests running in parallel do not
/// see each other's metrics: [`TestRecorder::block_on`] runs a future on a
/// current-thread runtime with this recorder as the thread's local recorder,
/// which every task spawned on that runtime sees too (they run on the same
/// thread). Clones share the recorded values.
///
/// # Example
///
/// ```
/// use polling_core::metrics::{outcome, VOTES_TOTAL};
/// use polling_core::testing::TestRecorder;
///
/// let recorder = TestRecorder::new();
/// recorder.block_on(async {
///     metrics::counter!(VOTES_TOTAL, outcome::LABEL => outcome::ACCEPTED).increment(2);
/// });
/// assert_eq!(recorder.counter(VOTES_TOTAL, &[(outcome::LABEL, outcome::ACCEPTED)]), 2);
/// assert_eq!(recorder.counter(VOTES_TOTAL, &[(outcome::LABEL, outcome::DUPLICATE)]), 0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct TestRecorder {
    /// The values, shared by clones.
    inner: Arc<Registry>,
}

/// What a [`TestRecorder`] recorded.
#[derive(Debug, Default)]
struct Registry {
    /// Counter values.
    counters: Mutex<HashMap<Id, Arc<AtomicU64>>>,
    /// Gauge values.
    gauges: Mutex<HashMap<Id, Arc<TestGauge>>>,
    /// Histogram samples.
    histograms: Mutex<HashMap<Id, Arc<TestHistogram>>>,
    /// The unit and help text given by `describe_*`, by name.
    descriptions: Mutex<HashMap<String, (Option<Unit>, String)>>,
}

/// A gauge's value.
#[derive(Debug, Default)]
struct TestGauge(Mutex<f64>);

impl GaugeFn for TestGauge {
    fn increment(&self, value: f64) {
        *lock(&self.0) += value;
    }

    fn decrement(&self, value: f64) {
        *lock(&self.0) -= value;
    }

    fn set(&self, value: f64) {
        *lock(&self.0) = value;
    }
}

/// A histogram's samples.
#[derive(Debug, Default)]
struct TestHistogram(Mutex<Vec<f64>>);

impl HistogramFn for TestHistogram {
    fn record(&self, value: f64) {
        lock(&self.0).push(value);
    }
}

/// Locks `mutex`, ignoring poisoning (a panicking test thread must not hide
/// what was recorded).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The [`Id`] of `key`.
fn id_of_key(key: &Key) -> Id {
    let mut labels: Vec<_> = key
        .labels()
        .map(|label| (label.key().to_owned(), label.value().to_owned()))
        .collect();
    labels.sort();
    (key.name().to_owned(), labels)
}

/// The [`Id`] of `name` with `labels`.
fn id_of(name: &str, labels: &[(&str, &str)]) -> Id {
    let mut labels: Vec<_> = labels
        .iter()
        .map(|&(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    labels.sort();
    (name.to_owned(), labels)
}

/// The entry of `id` in `map`, made if missing.
fn entry<T: Default>(map: &Mutex<HashMap<Id, Arc<T>>>, id: Id) -> Arc<T> {
    Arc::clone(lock(map).entry(id).or_default())
}

impl TestRecorder {
    /// A recorder that has recorded nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `f` with this recorder as the current thread's recorder.
    pub fn in_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(self, f)
    }

    /// Runs `future` to completion on a new current-thread runtime (time and
    /// I/O enabled) with this recorder as the thread's recorder: everything
    /// the future and the tasks it spawns record lands here.
    ///
    /// # Panics
    ///
    /// When called within a Tokio runtime, or when the runtime cannot be built.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("build a current-thread runtime");
        self.in_scope(|| runtime.block_on(future))
    }

    /// The value of the counter `name` with exactly `labels` (in any order);
    /// 0 if it was never recorded.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        lock(&self.inner.counters)
            .get(&id_of(name, labels))
            .map_or(0, |value| value.load(Ordering::SeqCst))
    }

    /// The sum of the counter `name` over all its label values.
    pub fn counter_total(&self, name: &str) -> u64 {
        lock(&self.inner.counters)
            .iter()
            .filter(|((n, _), _)| n == name)
            .map(|(_, value)| value.load(Ordering::SeqCst))
            .sum()
    }

    /// The value of the gauge `name` with exactly `labels`, if it was ever
    /// recorded.
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        lock(&self.inner.gauges)
            .get(&id_of(name, labels))
            .map(|gauge| *lock(&gauge.0))
    }

    /// The samples of the histogram `name` with exactly `labels`, in the
    /// order recorded; empty if it was never recorded.
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        lock(&self.inner.histograms)
            .get(&id_of(name, labels))
            .map(|histogram| lock(&histogram.0).clone())
            .unwrap_or_default()
    }

    /// The unit and help text `name` was described with, if it was.
    pub fn description(&self, name: &str) -> Option<(Option<Unit>, String)> {
        lock(&self.inner.descriptions).get(name).cloned()
    }

    fn describe(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        lock(&self.inner.descriptions).insert(
            key.as_str().to_owned(),
            (unit, description.as_ref().to_owned()),
        );
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, unit, description);
    }

    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> Counter {
        Counter::from_arc(entry(&self.inner.counters, id_of_key(key)))
    }

    fn register_gauge(&self, key: &Key, _metadata: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(entry(&self.inner.gauges, id_of_key(key)))
    }

    fn register_histogram(&self, key: &Key, _metadata: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(entry(&self.inner.histograms, id_of_key(key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_kept_by_name_and_labels_in_any_order() {
        let recorder = TestRecorder::new();
        recorder.in_scope(|| {
            metrics::counter!("c_total", "a" => "1", "b" => "2").increment(2);
            metrics::counter!("c_total", "b" => "2", "a" => "1").increment(1);
            metrics::counter!("c_total", "a" => "9", "b" => "2").increment(5);
            metrics::gauge!("g").increment(3.0);
            metrics::gauge!("g").decrement(1.0);
            metrics::histogram!("h_seconds").record(0.5);
            metrics::histogram!("h_seconds").record(1.5);
        });
        assert_eq!(recorder.counter("c_total", &[("b", "2"), ("a", "1")]), 3);
        assert_eq!(recorder.counter("c_total", &[("a", "1")]), 0);
        assert_eq!(recorder.counter_total("c_total"), 8);
        assert_eq!(recorder.gauge("g", &[]), Some(2.0));
        assert_eq!(recorder.gauge("h", &[]), None);
        assert_eq!(recorder.histogram("h_seconds", &[]), [0.5, 1.5]);
    }

    #[test]
    fn nothing_is_recorded_outside_the_scope() {
        let recorder = TestRecorder::new();
        metrics::counter!("c_total").increment(1);
        assert_eq!(recorder.counter("c_total", &[]), 0);
    }

    #[test]
    fn spawned_tasks_record_into_the_block_on_recorder() {
        let recorder = TestRecorder::new();
        recorder.block_on(async {
            tokio::spawn(async { metrics::counter!("spawned_total").increment(1) })
                .await
                .unwrap();
        });
        assert_eq!(recorder.counter("spawned_total", &[]), 1);
    }

    #[test]
    fn describe_gives_every_metric_help_and_a_unit() {
        let recorder = TestRecorder::new();
        recorder.in_scope(crate::metrics::describe);
        let (unit, help) = recorder
            .description(crate::metrics::VOTE_DURATION_SECONDS)
            .expect("described");
        assert_eq!(unit, Some(Unit::Seconds));
        assert!(!help.is_empty());
        for name in [
            crate::metrics::VOTES_TOTAL,
            crate::metrics::LIVE_SOCKETS,
            crate::metrics::REDIS_PUBSUB_CONNECTED,
            crate::metrics::BROADCAST_RESYNCS_TOTAL,
        ] {
            assert!(recorder.description(name).is_some(), "{name} described");
        }
    }
}

//! A metric sink that keeps what it is given, for tests that check the metrics a piece of work
//! reports (`deploybot_core::metrics`). The sink is the process's one sink, so a test finds
//! its own lines by a value only it uses (a route, an environment, a provider status).

use deploybot_core::metrics::{Metric, MetricSink, install};
use serde_json::Value;
use std::sync::{Arc, Mutex, OnceLock};

/// The metrics recorded in this process, oldest first, as EMF objects.
#[derive(Debug, Default)]
pub struct CapturedMetrics {
    lines: Mutex<Vec<Value>>,
}

/// A fixed timestamp, so that a test can compare whole lines.
pub const TIMESTAMP_MS: i64 = 1_700_000_000_000;

impl MetricSink for CapturedMetrics {
    fn record(&self, metric: &Metric) {
        if let Ok(mut lines) = self.lines.lock() {
            lines.push(metric.to_emf(TIMESTAMP_MS));
        }
    }
}

impl CapturedMetrics {
    /// Every line recorded so far whose metric is `name` and whose dimension `dimension` is
    /// `value`.
    pub fn lines(&self, name: &str, dimension: &str, value: &str) -> Vec<Value> {
        self.lines
            .lock()
            .map(|lines| {
                lines
                    .iter()
                    .filter(|l| l.get(name).is_some() && l[dimension] == value)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

static CAPTURED: OnceLock<Option<Arc<CapturedMetrics>>> = OnceLock::new();

/// The process's capturing sink, installed on first use; `None` when the process installed
/// another sink before (a test then cannot see its metrics, and says so).
pub fn captured() -> Option<Arc<CapturedMetrics>> {
    CAPTURED
        .get_or_init(|| {
            let sink = Arc::new(CapturedMetrics::default());
            install(sink.clone()).then_some(sink)
        })
        .clone()
}

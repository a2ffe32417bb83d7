//! The metrics deploybot reports, as CloudWatch embedded-metric-format (EMF) log lines: one
//! JSON object per line, which CloudWatch Logs turns into metrics with no call of ours
//! (docs/operations.md, "Metrics"). What a line says is decided here; where lines go is the
//! process's choice ([`install`]: standard output on Lambda, the log locally, a buffer in tests).

use serde_json::{Map, Value, json};
use std::sync::{Arc, OnceLock};

/// The CloudWatch namespace of every metric (the template's alarms and dashboard use it).
pub const NAMESPACE: &str = "deploybot";

/// One measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metric {
    /// A deployment ended: `outcome` is its final state (`success`, `failure`, `error`,
    /// `inactive`).
    Deployment {
        environment: String,
        outcome: String,
    },
    /// A request to `route` was refused for its signature (401).
    SignatureFailure { route: String },
    /// A provider's API answered with an error: `status` is the HTTP status, or 0 when no
    /// answer came (a timeout, a refused connection).
    ProviderError { provider: String, status: u16 },
    /// How many deployments wait in a lane of `environment` after it changed.
    LaneQueueDepth { environment: String, depth: u64 },
    /// The watchdog settled something the events did not: `action` is what it did
    /// (`start_pipeline`, `reconcile`, `free_lane`).
    WatchdogReconciliation { action: String },
}

impl Metric {
    /// The metric's name in CloudWatch.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Deployment { .. } => "Deployments",
            Self::SignatureFailure { .. } => "SignatureFailures",
            Self::ProviderError { .. } => "ProviderApiErrors",
            Self::LaneQueueDepth { .. } => "LaneQueueDepth",
            Self::WatchdogReconciliation { .. } => "WatchdogReconciliations",
        }
    }

    fn unit(&self) -> &'static str {
        "Count"
    }

    fn value(&self) -> u64 {
        match self {
            Self::LaneQueueDepth { depth, .. } => *depth,
            _ => 1,
        }
    }

    /// The dimensions, in order: (name, value).
    fn dimensions(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Deployment {
                environment,
                outcome,
            } => vec![
                ("Environment", environment.clone()),
                ("Outcome", outcome.clone()),
            ],
            Self::SignatureFailure { route } => vec![("Route", route.clone())],
            Self::ProviderError { provider, status } => vec![
                ("Provider", provider.clone()),
                ("Status", status.to_string()),
            ],
            Self::LaneQueueDepth { environment, .. } => {
                vec![("Environment", environment.clone())]
            }
            Self::WatchdogReconciliation { action } => vec![("Action", action.clone())],
        }
    }

    /// The EMF object for this metric at `timestamp_ms` (Unix milliseconds). Two dimension
    /// sets are declared: the metric's own dimensions, and none at all — the total the
    /// template's alarms watch without naming every environment or route.
    pub fn to_emf(&self, timestamp_ms: i64) -> Value {
        let dimensions = self.dimensions();
        let names: Vec<&str> = dimensions.iter().map(|(name, _)| *name).collect();
        let mut line = Map::new();
        line.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [names, []],
                    "Metrics": [{"Name": self.name(), "Unit": self.unit()}],
                }],
            }),
        );
        for (name, value) in dimensions {
            line.insert(name.into(), Value::String(value));
        }
        line.insert(self.name().into(), json!(self.value()));
        Value::Object(line)
    }

    /// [`Metric::to_emf`] as one log line.
    pub fn to_emf_line(&self, timestamp_ms: i64) -> String {
        self.to_emf(timestamp_ms).to_string()
    }
}

/// Where a process's metrics go.
pub trait MetricSink: Send + Sync {
    fn record(&self, metric: &Metric);
}

static SINK: OnceLock<Arc<dyn MetricSink>> = OnceLock::new();

/// Makes `sink` the process's metric sink; the first one installed stays (false when one was
/// installed already). A process that installs none reports nothing.
pub fn install(sink: Arc<dyn MetricSink>) -> bool {
    SINK.set(sink).is_ok()
}

/// Reports `metric` to the installed sink, if any.
pub fn emit(metric: Metric) {
    if let Some(sink) = SINK.get() {
        sink.record(&metric);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_an_emf_line_with_its_dimensions() {
        let cases = [
            (
                Metric::Deployment {
                    environment: "production".into(),
                    outcome: "success".into(),
                },
                json!({
                    "_aws": {"Timestamp": 1_700_000_000_000_i64, "CloudWatchMetrics": [{
                        "Namespace": "deploybot",
                        "Dimensions": [["Environment", "Outcome"], []],
                        "Metrics": [{"Name": "Deployments", "Unit": "Count"}]}]},
                    "Environment": "production", "Outcome": "success", "Deployments": 1
                }),
            ),
            (
                Metric::SignatureFailure {
                    route: "/github/webhook".into(),
                },
                json!({
                    "_aws": {"Timestamp": 1_700_000_000_000_i64, "CloudWatchMetrics": [{
                        "Namespace": "deploybot",
                        "Dimensions": [["Route"], []],
                        "Metrics": [{"Name": "SignatureFailures", "Unit": "Count"}]}]},
                    "Route": "/github/webhook", "SignatureFailures": 1
                }),
            ),
            (
                Metric::ProviderError {
                    provider: "github".into(),
                    status: 502,
                },
                json!({
                    "_aws": {"Timestamp": 1_700_000_000_000_i64, "CloudWatchMetrics": [{
                        "Namespace": "deploybot",
                        "Dimensions": [["Provider", "Status"], []],
                        "Metrics": [{"Name": "ProviderApiErrors", "Unit": "Count"}]}]},
                    "Provider": "github", "Status": "502", "ProviderApiErrors": 1
                }),
            ),
            (
                Metric::LaneQueueDepth {
                    environment: "preview".into(),
                    depth: 3,
                },
                json!({
                    "_aws": {"Timestamp": 1_700_000_000_000_i64, "CloudWatchMetrics": [{
                        "Namespace": "deploybot",
                        "Dimensions": [["Environment"], []],
                        "Metrics": [{"Name": "LaneQueueDepth", "Unit": "Count"}]}]},
                    "Environment": "preview", "LaneQueueDepth": 3
                }),
            ),
            (
                Metric::WatchdogReconciliation {
                    action: "reconcile".into(),
                },
                json!({
                    "_aws": {"Timestamp": 1_700_000_000_000_i64, "CloudWatchMetrics": [{
                        "Namespace": "deploybot",
                        "Dimensions": [["Action"], []],
                        "Metrics": [{"Name": "WatchdogReconciliations", "Unit": "Count"}]}]},
                    "Action": "reconcile", "WatchdogReconciliations": 1
                }),
            ),
        ];
        for (metric, want) in cases {
            assert_eq!(metric.to_emf(1_700_000_000_000), want, "{metric:?}");
            let line = metric.to_emf_line(1_700_000_000_000);
            assert!(!line.contains('\n'), "one line: {line}");
            let back: Value = serde_json::from_str(&line).expect("the line is JSON");
            assert_eq!(back, want);
        }
    }
}

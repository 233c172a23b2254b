//! `/metrics`: counters and latency histograms, on `prometheus-client` (atomic
//! counters per label set, OpenMetrics text).

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::decision::{Decision, DecisionStatus};
use crate::service::{Failure, Outcome};

/// Latency buckets in seconds: from a plugin call (tens of µs) to a slow webhook.
const BUCKETS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0,
];

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceStatus {
    source: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabel {
    source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PipelineOutcome {
    pipeline: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PipelineStatus {
    pipeline: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PipelineLabel {
    pipeline: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginResult {
    plugin: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabel {
    plugin: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<SourceStatus, Counter>,
    request_seconds: Histograms<SourceLabel>,
    decisions: Family<PipelineOutcome, Counter>,
    evaluate_requests: Family<PipelineStatus, Counter>,
    evaluate_seconds: Histograms<PipelineLabel>,
    plugin_calls: Family<PluginResult, Counter>,
    plugin_seconds: Histograms<PluginLabel>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::default();
        let request_seconds = Histograms::new_with_constructor(histogram as fn() -> Histogram);
        let decisions = Family::default();
        let evaluate_requests = Family::default();
        let evaluate_seconds = Histograms::new_with_constructor(histogram as fn() -> Histogram);
        let plugin_calls = Family::default();
        let plugin_seconds = Histograms::new_with_constructor(histogram as fn() -> Histogram);
        registry.register(
            "leadwire_requests",
            "Webhook requests by source and HTTP status",
            requests.clone(),
        );
        registry.register(
            "leadwire_request_duration_seconds",
            "Webhook request latency by source",
            request_seconds.clone(),
        );
        registry.register(
            "leadwire_decisions",
            "Decisions by pipeline and outcome (ok, error, duplicate; retry: a failure that may \
             pass, released for the CRM to retry; failed: the same, recorded after \
             server.max_attempts)",
            decisions.clone(),
        );
        registry.register(
            "leadwire_evaluate_requests",
            "POST /v1/pipelines/{name}/evaluate requests by pipeline and HTTP status",
            evaluate_requests.clone(),
        );
        registry.register(
            "leadwire_evaluate_duration_seconds",
            "Evaluate request latency by pipeline",
            evaluate_seconds.clone(),
        );
        registry.register(
            "leadwire_plugin_calls",
            "Plugin calls by plugin and result (ok or the error kind)",
            plugin_calls.clone(),
        );
        registry.register(
            "leadwire_plugin_call_duration_seconds",
            "Plugin call latency by plugin",
            plugin_seconds.clone(),
        );
        Metrics {
            registry,
            requests,
            request_seconds,
            decisions,
            evaluate_requests,
            evaluate_seconds,
            plugin_calls,
            plugin_seconds,
        }
    }
}

impl Metrics {
    /// One webhook request (`source` is `unknown` for a name not configured).
    pub fn request(&self, source: &str, status: u16, elapsed: Duration) {
        let source = source.to_string();
        self.request_seconds
            .get_or_create(&SourceLabel {
                source: source.clone(),
            })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&SourceStatus { source, status })
            .inc();
    }

    /// One evaluate request (`pipeline` is `unknown` for a name not configured).
    pub fn evaluate(&self, pipeline: &str, status: u16, elapsed: Duration) {
        let pipeline = pipeline.to_string();
        self.evaluate_seconds
            .get_or_create(&PipelineLabel {
                pipeline: pipeline.clone(),
            })
            .observe(elapsed.as_secs_f64());
        self.evaluate_requests
            .get_or_create(&PipelineStatus { pipeline, status })
            .inc();
    }

    /// What became of an event.
    pub fn outcome(&self, outcome: &Outcome) {
        match outcome {
            Outcome::Decided(d) => {
                let label = match d.status {
                    DecisionStatus::Ok => "ok",
                    DecisionStatus::Error => "error",
                };
                self.decided(d, label)
            }
            Outcome::Duplicate(d) => self.decision(d, "duplicate"),
            Outcome::GaveUp(d) => self.decided(d, "failed"),
        }
    }

    /// An event that was not decided; a transient failure's plugins did run.
    pub fn failure(&self, failure: &Failure) {
        if let Failure::Transient { decision, .. } = failure {
            self.decided(decision, "retry");
        }
    }

    fn decision(&self, d: &Decision, outcome: &'static str) {
        self.decisions
            .get_or_create(&PipelineOutcome {
                pipeline: d.pipeline.clone(),
                outcome,
            })
            .inc();
    }

    /// A decision whose plugins ran now: it and each of its steps.
    fn decided(&self, d: &Decision, outcome: &'static str) {
        self.decision(d, outcome);
        for step in &d.steps {
            let result = step.error.as_ref().map(|e| e.kind()).unwrap_or("ok");
            self.plugin_calls
                .get_or_create(&PluginResult {
                    plugin: step.plugin.clone(),
                    result,
                })
                .inc();
            self.plugin_seconds
                .get_or_create(&PluginLabel {
                    plugin: step.plugin.clone(),
                })
                .observe(Duration::from_micros(step.metrics.duration_us).as_secs_f64());
        }
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

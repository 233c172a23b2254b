//! `/metrics`: counters and latency histograms, on `prometheus-client` (atomic
//! counters per label set, OpenMetrics text).

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::decision::{Decision, DecisionStatus, FeedbackVerdict};
use crate::service::{Failure, Outcome};
use crate::store::timers::TOUCH_BUCKETS;
use crate::store::{OutboxCount, OutboxRow, Settled, SlaFigures};

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
struct ConnectionResult {
    connection: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectionStatus {
    connection: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectionLabel {
    connection: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabel {
    plugin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FeedbackLabel {
    source: String,
    verdict: &'static str,
    /// A rejection's reason code; empty for an acceptance.
    reason: String,
    via: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PolicyState {
    policy: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TouchBucket {
    policy: String,
    /// `raw` (elapsed) or `business` (working time on the policy's calendar).
    clock: &'static str,
    le: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PolicyClock {
    policy: String,
    clock: &'static str,
}

type FloatGauge = Gauge<f64, std::sync::atomic::AtomicU64>;

pub struct Metrics {
    registry: Registry,
    requests: Family<SourceStatus, Counter>,
    request_seconds: Histograms<SourceLabel>,
    decisions: Family<PipelineOutcome, Counter>,
    evaluate_requests: Family<PipelineStatus, Counter>,
    evaluate_seconds: Histograms<PipelineLabel>,
    plugin_calls: Family<PluginResult, Counter>,
    plugin_seconds: Histograms<PluginLabel>,
    outbox_deliveries: Family<ConnectionResult, Counter>,
    outbox_rows: Family<ConnectionStatus, Gauge>,
    outbox_oldest: Family<ConnectionLabel, Gauge>,
    feedback: Family<FeedbackLabel, Counter>,
    sla_timers: Family<PolicyState, Gauge>,
    first_touch: Family<TouchBucket, Gauge>,
    first_touch_sum: Family<PolicyClock, FloatGauge>,
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
        let outbox_deliveries = Family::default();
        let outbox_rows = Family::default();
        let outbox_oldest = Family::default();
        let feedback = Family::default();
        let sla_timers = Family::default();
        let first_touch = Family::default();
        let first_touch_sum = Family::default();
        registry.register(
            "leadwire_feedback",
            "Sales' answers recorded here by source, verdict (accepted, rejected), reason code and \
             via (api, crm)",
            feedback.clone(),
        );
        registry.register(
            "leadwire_sla_timers",
            "SLA timers in the store by policy and state (pending, met, breached, cancelled): the \
             outcomes, the same on every replica",
            sla_timers.clone(),
        );
        registry.register(
            "leadwire_sla_first_touch",
            "Met SLA timers whose first touch came within `le` seconds of the assignment, by \
             policy and clock (raw: elapsed; business: working time on the policy's calendar); \
             cumulative, le=\"+Inf\" counts them all: histogram_quantile() reads it",
            first_touch.clone(),
        );
        registry.register(
            "leadwire_sla_first_touch_sum_seconds",
            "The met SLA timers' times to first touch added up, by policy and clock",
            first_touch_sum.clone(),
        );
        registry.register(
            "leadwire_outbox_deliveries",
            "Outbox delivery attempts by connection and result (done; retry: may pass, backing \
             off; later: rate limited, not counted as an attempt; dead: a dead letter)",
            outbox_deliveries.clone(),
        );
        registry.register(
            "leadwire_outbox_rows",
            "Writes not yet delivered by connection and status (pending, inflight, dead)",
            outbox_rows.clone(),
        );
        registry.register(
            "leadwire_outbox_oldest_pending_seconds",
            "Age of the oldest write still waiting (pending or inflight), by connection",
            outbox_oldest.clone(),
        );
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
            outbox_deliveries,
            outbox_rows,
            outbox_oldest,
            feedback,
            sla_timers,
            first_touch,
            first_touch_sum,
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

    /// One outbox delivery attempt.
    pub fn delivered(&self, row: &OutboxRow, settled: &Settled) {
        let result = match settled {
            Settled::Done => "done",
            Settled::Retry { .. } => "retry",
            Settled::Later { .. } => "later",
            Settled::Dead { .. } => "dead",
        };
        self.outbox_deliveries
            .get_or_create(&ConnectionResult {
                connection: row.connection.clone(),
                result,
            })
            .inc();
    }

    /// The outbox as it stands (read from the store at each scrape).
    pub fn outbox(&self, counts: &[OutboxCount], now_ms: i64) {
        self.outbox_rows.clear();
        self.outbox_oldest.clear();
        for c in counts {
            self.outbox_rows
                .get_or_create(&ConnectionStatus {
                    connection: c.connection.clone(),
                    status: c.status.clone(),
                })
                .set(i64::try_from(c.rows).unwrap_or(i64::MAX));
            if c.status != "dead" {
                let age = (now_ms - c.oldest_created_at).max(0) / 1000;
                let gauge = self.outbox_oldest.get_or_create(&ConnectionLabel {
                    connection: c.connection.clone(),
                });
                gauge.set(gauge.get().max(age));
            }
        }
    }

    /// The SLA timers as they stand (read from the store at each scrape).
    pub fn sla(&self, figures: &SlaFigures) {
        self.sla_timers.clear();
        self.first_touch.clear();
        self.first_touch_sum.clear();
        for (policy, state, n) in &figures.timers {
            self.sla_timers
                .get_or_create(&PolicyState {
                    policy: policy.clone(),
                    state: state.clone(),
                })
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
        for t in &figures.touch {
            for (clock, buckets, sum_ms) in [
                ("raw", &t.raw, t.raw_sum_ms),
                ("business", &t.business, t.business_sum_ms),
            ] {
                let les = TOUCH_BUCKETS.iter().map(|b| b.to_string());
                let counts = buckets.iter().copied();
                for (le, n) in les.zip(counts).chain([("+Inf".to_string(), t.count)]) {
                    self.first_touch
                        .get_or_create(&TouchBucket {
                            policy: t.policy.clone(),
                            clock,
                            le,
                        })
                        .set(i64::try_from(n).unwrap_or(i64::MAX));
                }
                self.first_touch_sum
                    .get_or_create(&PolicyClock {
                        policy: t.policy.clone(),
                        clock,
                    })
                    .set(sum_ms as f64 / 1000.0);
            }
        }
    }

    /// What became of an event.
    pub fn outcome(&self, outcome: &Outcome) {
        if let Outcome::Decided(d) = outcome {
            if let Some(f) = &d.feedback {
                let verdict = match f.verdict {
                    FeedbackVerdict::Accepted => "accepted",
                    FeedbackVerdict::Rejected => "rejected",
                };
                self.feedback
                    .get_or_create(&FeedbackLabel {
                        source: d.source.clone(),
                        verdict,
                        reason: f.reason.clone().unwrap_or_default(),
                        via: f.via.clone(),
                    })
                    .inc();
            }
        }
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

//! Prometheus text metrics, kept in memory: counters and latency histograms with
//! labels. Small enough to write by hand; no exporter dependency.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Latency buckets in seconds: from a plugin call (tens of µs) to a slow webhook.
const BUCKETS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0,
];

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, Labels), u64>>,
    histograms: Mutex<BTreeMap<(&'static str, Labels), Histogram>>,
}

const HELP: &[(&str, &str, &str)] = &[
    (
        "leadwire_requests_total",
        "counter",
        "Webhook requests by source and HTTP status.",
    ),
    (
        "leadwire_decisions_total",
        "counter",
        "Decisions by pipeline and outcome (ok, error, duplicate; retry: a failure that may pass, \
         released for the CRM to retry; failed: the same, recorded after server.max_attempts).",
    ),
    (
        "leadwire_evaluate_requests_total",
        "counter",
        "POST /v1/pipelines/{name}/evaluate requests by pipeline and HTTP status.",
    ),
    (
        "leadwire_evaluate_duration_seconds",
        "histogram",
        "Evaluate request latency by pipeline.",
    ),
    (
        "leadwire_plugin_calls_total",
        "counter",
        "Plugin calls by plugin and result (ok or the error kind).",
    ),
    (
        "leadwire_request_duration_seconds",
        "histogram",
        "Webhook request latency by source.",
    ),
    (
        "leadwire_plugin_call_duration_seconds",
        "histogram",
        "Plugin call latency by plugin.",
    ),
];

impl Metrics {
    pub fn count(&self, name: &'static str, labels: Labels) {
        *self
            .counters
            .lock()
            .unwrap()
            .entry((name, labels))
            .or_default() += 1;
    }

    pub fn observe(&self, name: &'static str, labels: Labels, value: Duration) {
        let secs = value.as_secs_f64();
        let mut histograms = self.histograms.lock().unwrap();
        let h = histograms.entry((name, labels)).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let counters = self.counters.lock().unwrap();
        let histograms = self.histograms.lock().unwrap();
        let mut out = String::new();
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((n, labels), value) in counters.iter().filter(|((n, _), _)| n == name) {
                let _ = writeln!(out, "{n}{} {value}", fmt_labels(labels, None));
            }
            for ((n, labels), h) in histograms.iter().filter(|((n, _), _)| n == name) {
                for (i, bound) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "{n}_bucket{} {}",
                        fmt_labels(labels, Some(&bound.to_string())),
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "{n}_bucket{} {}",
                    fmt_labels(labels, Some("+Inf")),
                    h.count
                );
                let _ = writeln!(out, "{n}_sum{} {}", fmt_labels(labels, None), h.sum);
                let _ = writeln!(out, "{n}_count{} {}", fmt_labels(labels, None), h.count);
            }
        }
        out
    }
}

fn fmt_labels(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}=\"{}\"",
                v.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
            )
        })
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

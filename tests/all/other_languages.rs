//! Plugins in Python (componentize-py) and JavaScript (componentize-js):
//! examples/python-scorer and examples/js-scorer, built by their own
//! build.sh (which installs the pinned tool under target/guest-tools, from
//! PyPI and npm), loaded with the default limits and run on a lead with 200
//! activities. Both carry an interpreter, which turns each activity into its
//! own objects: the call's fuel grows with its input (`fuel_per_input_kib`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;

use common::*;
use leadwire::decision::{DecisionStatus, VerdictOut};

/// The component `examples/NAME/build.sh` makes, built again when a file
/// of the example is newer than it. Into target/guest-tools, not beside the
/// Rust guests in target/plugins, which host/build.rs watches: a test must
/// not make the next `cargo build` compile the host again.
fn built(example: &str, file: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root.join("examples").join(example);
    let out = root.join("target/guest-tools").join(file);
    let newest_source = walk(&dir)
        .iter()
        .filter_map(|f| f.metadata().and_then(|m| m.modified()).ok())
        .max()
        .unwrap();
    let fresh = out
        .metadata()
        .and_then(|m| m.modified())
        .is_ok_and(|built| built >= newest_source);
    if !fresh {
        let status = Command::new("bash")
            .arg(dir.join("build.sh"))
            .arg(&out)
            .status()
            .expect("bash");
        assert!(status.success(), "examples/{example}/build.sh failed");
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// A lead with 200 activities, all in the last 90 days, each with the
/// properties a CRM sends (a page view has four).
fn lead_with_200_activities() -> String {
    let kinds = [
        ("page_view", 120),
        ("email_open", 40),
        ("email_click", 20),
        ("form_submit", 10),
        ("meeting_booked", 5),
        ("demo_request", 5),
    ];
    let mut activities = Vec::new();
    let mut n = 0i64;
    for (kind, count) in kinds {
        for i in 0..count {
            n += 1;
            let properties = match kind {
                "page_view" => serde_json::json!({
                    "url": if i % 3 == 0 { "/pricing" } else { "/blog/lead-scoring-101" },
                    "referrer": "https://www.google.com/",
                    "duration_s": 30 + i,
                    "session_id": format!("s-{n}"),
                }),
                "email_open" | "email_click" => serde_json::json!({
                    "campaign": "q4-webinar", "email_id": format!("em-{n}"), "url": "/features",
                }),
                "form_submit" => serde_json::json!({ "form": "contact", "page": "/contact" }),
                _ => serde_json::json!({ "source": "website" }),
            };
            // One every ten hours before the event: the oldest 83 days back.
            activities.push(serde_json::json!({
                "kind": kind,
                "at": EVENT_AT_MS - n * 36_000_000,
                "properties": properties,
            }));
        }
    }
    serde_json::json!({
        "lead": {
            "id": "big-1",
            "email": "maria@northwind-analytics.com",
            "fields": {
                "numberofemployees": "850", "jobtitle": "VP of Sales", "country": "United States",
                "industry": "COMPUTER_SOFTWARE", "hs_email_optout": false, "annualrevenue": 120000000,
            },
            "activities": activities,
        },
        "event": { "id": "evt-big-1", "trigger": "updated", "at": EVENT_AT },
    })
    .to_string()
}

/// Score the 200-activity lead with the component at `path`; the limits are
/// the defaults but the wall clock, which a test cannot hold to on a shared
/// machine (idle, a call takes 5 to 20 ms).
fn score_big_lead(path: &Path) -> leadwire::decision::StepRecord {
    let text = format!(
        "[plugins.scorer]\npath = '{}'\nlimits = {{ timeout_ms = 5000 }}\n{}",
        path.display(),
        pipeline("score", "scorer", "fail-closed"),
    );
    let pipelines = load(&text);
    let (lead, event) = lead_and_event(&lead_with_200_activities());
    assert_eq!(lead.activities.len(), 200);
    let decision = pipelines.run("score", lead, event).unwrap();
    let step = only_step(&decision).clone();
    assert_eq!(decision.status, DecisionStatus::Ok, "{step:#?}");
    step
}

/// The example's rules on the lead: fit 30 + 10; engagement per kind
/// capped (page views 10, opens 5, clicks 12, forms 15, meetings 30, demos
/// 40) and 40 pricing views at 2.
fn assert_the_examples_verdict(step: &leadwire::decision::StepRecord) {
    let Some(VerdictOut::Score(score)) = &step.verdict else {
        panic!("no score: {step:#?}");
    };
    assert_eq!(score.value, 232.0, "{score:#?}");
    assert_eq!(score.grade.as_deref(), Some("A"));
    assert_eq!(score.parts.get("fit"), Some(&40.0));
    assert_eq!(score.parts.get("engagement"), Some(&192.0));
    let rules: Vec<(&str, f64)> = score
        .contributions
        .iter()
        .map(|c| (c.rule.as_str(), c.points))
        .collect();
    assert_eq!(
        rules,
        [
            ("big-company", 30.0),
            ("business-email", 10.0),
            ("activity:demo_request", 40.0),
            ("activity:email_click", 12.0),
            ("activity:email_open", 5.0),
            ("activity:form_submit", 15.0),
            ("activity:meeting_booked", 30.0),
            ("activity:page_view", 10.0),
            ("pricing-views", 80.0),
        ]
    );
    // The default limits held: fuel grown with the input, 32 MiB of memory.
    let metrics = &step.metrics;
    let limit = metrics.fuel_limit.unwrap();
    assert!(limit > 10_000_000, "{metrics:#?}");
    assert!(metrics.fuel_used <= limit, "{metrics:#?}");
    assert!(metrics.peak_memory_bytes <= 32 << 20, "{metrics:#?}");
    assert_eq!(step.metrics.logs.len(), 1, "{metrics:#?}");
    eprintln!(
        "{}: fuel {} of {}, peak memory {} KiB, {} µs",
        step.plugin,
        metrics.fuel_used,
        limit,
        metrics.peak_memory_bytes >> 10,
        metrics.duration_us
    );
}

#[test]
fn a_python_scorer_reads_a_200_activity_lead_within_the_default_limits() {
    let step = score_big_lead(&built("python-scorer", "python_scorer.wasm"));
    assert_the_examples_verdict(&step);
}

#[test]
fn a_javascript_scorer_reads_a_200_activity_lead_within_the_default_limits() {
    let path = built("js-scorer", "js_scorer.wasm");
    // Built with every WASI feature off, it imports none: the host links none.
    let runtime = leadwire::Runtime::new().unwrap();
    let info = leadwire::runtime::inspect_file(runtime.engine(), &path).unwrap();
    assert!(info.wasi.is_empty(), "{:?}", info.wasi);
    let step = score_big_lead(&path);
    assert_the_examples_verdict(&step);
}

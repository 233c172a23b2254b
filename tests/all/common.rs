//! Shared helpers of the integration tests: where the built components are,
//! configs from inline TOML, a sample lead, and the "a normal plugin still works"
//! check run after every hostile case.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use leadwire::bindings::types::{Event, Lead};
use leadwire::capabilities::MemoryState;
use leadwire::decision::{DecisionStatus, StepRecord};
use leadwire::lead::LeadFile;
use leadwire::pipeline::LoadProblem;
use leadwire::{Config, Decision, Pipelines, Runtime};

/// Where host/build.rs puts every guest crate, compiled to a component.
pub const PLUGINS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/plugins");

pub use leadwire_test_artifacts as artifacts;

/// A guest component (an [`artifacts`] constant), which must have been built.
pub fn wasm(component: &str) -> PathBuf {
    let path = PathBuf::from(component);
    assert!(
        path.is_file(),
        "{} is missing: host/build.rs builds every guest crate when the host is built",
        path.display()
    );
    path
}

/// A `[plugins.NAME]` table for a built component, with extra lines (grants,
/// limits, config) appended.
pub fn plugin(name: &str, component: &str, extra: &str) -> String {
    format!(
        "[plugins.{name}]\npath = '{}'\n{extra}\n",
        wasm(component).display()
    )
}

/// A one-step `[pipelines.NAME]` table.
pub fn pipeline(name: &str, plugin: &str, on_error: &str) -> String {
    format!(
        "[pipelines.{name}]\nsteps = [{{ plugin = \"{plugin}\", on_error = \"{on_error}\" }}]\n"
    )
}

/// The config file path inline configs pretend to come from (plugin paths in
/// them are absolute, so it only shows in messages).
pub const INLINE_CONFIG: &str = "tests/inline.toml";

pub fn config(text: &str) -> Config {
    Config::parse(text, Path::new(INLINE_CONFIG))
        .unwrap_or_else(|e| panic!("config does not parse: {e}\n--- config ---\n{text}"))
}

pub fn load(text: &str) -> Pipelines {
    let runtime = Arc::new(Runtime::new().expect("wasmtime engine"));
    Pipelines::load(&config(text), runtime, Arc::new(MemoryState::default()))
        .unwrap_or_else(|e| panic!("config does not load: {e}\n--- config ---\n{text}"))
}

/// The problems of a config that parses but must not load.
pub fn load_problems(text: &str) -> Vec<LoadProblem> {
    let runtime = Arc::new(Runtime::new().expect("wasmtime engine"));
    match Pipelines::load(&config(text), runtime, Arc::new(MemoryState::default())) {
        Ok(_) => panic!("config loaded, but it should not have\n--- config ---\n{text}"),
        Err(errors) => errors.0,
    }
}

/// The sample event's time, 2021-03-04T05:06:07.089Z: far from the real clock,
/// and with milliseconds, so a plugin reading a real clock cannot match it.
pub const EVENT_AT: &str = "2021-03-04T05:06:07.089Z";
pub const EVENT_AT_MS: i64 = 1_614_834_367_089;

/// A lead `custom_scorer` gives 25 points: 20 for the VP title and 5 for the one
/// pricing-page view in the last 30 days (the other is 60 days old).
pub const SAMPLE_LEAD: &str = r#"{
  "lead": {
    "id": "1001",
    "email": "ana@acme.com",
    "company_domain": "acme.com",
    "fields": { "jobtitle": "VP Sales", "numberofemployees": 250 },
    "activities": [
      { "kind": "page_view", "at": "2021-03-03T05:06:07Z", "properties": { "url": "/pricing" } },
      { "kind": "page_view", "at": "2021-01-03T05:06:07Z", "properties": { "url": "/pricing" } }
    ]
  },
  "event": { "id": "evt-1", "trigger": "created", "at": "2021-03-04T05:06:07.089Z" }
}"#;

pub fn lead_and_event(json: &str) -> (Lead, Event) {
    let (doc, event) = LeadFile::parse(json).expect("lead JSON");
    let lead = doc.to_lead("test").expect("lead");
    let event = event
        .unwrap_or_default()
        .to_event(&lead.id, 0)
        .expect("event");
    (lead, event)
}

/// Run the sample lead through a pipeline.
pub fn run(pipelines: &Pipelines, pipeline: &str) -> Decision {
    let (lead, event) = lead_and_event(SAMPLE_LEAD);
    pipelines
        .run(pipeline, lead, event)
        .expect("known pipeline")
}

/// The one step of a one-step decision.
pub fn only_step(decision: &Decision) -> &StepRecord {
    assert_eq!(decision.steps.len(), 1, "{decision:#?}");
    &decision.steps[0]
}

/// `custom_scorer` on the sample lead, through `pipeline`: ok, 25 points, with
/// its two reasons and its log line. Run after each hostile call, on the same
/// loaded `Pipelines`, to show the host is unharmed.
pub fn assert_custom_scorer_still_works(pipelines: &Pipelines, pipeline: &str) {
    let decision = run(pipelines, pipeline);
    assert_eq!(decision.status, DecisionStatus::Ok, "{decision:#?}");
    assert_eq!(decision.error, None);
    let step = only_step(&decision);
    assert!(step.error.is_none(), "{:?}", step.error);
    let score = decision.score.as_ref().expect("a score");
    assert_eq!(score.value, 25.0, "{score:#?}");
    let rules: Vec<&str> = score
        .contributions
        .iter()
        .map(|c| c.rule.as_str())
        .collect();
    assert_eq!(rules, ["senior-title", "pricing-views"]);
    assert_eq!(
        score.contributions[1].reason,
        "1 pricing page view(s) in the last 30 days"
    );
    assert_eq!(step.metrics.logs, ["info: 2 rule(s) fired"]);
}

/// Run the `leadwire` binary with these arguments; its warnings are kept off
/// stderr so that tests assert only on what they mean to.
pub fn leadwire(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_leadwire"))
        .args(args)
        .env("LEADWIRE_LOG", "error")
        .output()
        .expect("run the leadwire binary")
}

//! examples/witbindgen-scorer: a plugin written straight against the WIT with
//! wit-bindgen, no SDK, loads and runs through the host like any other. The
//! contract, not the SDK, is what the host depends on.

use crate::common;

use common::*;
use leadwire::decision::DecisionStatus;
use leadwire::error::CallError;
use leadwire::runtime::{Role, inspect_file};

const BIG_COMPANY_LEAD: &str = r#"{
  "lead": { "id": "2001", "email": "ana@Acme.com", "fields": { "numberofemployees": 250 } },
  "event": { "id": "evt-2", "at": "2021-03-04T05:06:07Z" }
}"#;

const SMALL_FREEMAIL_LEAD: &str = r#"{
  "lead": { "id": "2002", "email": "bob@gmail.com", "fields": { "numberofemployees": 12 } },
  "event": { "id": "evt-3", "at": "2021-03-04T05:06:07Z" }
}"#;

fn config_with(settings: &str) -> String {
    [
        plugin("direct", artifacts::WITBINDGEN_SCORER, settings),
        pipeline("score", "direct", "fail-closed"),
    ]
    .concat()
}

#[test]
fn witbindgen_component_exports_scoring_and_imports_only_log_and_config() {
    let runtime = leadwire::Runtime::new().unwrap();
    let info = inspect_file(runtime.engine(), &wasm(artifacts::WITBINDGEN_SCORER)).unwrap();
    assert_eq!(info.roles, [Role::Scoring]);
    let mut capabilities = info.capabilities.clone();
    capabilities.sort();
    assert_eq!(capabilities, ["config", "log"]);
}

#[test]
fn witbindgen_scorer_scores_a_lead_through_the_host_with_its_config() {
    let pipelines = load(&config_with("config = { big_company_points = 35 }"));
    let (lead, event) = lead_and_event(BIG_COMPANY_LEAD);
    let decision = pipelines.run("score", lead, event).unwrap();
    assert_eq!(decision.status, DecisionStatus::Ok, "{decision:#?}");
    let score = decision.score.as_ref().unwrap();
    assert_eq!(score.value, 45.0);
    assert_eq!(score.grade.as_deref(), Some("A"));
    assert_eq!(score.parts.get("fit"), Some(&45.0));
    let reasons: Vec<(&str, f64, &str)> = score
        .contributions
        .iter()
        .map(|c| (c.rule.as_str(), c.points, c.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("big-company", 35.0, "250 employees (at least 200)"),
            (
                "business-email",
                10.0,
                "email domain acme.com is not a free-mail provider"
            ),
        ]
    );
    assert_eq!(
        decision.steps[0].metrics.logs,
        ["info: lead 2001 scored 45 (2 rules)"]
    );
}

#[test]
fn witbindgen_scorer_gives_a_small_freemail_lead_nothing_and_grade_c() {
    let pipelines = load(&config_with(""));
    let (lead, event) = lead_and_event(SMALL_FREEMAIL_LEAD);
    let decision = pipelines.run("score", lead, event).unwrap();
    let score = decision.score.as_ref().unwrap();
    assert_eq!(score.value, 0.0);
    assert_eq!(score.grade.as_deref(), Some("C"));
    assert!(score.contributions.is_empty(), "{score:#?}");
}

#[test]
fn witbindgen_scorer_reports_a_config_typo_as_a_plugin_error() {
    let pipelines = load(&config_with("config = { big_company_pionts = 35 }"));
    let (lead, event) = lead_and_event(BIG_COMPANY_LEAD);
    let decision = pipelines.run("score", lead, event).unwrap();
    assert_eq!(decision.status, DecisionStatus::Error);
    assert_eq!(
        decision.steps[0].error,
        Some(CallError::PluginError {
            message: "config: unknown key `big_company_pionts`".into()
        })
    );
}

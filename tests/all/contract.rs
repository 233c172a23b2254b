//! Both contract versions load side by side, and a plugin of either sees the
//! same input: the echo guests give back what they received, one through 0.2.0
//! (the input encoded in one buffer, decoded by the SDK), the other through
//! 0.1.0 (typed records, the host's adapter for 0.1.0 plugins).

use std::path::Path;

use crate::common;

use common::*;
use leadwire::bindings::types::{Activity, Field, Trigger, Value};
use leadwire::decision::DecisionStatus;
use leadwire::decision::VerdictOut;
use leadwire::runtime::inspect_file;
use leadwire::{Config, Pipelines};

/// The quickstart's four steps, then each echo: the echo's input holds every
/// kind of verdict from the steps before it.
fn quickstart_with_echoes() -> Pipelines {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quickstart/leadwire.toml");
    let quickstart = std::fs::read_to_string(&path).unwrap();
    let four = r#"{ plugin = "scorer" }, { plugin = "segmenter" }, { plugin = "router" }, { plugin = "nurture" }"#;
    let text = format!(
        "{quickstart}\n{}{}\n[pipelines.echo-new]\nsteps = [{four}, {{ plugin = \"echo\" }}]\n\
         [pipelines.echo-old]\nsteps = [{four}, {{ plugin = \"echo-old\" }}]\n",
        plugin("echo", artifacts::GUEST_ECHO, ""),
        plugin("echo-old", artifacts::GUEST_ECHO_V0_1, ""),
    );
    let config = Config::parse(&text, &path).expect("config parses");
    let runtime = std::sync::Arc::new(leadwire::Runtime::new().unwrap());
    let state = std::sync::Arc::new(leadwire::capabilities::MemoryState::default());
    Pipelines::load(&config, runtime, state).expect("config loads")
}

/// What the echo step of `pipeline` received, as its Debug text.
fn echoed(
    pipelines: &Pipelines,
    pipeline: &str,
    lead_json: &str,
    edit: impl Fn(&mut leadwire::bindings::types::Lead, &mut leadwire::bindings::types::Event),
) -> String {
    let (mut lead, mut event) = lead_and_event(lead_json);
    edit(&mut lead, &mut event);
    let decision = pipelines.run(pipeline, lead, event).unwrap();
    assert_eq!(decision.status, DecisionStatus::Ok, "{decision:#?}");
    assert_eq!(decision.steps.len(), 5, "{decision:#?}");
    for step in &decision.steps {
        assert!(step.error.is_none(), "{step:#?}");
    }
    match &decision.steps[4].verdict {
        Some(VerdictOut::Score(score)) => score.contributions[0].reason.clone(),
        other => panic!("the echo gave no score: {other:#?}"),
    }
}

#[test]
fn the_sdk_builds_0_2_0_and_a_wit_bindgen_plugin_of_0_1_0_still_loads() {
    let runtime = leadwire::Runtime::new().unwrap();
    let version = |c: &str| {
        inspect_file(runtime.engine(), &wasm(c))
            .unwrap()
            .wit_version
    };
    assert_eq!(version(artifacts::GUEST_ECHO), "0.2.0");
    assert_eq!(version(artifacts::RULES_SCORER), "0.2.0");
    assert_eq!(version(artifacts::GUEST_ECHO_V0_1), "0.1.0");
    assert_eq!(version(artifacts::WITBINDGEN_SCORER), "0.1.0");
    assert_eq!(leadwire::runtime::WIT_VERSIONS, ["0.1.0", "0.2.0"]);
}

#[test]
fn a_0_2_0_plugin_and_a_0_1_0_plugin_receive_the_same_input() {
    let hot = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quickstart/leads/hot.json"),
    )
    .unwrap();
    // Every kind of value, text beyond ASCII, an activity with no properties,
    // a trigger with a payload, the fields the event changed.
    let edit = |lead: &mut leadwire::bindings::types::Lead,
                event: &mut leadwire::bindings::types::Event| {
        let field = |name: &str, value: Value| Field {
            name: name.into(),
            value,
        };
        lead.fields.extend([
            field("empty", Value::Null),
            field("score_hint", Value::Number(-12.75)),
            field("big", Value::Number(1e300)),
            field("signed_up", Value::Time(-86_400_000)),
            field(
                "tags",
                Value::List(vec!["a".into(), "ünïcødé ✓".into(), String::new()]),
            ),
            field("no_tags", Value::List(Vec::new())),
            field("vip", Value::Boolean(true)),
            field("city", Value::Text("Zürich — 東京".into())),
        ]);
        lead.activities.push(Activity {
            kind: "meeting_booked".into(),
            at: i64::MAX,
            properties: Vec::new(),
        });
        lead.owner = Some("amy".into());
        event.trigger = Trigger::Rejected("bad-timing: call back in May".into());
        event.changed = vec!["hs_lead_status".into(), "city".into()];
    };
    // Each on a fresh load, so the router's round robin starts from the same state.
    let new = echoed(&quickstart_with_echoes(), "echo-new", &hot, edit);
    let old = echoed(&quickstart_with_echoes(), "echo-old", &hot, edit);
    assert_eq!(new, old);
    // What was echoed is the whole input: the lead, the event and the four
    // verdicts before it, each of its kind.
    for needle in [
        "Zürich — 東京",
        "Value::Time(-86400000)",
        "Trigger::Rejected(\"bad-timing: call back in May\")",
        "Verdict::Score(",
        "Verdict::Segmentation(",
        "Verdict::Routing(",
        "Verdict::Nurture(",
        "9223372036854775807",
    ] {
        assert!(new.contains(needle), "`{needle}` not in the echo:\n{new}");
    }
}

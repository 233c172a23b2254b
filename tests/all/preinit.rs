//! Pre-initialised plugins (host/src/runtime/preinit.rs): an install's init
//! runs once at load and is snapshotted; every fresh instance starts from the
//! snapshot, isolated from every other call; a hostile init fails the load,
//! within the install's limits.

use crate::common;

use common::*;
use leadwire::decision::{Decision, DecisionStatus};
use leadwire::error::{CallError, LoadError};
use leadwire::pipeline::LoadProblem;

/// A `hostile-init` install counting from `start`, with its pipeline.
fn counter(name: &str, config: &str, extra: &str) -> String {
    format!(
        "{}[plugins.{name}.config]\n{config}\n{}",
        plugin(name, artifacts::HOSTILE_INIT, extra),
        pipeline(name, name, "fail-closed")
    )
}

fn score(decision: &Decision) -> f64 {
    assert_eq!(decision.status, DecisionStatus::Ok, "{decision:#?}");
    decision.score.as_ref().expect("a score").value
}

#[test]
fn fresh_instances_start_from_the_installs_init_and_no_call_sees_another() {
    let pipelines = load(
        &[
            counter("thousand", "start = 1000", ""),
            counter("five", "start = 5", ""),
        ]
        .concat(),
    );
    for name in ["thousand", "five"] {
        let plugin = &pipelines.pipeline(name).unwrap().steps[0].plugin;
        assert!(plugin.preinitialised, "{name}");
    }
    // Fresh instances: each starts from its own install's snapshot.
    for _ in 0..5 {
        assert_eq!(score(&run(&pipelines, "thousand")), 1001.0);
        assert_eq!(score(&run(&pipelines, "five")), 6.0);
    }
    // A warm instance (bulk runs) keeps its memory between calls: it counts on.
    let mut worker = pipelines.worker();
    for expected in [1001.0, 1002.0, 1003.0] {
        let (lead, event) = lead_and_event(SAMPLE_LEAD);
        assert_eq!(
            score(&worker.run("thousand", lead, event).unwrap()),
            expected
        );
    }
    // ... and fresh calls still see none of that.
    assert_eq!(score(&run(&pipelines, "thousand")), 1001.0);
}

#[test]
fn the_prebuilt_plugins_are_pre_initialised_and_a_bad_config_still_fails_the_call_with_its_path() {
    let text = [
        plugin("scorer", artifacts::RULES_SCORER, ""),
        "[[plugins.scorer.config.rules]]\nname = \"vp\"\nfield = \"jobtitle\"\ncontains = [\"VP\"]\npoints = \"lots\"\n".into(),
        pipeline("bad", "scorer", "fail-closed"),
        plugin("normal", artifacts::CUSTOM_SCORER, ""),
        pipeline("normal", "normal", "fail-closed"),
    ]
    .concat();
    let pipelines = load(&text);
    // An init that could not parse its config leaves it to the call to say.
    let decision = run(&pipelines, "bad");
    match &only_step(&decision).error {
        Some(CallError::PluginError { message }) => {
            assert!(
                message.contains("invalid config at `rules[0].points`"),
                "{message}"
            )
        }
        other => panic!("expected the config error, got {other:?}"),
    }
    // A plugin without an init (the custom-scorer example) loads as it is.
    assert!(
        !pipelines.pipeline("normal").unwrap().steps[0]
            .plugin
            .preinitialised
    );
    assert_custom_scorer_still_works(&pipelines, "normal");

    // `leadwire plugin inspect` tells which is which from the bytes alone.
    let runtime = leadwire::Runtime::new().unwrap();
    let inspect = |c: &str| leadwire::runtime::inspect_file(runtime.engine(), &wasm(c)).unwrap();
    assert!(inspect(artifacts::RULES_SCORER).init);
    assert!(!inspect(artifacts::CUSTOM_SCORER).init);

    let quickstart = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/quickstart/leadwire.toml");
    let config = leadwire::Config::load(&quickstart).expect("the quickstart config");
    let runtime = std::sync::Arc::new(leadwire::Runtime::new().unwrap());
    let state = std::sync::Arc::new(leadwire::capabilities::MemoryState::default());
    let quickstart = leadwire::Pipelines::load(&config, runtime, state).expect("loads");
    let steps = &quickstart.pipeline("inbound").unwrap().steps;
    assert_eq!(steps.len(), 4);
    for step in steps {
        assert!(step.plugin.preinitialised, "{}", step.plugin.name);
    }
}

#[test]
fn an_init_that_loops_allocates_or_panics_fails_the_load_within_its_limits() {
    let cases = [
        ("spin", "misbehave = \"loop\"", "", "fuel"),
        (
            "spin_unmetered",
            "misbehave = \"loop\"",
            "limits = { fuel = 0, timeout_ms = 100 }",
            "100 ms",
        ),
        (
            "hoard",
            "misbehave = \"alloc\"",
            "limits = { fuel = 0, timeout_ms = 10000 }",
            "memory",
        ),
        (
            "gives_up",
            "misbehave = \"panic\"",
            "",
            "hostile-init: the start-up gave up",
        ),
    ];
    let started = std::time::Instant::now();
    for (name, config, extra, expected) in cases {
        let problems = load_problems(&counter(name, &format!("start = 1\n{config}"), extra));
        match &problems[..] {
            [LoadProblem::Plugin(e @ LoadError::Init { plugin, message })] => {
                assert_eq!(plugin, name);
                assert!(message.contains(expected), "{name}: {message}");
                assert!(e.to_string().contains("cannot be pre-initialised"), "{e}");
            }
            other => panic!("{name}: expected one init error, got {other:?}"),
        }
    }
    // Generous: the deadline is 100 ms and fuel stops the others sooner.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

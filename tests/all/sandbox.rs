//! The sandbox against hostile plugins (tests/hostile/*): every way a plugin can
//! misbehave ends in its typed error in the decision record, and the same loaded
//! `Pipelines` then serves a normal plugin correctly. Also the failure policies
//! (fail-open, fail-closed) and the checks made when a configuration loads.

use crate::common;

use std::sync::LazyLock;

use common::*;
use leadwire::Pipelines;
use leadwire::config::ConfigError;
use leadwire::decision::DecisionStatus;
use leadwire::error::{CallError, LoadError};
use leadwire::pipeline::LoadProblem;
use sha2::{Digest, Sha256};

const MIB: u64 = 1 << 20;
/// The defaults of architecture.md's limits table.
const DEFAULT_FUEL: u64 = 10_000_000;
const DEFAULT_MEMORY: u64 = 32 * MIB;
const DEFAULT_VERDICT: u64 = 64 << 10;
const DEFAULT_LOG: u64 = 4 << 10;

/// One configuration with every hostile plugin and the normal one, loaded once
/// and shared by the tests (which run in parallel on it): the host must survive
/// all of them at once.
static HOST: LazyLock<Pipelines> = LazyLock::new(|| {
    let text = [
        plugin("normal", artifacts::CUSTOM_SCORER, ""),
        pipeline("normal", "normal", "fail-closed"),
        plugin("spin", artifacts::HOSTILE_INFINITE_LOOP, ""),
        pipeline("spin", "spin", "fail-closed"),
        plugin(
            "spin_unmetered",
            artifacts::HOSTILE_INFINITE_LOOP,
            "limits = { fuel = 0, timeout_ms = 100 }",
        ),
        pipeline("spin-unmetered", "spin_unmetered", "fail-closed"),
        plugin("alloc", artifacts::HOSTILE_ALLOC_BOMB, ""),
        pipeline("alloc", "alloc", "fail-closed"),
        plugin("recursion", artifacts::HOSTILE_DEEP_RECURSION, ""),
        pipeline("recursion", "recursion", "fail-closed"),
        plugin("panic", artifacts::HOSTILE_PANIC, ""),
        pipeline("panic", "panic", "fail-closed"),
        plugin("giant", artifacts::HOSTILE_GIANT_VERDICT, ""),
        pipeline("giant", "giant", "fail-closed"),
        plugin("sneaky", artifacts::HOSTILE_SNEAKY, ""),
        pipeline("sneaky", "sneaky", "fail-closed"),
        plugin("noisy", artifacts::HOSTILE_NOISY, ""),
        pipeline("noisy", "noisy", "fail-closed"),
        plugin(
            "noisy_panic",
            artifacts::HOSTILE_NOISY,
            "config = { then_panic = true }",
        ),
        pipeline("noisy-panic", "noisy_panic", "fail-closed"),
        plugin(
            "counter",
            artifacts::HOSTILE_STATE_COUNTER,
            "grants = [\"state\"]",
        ),
        pipeline("counter", "counter", "fail-closed"),
        abuse("sleep-forever", "limits = { fuel = 0 }"),
        abuse("sleep-3s", ""),
        abuse("alias-verdict", ""),
        abuse("log-flood", "limits = { fuel = 0, timeout_ms = 10000 }"),
        abuse("state-flood", ""),
        abuse(
            "host-call-loop",
            "limits = { fuel = 0, timeout_ms = 60000 }",
        ),
        abuse("long-key", ""),
        abuse("bad-utf8", ""),
        abuse("duplicate-parts", ""),
        abuse("empty-part", ""),
        abuse("bidi-reason", ""),
        abuse("negative-zero", ""),
        raw("bad-discriminant"),
        raw("out-of-bounds-list"),
        raw("out-of-bounds-string"),
        raw("well-formed"),
        r#"
[pipelines.panic-open]
steps = [
    { plugin = "panic", on_error = "fail-open" },
    { plugin = "normal" },
]

[pipelines.panic-closed]
steps = [
    { plugin = "panic", on_error = "fail-closed" },
    { plugin = "normal" },
]

[pipelines.panic-default-policy]
steps = [{ plugin = "panic" }, { plugin = "normal" }]
"#
        .to_string(),
    ]
    .concat();
    load(&text)
});

/// A `hostile_abuse` install and its one-step pipeline, both named after the mode.
fn abuse(mode: &str, extra: &str) -> String {
    let name = mode.replace('-', "_");
    // It imports `state` (some modes use it): every install grants it.
    let component = plugin(
        &name,
        artifacts::HOSTILE_ABUSE,
        &format!("grants = [\"state\"]\n{extra}"),
    );
    // `plugin` ends the table: the config goes in a table of its own.
    format!(
        "{component}[plugins.{name}.config]\nmode = \"{mode}\"\n{}",
        pipeline(mode, &name, "fail-closed")
    )
}

/// A `hostile_raw_abi` install and its one-step pipeline, named `raw-MODE`.
fn raw(mode: &str) -> String {
    let name = format!("raw_{}", mode.replace('-', "_"));
    let component = plugin(&name, artifacts::HOSTILE_RAW_ABI, "");
    format!(
        "{component}[plugins.{name}.config]\nmode = \"{mode}\"\n{}",
        pipeline(&format!("raw-{mode}"), &name, "fail-closed")
    )
}

fn hostile_step_error(pipeline: &str) -> CallError {
    let decision = run(&HOST, pipeline);
    assert_eq!(decision.status, DecisionStatus::Error, "{decision:#?}");
    let step = only_step(&decision);
    assert!(step.verdict.is_none(), "{:?}", step.verdict);
    step.error.clone().expect("the step failed")
}

#[test]
fn normal_plugin_scores_the_sample_lead() {
    assert_custom_scorer_still_works(&HOST, "normal");
}

// ---- each hostile plugin: its typed error, then a normal call ----

#[test]
fn infinite_loop_exhausts_the_default_fuel_reporting_used_and_limit_then_host_still_serves() {
    let decision = run(&HOST, "spin");
    assert_eq!(decision.status, DecisionStatus::Error);
    let step = only_step(&decision);
    assert_eq!(
        step.error,
        Some(CallError::FuelExhausted {
            used: DEFAULT_FUEL,
            limit: DEFAULT_FUEL
        })
    );
    assert_eq!(step.metrics.fuel_used, DEFAULT_FUEL);
    assert_eq!(step.metrics.fuel_limit, Some(DEFAULT_FUEL));
    let message = decision.error.as_deref().unwrap_or_default();
    assert!(
        message.contains("step `spin` failed: fuel exhausted: used 10000000 of its 10000000 fuel"),
        "{message}"
    );
    assert_custom_scorer_still_works(&HOST, "normal");
}

#[test]
fn infinite_loop_with_unlimited_fuel_times_out_within_twice_the_deadline_then_host_still_serves() {
    let decision = run(&HOST, "spin-unmetered");
    let step = only_step(&decision);
    assert_eq!(step.error, Some(CallError::Timeout { limit_ms: 100 }));
    assert_eq!(step.metrics.fuel_limit, None, "fuel = 0 means unlimited");
    assert_eq!(step.metrics.timeout_ms, 100);
    // The epoch deadline never fires early, and not much late.
    let took = step.metrics.duration_us;
    assert!(took >= 100_000, "stopped before its deadline: {took} µs");
    assert!(
        took < 200_000,
        "took {took} µs, over twice the 100 ms deadline"
    );
    assert_custom_scorer_still_works(&HOST, "normal");
}

#[test]
fn unbounded_allocation_hits_the_memory_limit_then_host_still_serves() {
    let decision = run(&HOST, "alloc");
    let step = only_step(&decision);
    match &step.error {
        Some(CallError::MemoryLimit { requested, limit }) => {
            assert_eq!(*limit, DEFAULT_MEMORY);
            assert!(requested > limit, "requested {requested}, limit {limit}");
        }
        other => panic!("expected memory-limit, got {other:?}"),
    }
    assert!(
        step.metrics.peak_memory_bytes <= DEFAULT_MEMORY,
        "memory grew to {} bytes, past the limit",
        step.metrics.peak_memory_bytes
    );
    // It got close to the limit before being refused: the limit, not something
    // else, stopped it.
    assert!(step.metrics.peak_memory_bytes > DEFAULT_MEMORY - 2 * MIB);
    assert_custom_scorer_still_works(&HOST, "normal");
}

#[test]
fn unbounded_recursion_is_a_stack_overflow_trap_then_host_still_serves() {
    match hostile_step_error("recursion") {
        CallError::Trap { message } => {
            assert!(message.contains("stack overflow"), "{message}")
        }
        other => panic!("expected a stack-overflow trap, got {other:?}"),
    }
    assert_custom_scorer_still_works(&HOST, "normal");
}

#[test]
fn panic_message_reaches_the_decision_as_a_trap_then_host_still_serves() {
    let decision = run(&HOST, "panic");
    let step = only_step(&decision);
    let expected = "hostile-panic: the flux capacitor melted while scoring lead 1001";
    match &step.error {
        Some(CallError::Trap { message }) => assert!(message.contains(expected), "{message}"),
        other => panic!("expected a trap, got {other:?}"),
    }
    // In the decision's summary and in the record as it goes on the wire.
    assert!(
        decision
            .error
            .as_deref()
            .unwrap_or_default()
            .contains(expected),
        "{:?}",
        decision.error
    );
    let json = serde_json::to_value(&decision).unwrap();
    assert_eq!(json["steps"][0]["error"]["kind"], "trap");
    assert!(
        json["steps"][0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains(expected)
    );
    assert_custom_scorer_still_works(&HOST, "normal");
}

#[test]
fn giant_verdict_is_output_too_large_then_host_still_serves() {
    let decision = run(&HOST, "giant");
    let step = only_step(&decision);
    match &step.error {
        // Refused while copying out of the guest (no size known), or by
        // its JSON size.
        Some(CallError::OutputTooLarge { size: None, limit }) => {
            assert!(*limit <= 4 * DEFAULT_VERDICT);
        }
        Some(CallError::OutputTooLarge {
            size: Some(size),
            limit,
        }) => {
            assert_eq!(*limit, DEFAULT_VERDICT);
            assert_eq!(step.metrics.verdict_bytes, *size);
        }
        other => panic!("expected output-too-large, got {other:?}"),
    }
    // The verdict was refused, not folded into the decision.
    assert!(decision.score.is_none());
    assert_custom_scorer_still_works(&HOST, "normal");
}

#[test]
fn sneaky_plugin_gets_no_file_no_env_no_network_and_the_event_time_as_its_clock() {
    let decision = run(&HOST, "sneaky");
    assert_eq!(decision.status, DecisionStatus::Ok, "{decision:#?}");
    let score = decision.score.as_ref().unwrap();
    let saw = |rule: &str| {
        score
            .contributions
            .iter()
            .find(|c| c.rule == rule)
            .unwrap_or_else(|| panic!("no `{rule}` report in {score:#?}"))
    };
    let file = saw("fs");
    assert!(
        file.reason.starts_with("error:"),
        "read /etc/passwd: {}",
        file.reason
    );
    let home = saw("env-home");
    assert!(home.reason.starts_with("error:"), "HOME: {}", home.reason);
    assert_eq!(saw("env-vars").points, 0.0, "{}", saw("env-vars").reason);
    assert_eq!(saw("args").points, 0.0, "{}", saw("args").reason);
    let net = saw("net");
    assert!(
        net.reason.starts_with("error:"),
        "TCP connect: {}",
        net.reason
    );
    // The wall clock is frozen at the event's time, to the millisecond.
    assert_eq!(
        saw("wall-clock").points,
        EVENT_AT_MS as f64,
        "{}",
        saw("wall-clock").reason
    );
    // The monotonic clock does not move during a call.
    assert_eq!(
        saw("monotonic-clock").points,
        0.0,
        "{}",
        saw("monotonic-clock").reason
    );
    assert_custom_scorer_still_works(&HOST, "normal");
}

#[test]
fn noisy_logging_is_truncated_at_4_kib_and_the_call_still_succeeds() {
    let decision = run(&HOST, "noisy");
    assert_eq!(decision.status, DecisionStatus::Ok, "{decision:#?}");
    let step = only_step(&decision);
    assert!(step.error.is_none());
    assert_eq!(decision.score.as_ref().unwrap().value, 7.0);
    let logs = &step.metrics.logs;
    assert!(step.metrics.logs_truncated, "logs_truncated is false");
    let kept: usize = logs.iter().map(String::len).sum();
    assert!(kept as u64 <= DEFAULT_LOG, "kept {kept} bytes of log");
    // Filled up to the limit (each line is about 100 bytes), then cut.
    assert!(kept as u64 > DEFAULT_LOG - 200, "kept only {kept} bytes");
    assert!(logs[0].starts_with("info: log line 0 "), "{:?}", logs[0]);
    assert!(
        !logs.iter().any(|l| l.contains("line 99 ")),
        "the tail was kept"
    );
    // The truncation shows in the record as it goes on the wire.
    let json = serde_json::to_value(&decision).unwrap();
    assert_eq!(json["steps"][0]["logs_truncated"], true);
    assert_custom_scorer_still_works(&HOST, "normal");
}

#[test]
fn panic_after_a_truncated_log_still_reports_its_message() {
    let decision = run(&HOST, "noisy-panic");
    let step = only_step(&decision);
    assert!(step.metrics.logs_truncated);
    match &step.error {
        Some(CallError::Trap { message }) => assert!(
            message.contains("noisy-panic: logged too much and then gave up"),
            "{message}"
        ),
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_custom_scorer_still_works(&HOST, "normal");
}

#[test]
fn state_import_without_the_grant_fails_to_load_with_missing_grant_naming_plugin_and_state() {
    let text = [
        plugin("counter", artifacts::HOSTILE_STATE_COUNTER, ""),
        pipeline("counter", "counter", "fail-closed"),
    ]
    .concat();
    let problems = load_problems(&text);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    match &problems[0] {
        LoadProblem::Plugin(error) => {
            assert_eq!(error.kind(), "missing-grant");
            assert!(
                matches!(error, LoadError::MissingGrant { plugin, capability }
                    if plugin == "counter" && capability == "state"),
                "{error:?}"
            );
            let message = error.to_string();
            assert!(message.contains("plugin `counter`"), "{message}");
            assert!(message.contains("`state` capability"), "{message}");
        }
        other => panic!("expected a plugin load error, got {other:?}"),
    }
}

#[test]
fn granted_state_is_kept_across_calls_of_the_same_pipelines() {
    let count = |decision: &leadwire::Decision| decision.score.as_ref().map(|s| s.value);
    let first = run(&HOST, "counter");
    assert_eq!(first.status, DecisionStatus::Ok, "{first:#?}");
    let second = run(&HOST, "counter");
    assert_eq!(count(&first).unwrap() + 1.0, count(&second).unwrap());
}

// ---- failure policies ----

#[test]
fn fail_open_step_failure_is_recorded_and_later_steps_still_run() {
    let decision = run(&HOST, "panic-open");
    assert_eq!(decision.status, DecisionStatus::Ok, "{decision:#?}");
    assert_eq!(decision.error, None);
    assert_eq!(decision.steps.len(), 2);
    let failed = &decision.steps[0];
    assert_eq!(failed.step, "panic");
    assert_eq!(failed.error.as_ref().map(CallError::kind), Some("trap"));
    assert!(failed.verdict.is_none());
    let later = &decision.steps[1];
    assert_eq!(later.step, "normal");
    assert!(
        later.error.is_none() && later.verdict.is_some(),
        "{later:#?}"
    );
    assert_eq!(decision.score.as_ref().unwrap().value, 25.0);
}

#[test]
fn fail_closed_step_failure_stops_the_pipeline_and_the_decision_is_an_error() {
    // Explicitly fail-closed, and by default (no `on_error`).
    for pipeline in ["panic-closed", "panic-default-policy"] {
        let decision = run(&HOST, pipeline);
        assert_eq!(
            decision.status,
            DecisionStatus::Error,
            "{pipeline}: {decision:#?}"
        );
        let message = decision.error.as_deref().unwrap_or_default();
        assert!(
            message.starts_with("step `panic` failed: trap:"),
            "{pipeline}: {message}"
        );
        // The failure is recorded, and the step after it never ran.
        assert_eq!(decision.steps.len(), 1, "{pipeline}");
        assert_eq!(
            decision.steps[0].error.as_ref().map(CallError::kind),
            Some("trap")
        );
        assert!(decision.score.is_none(), "{pipeline}");
    }
}

// ---- load-time checks ----

fn sha256_of(path: &std::path::Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn sha256_pin_mismatch_refuses_to_load_and_names_both_hashes() {
    let wrong = "0".repeat(64);
    let text = [
        plugin(
            "pinned",
            artifacts::CUSTOM_SCORER,
            &format!("sha256 = \"{wrong}\""),
        ),
        pipeline("p", "pinned", "fail-closed"),
    ]
    .concat();
    let problems = load_problems(&text);
    let actual_sha = sha256_of(&wasm(artifacts::CUSTOM_SCORER));
    match &problems[..] {
        [
            LoadProblem::Plugin(
                e @ LoadError::Sha256Mismatch {
                    plugin,
                    expected,
                    actual,
                    ..
                },
            ),
        ] => {
            assert_eq!(plugin, "pinned");
            assert_eq!(expected, &wrong);
            assert_eq!(actual, &actual_sha);
            let message = e.to_string();
            assert!(
                message.contains(&wrong) && message.contains(&actual_sha),
                "{message}"
            );
        }
        other => panic!("expected one sha256 mismatch, got {other:#?}"),
    }
}

#[test]
fn sha256_pin_of_the_right_hash_loads_in_any_letter_case() {
    let pin = sha256_of(&wasm(artifacts::CUSTOM_SCORER)).to_uppercase();
    let text = [
        plugin(
            "pinned",
            artifacts::CUSTOM_SCORER,
            &format!("sha256 = \"{pin}\""),
        ),
        pipeline("p", "pinned", "fail-closed"),
    ]
    .concat();
    let pipelines = load(&text);
    assert_custom_scorer_still_works(&pipelines, "p");
}

#[test]
fn step_asking_for_a_role_the_plugin_does_not_export_fails_to_load() {
    let text = [
        plugin("scorer", artifacts::CUSTOM_SCORER, ""),
        "[pipelines.route]\nsteps = [{ plugin = \"scorer\", role = \"routing\", name = \"router\" }]\n"
            .to_string(),
    ]
    .concat();
    match &load_problems(&text)[..] {
        [
            LoadProblem::Step {
                pipeline,
                step,
                message,
            },
        ] => {
            assert_eq!(pipeline, "route");
            assert_eq!(step, "router");
            assert!(
                message.contains(
                    "plugin `scorer` does not export the routing role (it exports: scoring)"
                ),
                "{message}"
            );
        }
        other => panic!("expected one step problem, got {other:#?}"),
    }
}

#[test]
fn a_file_that_is_not_a_component_is_a_compile_error_naming_plugin_and_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.wasm"), "this is not WebAssembly\n").unwrap();
    // A core module: WebAssembly, but not a component.
    std::fs::write(dir.path().join("core.wasm"), b"\0asm\x01\0\0\0").unwrap();
    // Relative paths are relative to the config file's folder.
    let text = r#"
[plugins.notes]
path = "notes.wasm"

[plugins.core]
path = "core.wasm"
"#;
    let config_path = dir.path().join("leadwire.toml");
    let config = leadwire::Config::parse(text, &config_path).unwrap();
    let runtime = std::sync::Arc::new(leadwire::Runtime::new().unwrap());
    let state = std::sync::Arc::new(leadwire::capabilities::MemoryState::default());
    let problems = match Pipelines::load(&config, runtime, state) {
        Ok(_) => panic!("loaded files that are not components"),
        Err(e) => e.0,
    };
    assert_eq!(problems.len(), 2, "{problems:#?}");
    for (problem, name) in problems.iter().zip(["core", "notes"]) {
        match problem {
            LoadProblem::Plugin(e @ LoadError::Compile { plugin, path, .. }) => {
                assert_eq!(plugin, name);
                assert_eq!(
                    path,
                    &dir.path()
                        .join(format!("{name}.wasm"))
                        .display()
                        .to_string()
                );
                let message = e.to_string();
                assert!(
                    message.contains("is not a valid WebAssembly component"),
                    "{message}"
                );
            }
            other => panic!("expected a compile error for `{name}`, got {other:?}"),
        }
    }
}

#[test]
fn a_missing_plugin_file_is_a_read_error_naming_plugin_and_path() {
    let text = "[plugins.ghost]\npath = '/nonexistent/ghost.wasm'\n";
    match &load_problems(text)[..] {
        [LoadProblem::Plugin(e @ LoadError::Read { plugin, path, .. })] => {
            assert_eq!(plugin, "ghost");
            assert_eq!(path, "/nonexistent/ghost.wasm");
            assert_eq!(e.kind(), "read");
        }
        other => panic!("expected one read error, got {other:#?}"),
    }
}

/// A step's role is a typed value of the config: a typo is refused where the
/// file says it, and a `Config` can never hold a role the loader cannot call.
#[test]
fn an_unknown_step_role_is_a_config_error_naming_the_roles() {
    let text = [
        plugin("scorer", artifacts::CUSTOM_SCORER, ""),
        "\n[pipelines.p]\nsteps = [{ plugin = \"scorer\", role = \"scorng\" }]\n".to_string(),
    ]
    .concat();
    let message = leadwire::Config::parse(&text, std::path::Path::new(INLINE_CONFIG))
        .expect_err("an unknown role")
        .to_string();
    assert!(
        message.contains("scorng") && message.contains("scoring") && message.contains("nurture"),
        "{message}"
    );
    let ok = text.replace("scorng", "scoring");
    let pipelines = load(&ok);
    assert_eq!(run(&pipelines, "p").status, DecisionStatus::Ok);
}

#[test]
fn unknown_plugin_in_a_step_is_a_config_error_with_its_line() {
    let text = [
        plugin("scorer", artifacts::CUSTOM_SCORER, ""), // lines 1-3
        "\n[pipelines.p]\nsteps = [\n    { plugin = \"scorer\" },\n    { plugin = \"scorre\" },\n]\n"
            .to_string(),
    ]
    .concat();
    let line_of_typo = text.lines().position(|l| l.contains("scorre")).unwrap() + 1;
    assert_eq!(
        line_of_typo, 8,
        "the test's own config changed shape:\n{text}"
    );
    match leadwire::Config::parse(&text, std::path::Path::new(INLINE_CONFIG)) {
        Err(e @ ConfigError::Invalid { line, .. }) => {
            assert_eq!(line, line_of_typo);
            let message = e.to_string();
            assert!(message.starts_with("tests/inline.toml:8: "), "{message}");
            assert!(
                message.contains("no plugin named `scorre` (defined: scorer)"),
                "{message}"
            );
        }
        other => panic!("expected an invalid-config error, got {other:?}"),
    }
}

#[test]
fn a_component_exporting_a_future_wit_version_fails_with_unsupported_api_version() {
    let text = [
        plugin("future", artifacts::HOSTILE_FUTURE_WIT, ""),
        pipeline("p", "future", "fail-closed"),
    ]
    .concat();
    match &load_problems(&text)[..] {
        [
            LoadProblem::Plugin(
                e @ LoadError::UnsupportedApiVersion {
                    plugin,
                    interface,
                    supported,
                },
            ),
        ] => {
            assert_eq!(plugin, "future");
            assert_eq!(interface, "leadwire:plugin/scoring@0.9.0");
            assert_eq!(supported, "0.1.0, 0.2.0");
            assert_eq!(e.kind(), "unsupported-api-version");
        }
        other => panic!("expected one unsupported-api-version error, got {other:#?}"),
    }
}

#[test]
fn a_component_mixing_contract_versions_fails_with_mixed_api_versions_and_the_host_still_serves() {
    let text = [
        plugin("mixed", artifacts::HOSTILE_MIXED_WIT, ""),
        pipeline("p", "mixed", "fail-closed"),
    ]
    .concat();
    match &load_problems(&text)[..] {
        [
            LoadProblem::Plugin(
                e @ LoadError::MixedApiVersions {
                    plugin,
                    first,
                    second,
                },
            ),
        ] => {
            assert_eq!(plugin, "mixed");
            let mut both = [first.as_str(), second.as_str()];
            both.sort();
            assert_eq!(
                both,
                ["leadwire:plugin/log@0.1.0", "leadwire:plugin/scoring@0.2.0"]
            );
            assert_eq!(e.kind(), "mixed-api-versions");
            assert!(e.to_string().contains("mixes contract versions"), "{e}");
        }
        other => panic!("expected one mixed-api-versions error, got {other:#?}"),
    }
    assert_custom_scorer_still_works(&HOST, "normal");
}

#[test]
fn every_plugin_load_problem_is_reported_at_once() {
    let text = [
        plugin("counter", artifacts::HOSTILE_STATE_COUNTER, ""),
        plugin("future", artifacts::HOSTILE_FUTURE_WIT, ""),
        plugin("fine", artifacts::CUSTOM_SCORER, ""),
    ]
    .concat();
    let kinds: Vec<&str> = load_problems(&text)
        .iter()
        .map(|p| match p {
            LoadProblem::Plugin(e) => e.kind(),
            LoadProblem::Step { .. } => "step",
        })
        .collect();
    assert_eq!(kinds, ["missing-grant", "unsupported-api-version"]);
}

/// Warm instances (bulk runs keep one per plugin per worker): every call
/// still gets its own fuel and log, and an instance whose call failed is
/// replaced, so the next call does not meet a poisoned instance.
#[test]
fn warm_instances_meter_each_call_on_its_own_and_are_replaced_after_a_failure() {
    let fresh_fuel = only_step(&run(&HOST, "normal")).metrics.fuel_used;
    // Twice one call's fuel: enough for every call, far too little for the
    // sum of twenty, so a meter that carried over would fail.
    let text = [
        plugin(
            "normal",
            artifacts::CUSTOM_SCORER,
            &format!("limits = {{ fuel = {} }}", 2 * fresh_fuel),
        ),
        pipeline("normal", "normal", "fail-closed"),
        plugin("panic", artifacts::HOSTILE_PANIC, ""),
        r#"
[pipelines.panic-open]
steps = [{ plugin = "panic", on_error = "fail-open" }, { plugin = "normal" }]
"#
        .to_string(),
    ]
    .concat();
    let pipelines = load(&text);
    let mut worker = pipelines.worker();
    for i in 0..20 {
        let (lead, event) = lead_and_event(SAMPLE_LEAD);
        let decision = worker.run("normal", lead, event).unwrap();
        assert_eq!(
            decision.status,
            DecisionStatus::Ok,
            "call {i}: {decision:#?}"
        );
        let step = only_step(&decision);
        assert!(
            step.metrics.fuel_used <= fresh_fuel,
            "call {i}: {}",
            step.metrics.fuel_used
        );
        assert_eq!(step.metrics.logs, ["info: 2 rule(s) fired"], "call {i}");
        assert_eq!(decision.score.as_ref().unwrap().value, 25.0);
    }
    for i in 0..3 {
        let (lead, event) = lead_and_event(SAMPLE_LEAD);
        let decision = worker.run("panic-open", lead, event).unwrap();
        match &decision.steps[0].error {
            Some(CallError::Trap { message }) => {
                assert!(
                    message.contains("the flux capacitor melted"),
                    "call {i}: {message}"
                )
            }
            other => panic!("call {i}: expected the panic's trap, got {other:?}"),
        }
        assert_eq!(decision.score.as_ref().unwrap().value, 25.0, "call {i}");
    }
}

/// A warm instance's arena (the SDK's allocator) rewinds once every block of
/// a call is freed, so call after call costs the same fuel. Without it, the
/// first calls use the arena up and every later allocation goes to dlmalloc
/// (and every free walks back into it): the fuel of a call rose past the
/// first few hundred calls.
#[test]
fn warm_instances_reuse_their_arena_call_after_call() {
    // The arena is zeros (bss): its 2 MiB are not in the plugin's file.
    let size = std::fs::metadata(wasm(artifacts::CUSTOM_SCORER))
        .unwrap()
        .len();
    assert!(size < 1 << 20, "custom-scorer is {size} bytes");
    let text = [
        plugin("normal", artifacts::CUSTOM_SCORER, ""),
        pipeline("normal", "normal", "fail-closed"),
    ]
    .concat();
    let pipelines = load(&text);
    let mut worker = pipelines.worker();
    let fuel: Vec<u64> = (0..3000)
        .map(|i| {
            let (lead, event) = lead_and_event(SAMPLE_LEAD);
            let decision = worker.run("normal", lead, event).unwrap();
            assert_eq!(decision.status, DecisionStatus::Ok, "call {i}");
            assert_eq!(decision.score.as_ref().unwrap().value, 25.0, "call {i}");
            only_step(&decision).metrics.fuel_used
        })
        .collect();
    // The first call sets the arena's floor; every later one starts there.
    let second = fuel[1];
    let worst = fuel[1..]
        .iter()
        .enumerate()
        .max_by_key(|(_, f)| **f)
        .unwrap();
    assert!(
        *worst.1 <= second + second / 50,
        "call {} used {} fuel, the second {second}",
        worst.0 + 1,
        worst.1
    );
}

#[test]
fn guest_sleeping_for_ever_ends_in_timeout_within_twice_the_deadline_then_host_still_serves() {
    let started = std::time::Instant::now();
    let error = hostile_step_error("sleep-forever");
    assert_eq!(error.kind(), "timeout", "{error}");
    // Generous: the point is that it ends at all (it used to block for ever).
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_custom_scorer_still_works(&HOST, "normal");
}

#[test]
fn a_three_second_sleep_returns_at_once_on_the_frozen_clock() {
    let started = std::time::Instant::now();
    let decision = run(&HOST, "sleep-3s");
    assert_eq!(decision.status, DecisionStatus::Ok, "{:?}", decision.error);
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}

#[test]
fn aliased_one_mib_strings_are_refused_while_copying_not_after() {
    match hostile_step_error("alias-verdict") {
        CallError::OutputTooLarge { size: None, limit } => {
            assert!(limit <= 4 * DEFAULT_VERDICT, "copied up to {limit} bytes")
        }
        other => panic!("expected output-too-large while copying, got {other:?}"),
    }
    assert_custom_scorer_still_works(&HOST, "normal");
}

#[test]
fn sixteen_mib_without_a_newline_keeps_one_capped_log_line() {
    let decision = run(&HOST, "log-flood");
    let step = only_step(&decision);
    assert!(step.error.is_none(), "{:?}", step.error);
    assert!(step.metrics.logs_truncated);
    let kept: usize = step.metrics.logs.iter().map(String::len).sum();
    assert!(kept as u64 <= DEFAULT_LOG, "kept {kept} bytes of log");
}

#[test]
fn state_writes_past_the_install_quota_are_quota_exceeded() {
    let error = hostile_step_error("state-flood");
    assert_eq!(error.kind(), "quota-exceeded", "{error}");
}

#[test]
fn a_plugin_looping_on_host_calls_is_stopped_by_the_host_call_budget() {
    let error = hostile_step_error("host-call-loop");
    assert_eq!(error.kind(), "quota-exceeded", "{error}");
    assert!(error.to_string().contains("host_calls"), "{error}");
}

#[test]
fn plugin_faults_are_the_plugins_kinds_not_host_error() {
    for (pipeline, kind) in [
        ("long-key", "trap"),
        ("bad-utf8", "trap"),
        ("duplicate-parts", "invalid-verdict"),
        ("empty-part", "invalid-verdict"),
        ("bidi-reason", "invalid-verdict"),
    ] {
        let error = hostile_step_error(pipeline);
        assert_eq!(error.kind(), kind, "{pipeline}: {error}");
    }
}

#[test]
fn negative_zero_points_are_recorded_as_zero() {
    let decision = run(&HOST, "negative-zero");
    let score = decision.score.expect("a score");
    assert!(score.value.is_sign_positive(), "{}", score.value);
    let json = serde_json::to_string(&decision.steps[0].verdict).unwrap();
    assert!(!json.contains("-0"), "{json}");
}

/// Faults only a hand-written ABI can commit (the bindings never would): each is
/// the plugin's fault, with its kind and a short message, never `host-error`.
#[test]
fn faults_below_the_bindings_are_the_plugins_kinds_with_a_short_message() {
    let ok = run(&HOST, "raw-well-formed");
    assert_eq!(
        ok.status,
        DecisionStatus::Ok,
        "the hand-written export works: {ok:#?}"
    );
    for mode in [
        "bad-discriminant",
        "out-of-bounds-list",
        "out-of-bounds-string",
    ] {
        let error = hostile_step_error(&format!("raw-{mode}"));
        assert_eq!(error.kind(), "trap", "{mode}: {error}");
        let message = error.to_string();
        assert!(
            message.contains("the plugin handed the host invalid data") && message.len() < 200,
            "{mode}: {message}"
        );
    }
    // The allocator hands the host an out-of-bounds pointer for the input.
    let json = SAMPLE_LEAD.replace("\"VP Sales\"", &format!("\"{}\"", "x".repeat(7_777)));
    let (lead, event) = lead_and_event(&json);
    let decision = HOST.run("raw-well-formed", lead, event).unwrap();
    let error = only_step(&decision).error.clone().expect("the step failed");
    assert_eq!(error.kind(), "trap", "{error}");
    assert!(error.to_string().contains("realloc"), "{error}");
    assert_custom_scorer_still_works(&HOST, "normal");
}

/// State that takes 150 ms per operation, as a distant database would.
struct SlowState(leadwire::capabilities::MemoryState);

impl leadwire::capabilities::StateStore for SlowState {
    fn usage(
        &self,
        ns: &str,
    ) -> leadwire::capabilities::StateResult<leadwire::capabilities::Usage> {
        std::thread::sleep(std::time::Duration::from_millis(150));
        self.0.usage(ns)
    }
    fn get(&self, ns: &str, key: &str) -> leadwire::capabilities::StateResult<Option<String>> {
        std::thread::sleep(std::time::Duration::from_millis(150));
        self.0.get(ns, key)
    }
    fn set(&self, ns: &str, key: &str, value: &str) -> leadwire::capabilities::StateResult<()> {
        std::thread::sleep(std::time::Duration::from_millis(150));
        self.0.set(ns, key, value)
    }
    fn delete(&self, ns: &str, key: &str) -> leadwire::capabilities::StateResult<()> {
        std::thread::sleep(std::time::Duration::from_millis(150));
        self.0.delete(ns, key)
    }
    fn increment(
        &self,
        ns: &str,
        key: &str,
        delta: i64,
    ) -> leadwire::capabilities::StateResult<i64> {
        std::thread::sleep(std::time::Duration::from_millis(150));
        self.0.increment(ns, key, delta)
    }
    fn compare_and_swap(
        &self,
        ns: &str,
        key: &str,
        expected: Option<&str>,
        new: &str,
    ) -> leadwire::capabilities::StateResult<bool> {
        std::thread::sleep(std::time::Duration::from_millis(150));
        self.0.compare_and_swap(ns, key, expected, new)
    }
}

/// The 100 ms deadline is the plugin's own time: a state backend taking 150 ms
/// per call (more than the whole deadline) does not make the step time out.
#[test]
fn time_spent_in_a_slow_state_backend_is_not_charged_to_the_plugin() {
    let text = [
        plugin(
            "counter",
            artifacts::HOSTILE_STATE_COUNTER,
            "grants = [\"state\"]",
        ),
        pipeline("counter", "counter", "fail-closed"),
    ]
    .concat();
    let runtime = std::sync::Arc::new(leadwire::Runtime::new().unwrap());
    let slow = std::sync::Arc::new(SlowState(Default::default()));
    let pipelines = Pipelines::load(&config(&text), runtime, slow).unwrap();
    let decision = run(&pipelines, "counter");
    let step = only_step(&decision);
    assert!(step.error.is_none(), "{:?}", step.error);
    assert_eq!(step.metrics.timeout_ms, 100);
    assert_eq!(decision.status, DecisionStatus::Ok);
}

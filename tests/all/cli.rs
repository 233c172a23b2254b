//! The `leadwire` binary, run as a user would: `plugin inspect`, `validate` and
//! `run`, with their exit codes and what they print where.

use crate::common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::*;
use leadwire::Decision;
use leadwire::decision::DecisionStatus;
use sha2::{Digest, Sha256};

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A temp folder with `leadwire.toml` (this text) and `lead.json` (the sample lead).
struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    fn new(config: &str) -> Workdir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("leadwire.toml"), config).unwrap();
        std::fs::write(dir.path().join("lead.json"), SAMPLE_LEAD).unwrap();
        Workdir { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn config(&self) -> String {
        self.path("leadwire.toml").display().to_string()
    }
    fn lead(&self) -> String {
        self.path("lead.json").display().to_string()
    }
}

fn good_config() -> String {
    [
        plugin("scorer", artifacts::CUSTOM_SCORER, ""),
        pipeline("score", "scorer", "fail-closed"),
    ]
    .concat()
}

#[test]
fn plugin_inspect_json_reports_roles_capabilities_size_and_the_files_sha256() {
    let file = wasm(artifacts::CUSTOM_SCORER);
    let out = leadwire(&["plugin", "inspect", "--json", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let info: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON on stdout");
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(info["roles"], serde_json::json!(["scoring"]));
    let mut capabilities: Vec<&str> = info["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    capabilities.sort();
    assert_eq!(capabilities, ["config", "log"]);
    assert_eq!(info["sha256"], hex::encode(Sha256::digest(&bytes)));
    assert_eq!(info["size"], bytes.len() as u64);
    assert_eq!(info["wit_version"], "0.2.0");
}

#[test]
fn plugin_inspect_text_shows_roles_capabilities_and_sha256() {
    let file = wasm(artifacts::CUSTOM_SCORER);
    let out = leadwire(&["plugin", "inspect", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let sha = hex::encode(Sha256::digest(std::fs::read(&file).unwrap()));
    let line = |label: &str| {
        text.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no `{label}` line in:\n{text}"))
            .trim_start_matches(label)
            .trim()
            .to_string()
    };
    assert_eq!(line("roles:"), "scoring");
    assert_eq!(line("sha256:"), sha);
    assert_eq!(line("wit:"), "leadwire:plugin@0.2.0");
    let mut capabilities: Vec<String> = line("capabilities:")
        .split(", ")
        .map(String::from)
        .collect();
    capabilities.sort();
    assert_eq!(capabilities, ["config", "log"]);
}

#[test]
fn plugin_inspect_of_a_file_that_is_not_a_component_fails_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("readme.wasm");
    std::fs::write(&file, "not a component").unwrap();
    let out = leadwire(&["plugin", "inspect", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(
        err.contains("is not a valid WebAssembly component"),
        "{err}"
    );
}

#[test]
fn validate_accepts_a_good_config_and_lists_its_plugins_and_pipelines() {
    let work = Workdir::new(&good_config());
    let out = leadwire(&["validate", "--config", &work.config()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("{}: ok", work.config())),
        "{text}"
    );
    assert!(text.contains("plugin scorer: scoring"), "{text}");
    assert!(text.contains("pipeline score: scorer (scoring)"), "{text}");
}

/// `validate` builds every source as `serve` would: an unknown option, a value
/// that is not a JSON pointer and an unset secret variable are all said at
/// once (they used to pass as "ok" and make `serve` fail).
#[test]
fn validate_checks_the_sources_and_reports_every_problem() {
    let config = good_config()
        + r#"
[sources.typo]
adapter = "hubspot"
pipeline = "score"
secret_env = "LW_TEST_VALIDATE_SET"
[sources.typo.options]
signatur = "v3"

[sources.pointer]
adapter = "json"
pipeline = "score"
secret_env = "LW_TEST_VALIDATE_SET"
[sources.pointer.options]
token_header = "X-Token"
record_id = "/id"
email = "email"

[sources.unset]
adapter = "generic"
pipeline = "score"
secret_env = "LW_TEST_VALIDATE_UNSET"
"#;
    let work = Workdir::new(&config);
    let out = Command::new(env!("CARGO_BIN_EXE_leadwire"))
        .args(["validate", "--config", &work.config()])
        .env("LEADWIRE_LOG", "error")
        .env("LW_TEST_VALIDATE_SET", "s3cret")
        .env_remove("LW_TEST_VALIDATE_UNSET")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("3 problem(s)"), "{err}");
    assert!(
        err.contains("sources.typo") && err.contains("signatur"),
        "{err}"
    );
    assert!(
        err.contains("sources.pointer") && err.contains("not a JSON pointer"),
        "{err}"
    );
    assert!(err.contains("LW_TEST_VALIDATE_UNSET"), "{err}");
    assert!(!stdout(&out).contains(": ok"), "{}", stdout(&out));

    let fixed = config
        .replace("signatur", "signature")
        .replace("email = \"email\"", "email = \"/email\"")
        .replace(
            "secret_env = \"LW_TEST_VALIDATE_UNSET\"",
            "secret_env = \"LW_TEST_VALIDATE_SET\"",
        );
    let work = Workdir::new(&fixed);
    let out = Command::new(env!("CARGO_BIN_EXE_leadwire"))
        .args(["validate", "--config", &work.config()])
        .env("LEADWIRE_LOG", "error")
        .env("LW_TEST_VALIDATE_SET", "s3cret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("source pointer: json → pipeline score, POST /hooks/pointer"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn validate_rejects_an_unknown_plugin_in_a_step_naming_it_and_the_line() {
    let config = [
        plugin("scorer", artifacts::CUSTOM_SCORER, ""),
        // Lines 1-3 are the plugin; the step is on line 5.
        "[pipelines.score]\nsteps = [{ plugin = \"scorrer\" }]\n".to_string(),
    ]
    .concat();
    let work = Workdir::new(&config);
    let out = leadwire(&["validate", "--config", &work.config()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains(&format!("{}:5:", work.config())), "{err}");
    assert!(err.contains("no plugin named `scorrer`"), "{err}");
}

#[test]
fn validate_rejects_a_missing_grant_naming_the_plugin_and_the_capability() {
    let config = [
        plugin("counter", artifacts::HOSTILE_STATE_COUNTER, ""),
        pipeline("count", "counter", "fail-closed"),
    ]
    .concat();
    let work = Workdir::new(&config);
    let out = leadwire(&["validate", "--config", &work.config()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("plugin `counter`: missing grant"), "{err}");
    assert!(err.contains("`state` capability"), "{err}");
}

#[test]
fn run_prints_the_decision_json_on_stdout_and_the_limits_table_on_stderr() {
    let work = Workdir::new(&good_config());
    let out = leadwire(&[
        "run",
        "--config",
        &work.config(),
        "--pipeline",
        "score",
        "--lead",
        &work.lead(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let decision: Decision = serde_json::from_str(&stdout(&out)).expect("a Decision on stdout");
    assert_eq!(decision.status, DecisionStatus::Ok);
    assert_eq!(decision.lead_id, "1001");
    assert_eq!(decision.event_id, "evt-1");
    assert_eq!(decision.at, "2021-03-04T05:06:07.089Z");
    assert_eq!(decision.score.as_ref().unwrap().value, 25.0);

    let table = stderr(&out);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "step", "role", "fuel", "peak", "memory", "time", "verdict", "result"
        ],
        "{table}"
    );
    let row = lines.next().expect("a row for the step");
    assert!(row.starts_with("scorer "), "{row}");
    for column in ["scoring", "/ 10M (", "/ 32.0 MiB", "/ 100 ms", "/ 64.0 KiB"] {
        assert!(row.contains(column), "no `{column}` in {row}");
    }
    assert!(row.trim_end().ends_with(" ok"), "{row}");
    assert_eq!(lines.next(), None, "{table}");
}

#[test]
fn run_exits_3_when_a_fail_closed_step_fails_and_still_prints_the_decision() {
    let config = [
        plugin("panic", artifacts::HOSTILE_PANIC, ""),
        pipeline("score", "panic", "fail-closed"),
    ]
    .concat();
    let work = Workdir::new(&config);
    let out = leadwire(&[
        "run",
        "--config",
        &work.config(),
        "--pipeline",
        "score",
        "--lead",
        &work.lead(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let decision: Decision = serde_json::from_str(&stdout(&out)).expect("a Decision on stdout");
    assert_eq!(decision.status, DecisionStatus::Error);
    assert!(
        decision.error.as_deref().unwrap().contains("hostile-panic"),
        "{:?}",
        decision.error
    );
    let table = stderr(&out);
    assert!(
        table.contains("trap (fail-closed: decision failed)"),
        "{table}"
    );
}

#[test]
fn run_with_an_unknown_pipeline_fails_naming_the_defined_ones() {
    let work = Workdir::new(&good_config());
    let out = leadwire(&[
        "run",
        "--config",
        &work.config(),
        "--pipeline",
        "scroe",
        "--lead",
        &work.lead(),
    ]);
    assert!(!out.status.success());
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("no pipeline named `scroe` (defined: score)"),
        "{err}"
    );
}

#[test]
fn a_component_importing_wasi_http_is_refused_by_inspect_naming_the_import_and_the_fix() {
    // What a default componentize-js build imports: wasi:http, which the host
    // does not provide (plugins get no network).
    let bytes =
        wat::parse_str(r#"(component (import "wasi:http/outgoing-handler@0.2.0" (instance)))"#)
            .expect("a component in the text format");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("http.wasm");
    std::fs::write(&file, bytes).unwrap();
    let out = leadwire(&["plugin", "inspect", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("wasi:http/outgoing-handler@0.2.0"), "{err}");
    assert!(err.contains("does not provide"), "{err}");
    assert!(err.contains("fetch-event"), "{err}");
}

#[test]
fn choices_are_listed_and_each_is_accepted() {
    let work = Workdir::new(&good_config());
    let run = |event: &str| {
        leadwire(&[
            "run",
            "--config",
            &work.config(),
            "--pipeline",
            "score",
            "--lead",
            &work.lead(),
            "--event",
            event,
        ])
    };
    let out = run("create");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("[possible values: created, updated, sla-breached, rejected]"),
        "{err}"
    );
    for event in ["created", "updated", "sla-breached", "rejected"] {
        let out = run(event);
        assert!(out.status.success(), "--event {event}: {}", stderr(&out));
    }
}

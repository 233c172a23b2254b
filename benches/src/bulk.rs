//! Bulk scoring: `leadwire generate` a file, then `leadwire score` it, timing
//! the built binary as a user runs it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BulkFigures {
    /// `rules-scorer, CSV` …
    pub label: String,
    pub rows: u64,
    pub file_bytes: u64,
    pub generate_seconds: f64,
    pub score_seconds: f64,
    pub leads_per_second: f64,
    /// The command's last line on stderr (its summary).
    pub summary: String,
    pub threads: usize,
}

/// Rows `leadwire learn` fits the learned scorer on.
const LEARN_ROWS: u64 = 5_000;

/// `leadwire learn` on generated history: a rules-scorer config with a points
/// table per field it found useful (59 of the generator's columns).
pub fn learn(bin: &Path, dir: &Path) -> Result<std::path::PathBuf> {
    let history = dir.join(format!("history-{LEARN_ROWS}.csv"));
    if !history.exists() {
        run(Command::new(bin)
            .args([
                "generate",
                "--rows",
                &LEARN_ROWS.to_string(),
                "--format",
                "csv",
                "--output",
            ])
            .arg(&history))?;
    }
    let learned = dir.join("learned-scorer.toml");
    run(Command::new(bin)
        .args(["learn", "--outcome", "converted", "--input"])
        .arg(&history)
        .arg("--output")
        .arg(&learned))?;
    Ok(learned)
}

/// The config for bulk runs: the quickstart's plugins, a `bulk-score`
/// pipeline of rules-scorer alone, `bulk-learned` of rules-scorer with the
/// `learned` model, and the CSV mapping of generated files.
pub fn write_config(dir: &Path, plugins_dir: &Path, learned: &Path) -> Result<std::path::PathBuf> {
    let quickstart =
        std::fs::read_to_string(crate::root().join("examples/quickstart/leadwire.toml"))?
            .replace("../../target/plugins", &plugins_dir.display().to_string());
    let text = format!(
        r#"{quickstart}

[pipelines.bulk-score]
steps = [{{ plugin = "scorer" }}]

[plugins.learned]
path = {scorer}
config_file = {learned}

[pipelines.bulk-learned]
steps = [{{ plugin = "learned" }}]

# Generated files (`leadwire generate`): the event's time is a column.
[input]
event_at = "event_at"
types = {{ zip = "text", phone = "text", mobilephone = "text" }}
"#,
        scorer = toml_string(&plugins_dir.join("rules_scorer.wasm")),
        learned = toml_string(learned),
    );
    let path = dir.join(format!("bulk-{}.toml", std::process::id()));
    std::fs::write(&path, text)?;
    Ok(path)
}

fn toml_string(path: &Path) -> String {
    toml::Value::String(path.display().to_string()).to_string()
}

fn run(cmd: &mut Command) -> Result<(Duration, String)> {
    let start = Instant::now();
    let out = cmd.output().with_context(|| format!("run {cmd:?}"))?;
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    if !out.status.success() && out.status.code() != Some(3) {
        bail!("{cmd:?} failed ({}):\n{stderr}", out.status);
    }
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_string();
    Ok((elapsed, last))
}

/// Generate `rows` rows as `format` (reusing an existing file of the same
/// rows), then score them with `pipeline`.
pub fn score(
    bin: &Path,
    config: &Path,
    dir: &Path,
    rows: u64,
    format: &str,
    pipeline: &str,
    label: &str,
) -> Result<BulkFigures> {
    let input = dir.join(format!("leads-{rows}.{format}"));
    let mut generate_seconds = 0.0;
    if !input.exists() {
        let tmp = dir.join(format!("leads-{rows}.{format}.part"));
        let (t, _) = run(Command::new(bin)
            .args([
                "generate",
                "--rows",
                &rows.to_string(),
                "--format",
                format,
                "--output",
            ])
            .arg(&tmp))?;
        std::fs::rename(&tmp, &input)?;
        generate_seconds = t.as_secs_f64();
    }
    let file_bytes = std::fs::metadata(&input)?.len();
    let output = dir.join(format!("scored-{rows}-{pipeline}.csv"));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (t, summary) = run(Command::new(bin)
        .args(["score", "--pipeline", pipeline, "--config"])
        .arg(config)
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output))?;
    let _ = std::fs::remove_file(&output);
    Ok(BulkFigures {
        label: label.into(),
        rows,
        file_bytes,
        generate_seconds,
        score_seconds: t.as_secs_f64(),
        leads_per_second: rows as f64 / t.as_secs_f64(),
        summary,
        threads,
    })
}

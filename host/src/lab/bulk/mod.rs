//! Bulk runs: `leadwire score` decides a whole file of leads (an import, the
//! existing database) with the same sandboxed plugins as the server, on every
//! core, with plugin state in an in-memory sandbox unless asked otherwise.
//! `leadwire backtest` is built on the same pieces.

pub mod input;
mod output;
mod progress;
pub mod run;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

pub use input::{ColumnType, InputConfig, InputOptions, Row, RowError};
pub use run::Scored;

use crate::capabilities::{MemoryState, StateStore};
use crate::config::Config;
use crate::decision::DecisionStatus;
use crate::pipeline::Pipelines;
use crate::runtime::Runtime;

/// What to do with a row that cannot be read or decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BadRows {
    /// Report it (line and why), write it to the output as an error row, go on.
    Skip,
    /// Stop the run at the first such row.
    Fail,
}

/// Where plugin state lives during a bulk run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateMode {
    /// A fresh in-memory sandbox: the run never touches live state (round-robin
    /// positions, caps).
    Memory,
    /// The config's store, as the server uses it.
    Store,
}

/// What `score` and `backtest` read and how (the CLI's `--help` says each
/// option's meaning and default).
#[derive(Debug, Clone)]
pub struct BulkJob {
    pub config: PathBuf,
    pub pipeline: String,
    /// A .csv or .jsonl.
    pub input: PathBuf,
    /// Overrides `[input] id`.
    pub id_column: Option<String>,
    /// Cell values meaning "no value", besides empty.
    pub null_values: Vec<String>,
    /// The event time of rows whose own time is not mapped (RFC 3339 or a date).
    pub at: Option<String>,
    /// Default: one per core.
    pub threads: Option<usize>,
    pub on_error: BadRows,
    pub state: StateMode,
}

/// `leadwire score`: a result per row.
#[derive(Debug, Clone)]
pub struct ScoreJob {
    pub bulk: BulkJob,
    /// .csv or .jsonl; default: CSV on stdout.
    pub output: Option<PathBuf>,
    /// A column carried into each result row.
    pub outcome: Option<String>,
}

/// Counts for the one-line summary.
#[derive(Debug, Default)]
pub struct Counts {
    pub rows: u64,
    pub ok: u64,
    /// Row errors and failed decisions, by kind (`bad-row`, `fuel-exhausted`, ...).
    pub errors: BTreeMap<String, u64>,
    /// Fail-open steps that failed (the decision went on without them).
    pub step_errors: BTreeMap<String, u64>,
}

impl Counts {
    /// Count a row; returns its error, if it has one, for `--on-error`.
    pub fn add(&mut self, scored: &Scored) -> Option<String> {
        self.rows += 1;
        match &scored.result {
            Err(e) => {
                *self.errors.entry("bad-row".into()).or_default() += 1;
                Some(e.to_string())
            }
            Ok(decision) => {
                let mut failed = None;
                for step in &decision.steps {
                    if let Some(error) = &step.error {
                        let kind = error.kind().to_string();
                        if decision.status == DecisionStatus::Error {
                            failed = Some(kind);
                        } else {
                            *self.step_errors.entry(kind).or_default() += 1;
                        }
                    }
                }
                match failed {
                    Some(kind) => {
                        *self.errors.entry(kind).or_default() += 1;
                        let why = decision.error.clone().unwrap_or_default();
                        Some(format!("line {}: {why}", scored.line))
                    }
                    None => {
                        self.ok += 1;
                        None
                    }
                }
            }
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn summary(&self, verb: &str, seconds: f64) -> String {
        let list = |m: &BTreeMap<String, u64>| {
            m.iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut line = format!(
            "{verb} {} rows in {:.1} s ({:.0} rows/s): {} ok, {} errors",
            self.rows,
            seconds,
            self.rows as f64 / seconds.max(1e-9),
            self.ok,
            self.error_count()
        );
        if !self.errors.is_empty() {
            line += &format!(" ({})", list(&self.errors));
        }
        if !self.step_errors.is_empty() {
            line += &format!("; fail-open steps failed: {}", list(&self.step_errors));
        }
        line
    }
}

/// The config and pipelines a bulk run uses, state per `--state`.
pub fn load(args: &BulkJob) -> anyhow::Result<(Config, Pipelines)> {
    let config = Config::load(&args.config)?;
    let state: Arc<dyn StateStore> = match args.state {
        StateMode::Memory => Arc::new(MemoryState::default()),
        StateMode::Store => crate::store::open(&config.store.url)?,
    };
    let pipelines = Pipelines::load(&config, Arc::new(Runtime::new()?), state)?;
    pipelines.pipeline(&args.pipeline)?;
    Ok((config, pipelines))
}

pub fn input_options(
    args: &BulkJob,
    outcome: Option<String>,
    default_at: i64,
) -> anyhow::Result<InputOptions> {
    let default_at = match &args.at {
        Some(text) => crate::lead::parse_time(text).ok_or_else(|| {
            anyhow::anyhow!(
                "--at {text}: not a time (use RFC 3339, e.g. 2026-11-20T10:00:00Z, or YYYY-MM-DD)"
            )
        })?,
        None => default_at,
    };
    Ok(InputOptions {
        id_column: args.id_column.clone(),
        null_values: args.null_values.clone(),
        default_at,
        outcome,
        by: None,
    })
}

pub fn threads(args: &BulkJob) -> usize {
    args.threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Run `args` over its input, handing each row (in order) to `each` after
/// counting it; shows progress and enforces `--on-error`.
pub fn each_row(
    args: &BulkJob,
    config: &Config,
    pipelines: &Pipelines,
    options: &InputOptions,
    threads: usize,
    verb: &str,
    mut each: impl FnMut(&Scored) -> anyhow::Result<()>,
) -> anyhow::Result<Counts> {
    let rows = input::open(&args.input, &config.input, options)?;
    let progress = progress::Progress::new(rows.total_bytes, rows.bytes_read.clone(), verb);
    let mut tally = Counts::default();
    let mut reported = 0;
    // An error every row shares (a plugin's config error) is shown once.
    let mut shown = std::collections::HashSet::new();
    let mut repeated = 0u64;
    let start = Instant::now();
    let result = run::run(pipelines, &args.pipeline, rows, threads, |scored| {
        let error = tally.add(&scored);
        progress.row(tally.rows);
        if let Some(error) = error {
            if args.on_error == BadRows::Fail {
                anyhow::bail!("{error} (stopped: --on-error fail)");
            }
            // The first errors in full, each distinct one once, then only the
            // count (in the summary).
            let why = error
                .split_once(": ")
                .map_or(error.as_str(), |(_, why)| why);
            if !shown.insert(why.to_string()) {
                repeated += 1;
            } else if reported < 20 {
                progress.println(&format!("skipped {error}"));
                reported += 1;
            }
        }
        each(&scored)
    });
    progress.finish();
    eprintln!("{}", tally.summary(verb, start.elapsed().as_secs_f64()));
    if repeated > 0 {
        eprintln!(
            "({repeated} more rows failed with an error shown above; every one is in the output)"
        );
    }
    if reported == 20 && tally.error_count() > 20 + repeated {
        eprintln!("(only the first 20 different errors were printed; every one is in the output)");
    }
    result.map(|()| tally)
}

/// `leadwire score`.
pub fn score(args: &ScoreJob) -> anyhow::Result<Counts> {
    let (config, pipelines) = load(&args.bulk)?;
    let now = chrono::Utc::now().timestamp_millis();
    let options = input_options(&args.bulk, args.outcome.clone(), now)?;
    let mut out = output::Output::create(args.output.as_deref(), args.outcome.is_some())?;
    let tally = each_row(
        &args.bulk,
        &config,
        &pipelines,
        &options,
        threads(&args.bulk),
        "scored",
        |scored| out.write(scored),
    )?;
    out.finish()?;
    Ok(tally)
}

/// Whether an outcome cell counts as converted: `positive` if given (any
/// case), else 1, true, yes, won or converted. None for an empty cell.
pub fn is_positive(value: &str, positive: Option<&str>) -> Option<bool> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    Some(match positive {
        Some(p) => value.eq_ignore_ascii_case(p.trim()),
        None => ["1", "1.0", "true", "yes", "won", "converted"]
            .iter()
            .any(|p| value.eq_ignore_ascii_case(p)),
    })
}

/// The path as the user wrote it, for messages.
pub fn shown(path: &Path) -> String {
    path.display().to_string()
}

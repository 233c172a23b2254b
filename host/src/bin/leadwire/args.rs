//! The command line of the lab commands (`score`, `backtest`, `learn`): clap
//! lives here, in the CLI; each struct turns into the library's plain job.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use leadwire::lab::backtest::BacktestJob;
use leadwire::lab::bulk::{BadRows, BulkJob, ScoreJob, StateMode};
use leadwire::lab::learn::command::LearnJob;
use serde::de::DeserializeOwned;

/// A library enum read by its serde name, the choices listed in `--help`.
pub fn named<T>(names: &'static [&'static str]) -> impl TypedValueParser<Value = T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    PossibleValuesParser::new(names).try_map(|name| serde_json::from_value(name.into()))
}

#[derive(Debug, clap::Args)]
pub struct Bulk {
    /// The config file (plugins, pipelines, and an optional `[input]` mapping).
    #[arg(long)]
    config: PathBuf,
    #[arg(long)]
    pipeline: String,
    /// Leads: a .csv (headers are field names) or a .jsonl (one lead file per line).
    #[arg(long)]
    input: PathBuf,
    /// The CSV column holding the lead id (overrides `[input] id`).
    #[arg(long)]
    id_column: Option<String>,
    /// A cell value meaning "no value", besides empty (repeatable), e.g. --null Select.
    #[arg(long = "null", value_name = "VALUE")]
    null_values: Vec<String>,
    /// The event time (RFC 3339 or YYYY-MM-DD) for rows whose own time is not
    /// mapped (default: now for `score`, 1970-01-01 for `backtest`, so a replay
    /// is the same every time).
    #[arg(long)]
    at: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// A row that cannot be read or decided: `skip` reports it (line and why)
    /// and writes an error row; `fail` stops the run.
    #[arg(long, default_value = "skip", value_parser = named::<BadRows>(&["skip", "fail"]))]
    on_error: BadRows,
    /// Plugin state: `memory`, a fresh sandbox that never touches live state
    /// (round-robin positions, caps); `store`, the config's store as the server uses it.
    #[arg(long, default_value = "memory", value_parser = named::<StateMode>(&["memory", "store"]))]
    state: StateMode,
}

impl From<Bulk> for BulkJob {
    fn from(a: Bulk) -> Self {
        BulkJob {
            config: a.config,
            pipeline: a.pipeline,
            input: a.input,
            id_column: a.id_column,
            null_values: a.null_values,
            at: a.at,
            threads: a.threads,
            on_error: a.on_error,
            state: a.state,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Score {
    #[command(flatten)]
    bulk: Bulk,
    /// Where to write one result per row: .csv (a summary per row) or .jsonl
    /// (each full decision); default: CSV on stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    /// A column (or JSONL field) to carry into the output beside each result,
    /// e.g. the outcome an analyst will compare the scores with.
    #[arg(long)]
    outcome: Option<String>,
}

impl From<Score> for ScoreJob {
    fn from(a: Score) -> Self {
        ScoreJob {
            bulk: a.bulk.into(),
            output: a.output,
            outcome: a.outcome,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Backtest {
    #[command(flatten)]
    bulk: Bulk,
    /// The column (or JSONL field) saying what happened, e.g. `converted`.
    #[arg(long)]
    outcome: String,
    /// The outcome value that counts as converted (default: 1, true, yes, won,
    /// converted; any case). Other non-empty values count as not converted.
    #[arg(long)]
    positive: Option<String>,
    /// Another config to compare with (same pipeline name, same input).
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Print the results as JSON on stdout instead of the summary.
    #[arg(long)]
    json: bool,
    /// Write a self-contained HTML report here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Break conversion down by this input column (e.g. `--by origin`).
    #[arg(long, value_name = "COLUMN")]
    by: Option<String>,
    /// Suggest the cut-off qualifying the most leads at this precision
    /// (`40%` or `0.4`).
    #[arg(long, value_name = "SHARE", value_parser = share, conflicts_with = "target_volume")]
    target_precision: Option<f64>,
    /// Suggest the cut-off qualifying this share of the leads (`20%` or `0.2`).
    #[arg(long, value_name = "SHARE", value_parser = share)]
    target_volume: Option<f64>,
}

/// A share: `40%` or `0.4`, above 0 and at most 1.
fn share(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let value = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("`{text}` is not a share: write it like 40% or 0.4"))?;
    if value > 0.0 && value <= 1.0 {
        Ok(value)
    } else {
        Err(format!(
            "`{text}` is not a share between 0 and 100%: write it like 40% or 0.4"
        ))
    }
}

impl From<Backtest> for BacktestJob {
    fn from(a: Backtest) -> Self {
        use leadwire::lab::backtest::metrics::Target;
        BacktestJob {
            bulk: a.bulk.into(),
            outcome: a.outcome,
            positive: a.positive,
            baseline: a.baseline,
            json: a.json,
            report: a.report,
            by: a.by,
            target: a
                .target_precision
                .map(Target::Precision)
                .or(a.target_volume.map(Target::Volume)),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Learn {
    /// History: a .csv or .jsonl of leads with their outcome.
    #[arg(long)]
    input: PathBuf,
    /// The column saying what happened, e.g. `converted`.
    #[arg(long)]
    outcome: String,
    /// The outcome value that counts as converted (default: 1, true, yes, won, converted).
    #[arg(long)]
    positive: Option<String>,
    /// Columns to leave out: identifiers, and fields filled in after the fact
    /// that leak the outcome (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<String>,
    /// Learn from these columns only (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    /// A cell value meaning "no value", besides empty (repeatable), e.g. --null Select.
    #[arg(long = "null", value_name = "VALUE")]
    null_values: Vec<String>,
    /// A leadwire.toml whose `[input]` section maps and types the columns.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where to write the rules-scorer config (default: stdout).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Most bins per numeric column.
    #[arg(long, default_value_t = 10)]
    max_bins: usize,
    /// Rows a value needs to get its own points.
    #[arg(long, default_value_t = 20)]
    min_count: usize,
}

impl From<Learn> for LearnJob {
    fn from(a: Learn) -> Self {
        LearnJob {
            input: a.input,
            outcome: a.outcome,
            positive: a.positive,
            exclude: a.exclude,
            columns: a.columns,
            null_values: a.null_values,
            config: a.config,
            output: a.output,
            max_bins: a.max_bins,
            min_count: a.min_count,
        }
    }
}

//! `leadwire learn`: read history (CSV or JSONL, the same mapping as `score`),
//! fit, write the rules-scorer config, print the cross-validated AUC.

use std::path::PathBuf;

use super::{Example, LearnOptions, learn};
use crate::config::Config;
use crate::lab::bulk::input::{self, InputConfig, InputOptions};

/// `leadwire learn`: what to fit on and how.
#[derive(Debug, Clone)]
pub struct LearnJob {
    pub input: PathBuf,
    pub outcome: String,
    pub positive: Option<String>,
    /// Columns left out (ids, fields that leak the outcome).
    pub exclude: Vec<String>,
    /// When not empty, the only columns learned from.
    pub columns: Vec<String>,
    pub null_values: Vec<String>,
    /// A config whose `[input]` maps and types the columns.
    pub config: Option<PathBuf>,
    /// Default: stdout.
    pub output: Option<PathBuf>,
    pub max_bins: usize,
    pub min_count: usize,
}

pub fn run(args: &LearnJob) -> anyhow::Result<()> {
    let mapping = match &args.config {
        Some(path) => Config::load(path)?.input,
        None => InputConfig::default(),
    };
    let options = InputOptions {
        null_values: args.null_values.clone(),
        outcome: Some(args.outcome.clone()),
        ..InputOptions::default()
    };
    let mut examples = Vec::new();
    let (mut bad, mut unknown) = (0u64, 0u64);
    // Every field name in the file, to refuse --exclude and --columns names it lacks.
    let mut seen = std::collections::BTreeSet::new();
    // The outcome's values and their counts (the first few), for a one-class message.
    let mut outcomes = std::collections::BTreeMap::<String, u64>::new();
    for row in input::open(&args.input, &mapping, &options)? {
        let row = match row.and_then(input::RawRow::parse) {
            Ok(row) => row,
            Err(e) => {
                if bad < 20 {
                    eprintln!("skipped {e}");
                }
                bad += 1;
                continue;
            }
        };
        let outcome = row.outcome.as_deref().map(str::trim).unwrap_or("");
        if outcome.is_empty() {
            unknown += 1;
            continue;
        }
        if outcomes.len() < 12 || outcomes.contains_key(outcome) {
            *outcomes.entry(outcome.to_string()).or_default() += 1;
        }
        let positive =
            crate::lab::bulk::is_positive(outcome, args.positive.as_deref()) == Some(true);
        let mut fields: std::collections::BTreeMap<String, serde_json::Value> = row
            .lead
            .fields
            .into_iter()
            .map(|f| (f.name, crate::lead::json_of(f.value)))
            .collect();
        for name in fields.keys() {
            if !seen.contains(name) {
                seen.insert(name.clone());
            }
        }
        fields.retain(|name, _| {
            !args.exclude.contains(name) && (args.columns.is_empty() || args.columns.contains(name))
        });
        examples.push(Example { fields, positive });
    }
    for (flag, names) in [("--columns", &args.columns), ("--exclude", &args.exclude)] {
        let missing: Vec<&str> = names
            .iter()
            .filter(|name| !seen.contains(*name))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            let known: Vec<&str> = seen.iter().map(String::as_str).collect();
            anyhow::bail!(
                "{flag} {}: no such column in {} (its columns: {})",
                missing.join(", "),
                args.input.display(),
                known.join(", ")
            );
        }
    }
    if bad + unknown > 0 {
        eprintln!("left out {bad} unreadable rows and {unknown} rows without an outcome");
    }
    let learned = learn(
        &examples,
        &LearnOptions {
            max_bins: args.max_bins,
            min_count: args.min_count,
            exclude: args.exclude.clone(),
            types: mapping.types.clone(),
            ..LearnOptions::default()
        },
    )
    .map_err(|e| match e {
        super::LearnError::OneClass { positive } => {
            let values: Vec<String> = outcomes
                .iter()
                .map(|(v, n)| format!("`{v}` ({n})"))
                .collect();
            let reads = match &args.positive {
                Some(p) => format!("--positive {p}"),
                None => "a positive value (1, true, yes, won, converted)".into(),
            };
            anyhow::anyhow!(
                "every row has the same outcome (all {}): column `{}` holds {}; {} matches {}. \
                 Say which value is the positive outcome with --positive VALUE",
                if positive { "positive" } else { "negative" },
                args.outcome,
                values.join(", "),
                if positive { "every row" } else { "no row" },
                reads
            )
        }
        e => e.into(),
    })?;
    for warning in &learned.warnings {
        eprintln!("warning: {warning}");
    }
    for (name, why) in &learned.fields_skipped {
        eprintln!("skipped column `{name}`: {why}");
    }
    eprintln!(
        "calibration (each row predicted by a cross-validation model that did not see it):\n\
         decile  leads  predicted  actual"
    );
    for c in &learned.calibration {
        eprintln!(
            "{:>6} {:>6} {:>9.1}% {:>6.1}%",
            c.decile,
            c.rows,
            c.predicted * 100.0,
            c.actual * 100.0
        );
    }
    match &args.output {
        Some(path) => std::fs::write(path, &learned.toml)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?,
        None => print!("{}", learned.toml),
    }
    eprintln!(
        "learned points for {} fields from {} leads: cross-validated AUC {:.4} (integer points on the fitted rows: {:.4}); {} points double the odds{}",
        learned.fields_used.len(),
        examples.len(),
        learned.cv_auc,
        learned.train_auc,
        learned.points_to_double,
        args.output
            .as_ref()
            .map(|p| format!("; wrote {}", p.display()))
            .unwrap_or_default()
    );
    Ok(())
}

//! `leadwire backtest`: replay history through a pipeline and measure how
//! well its decisions predict what happened, optionally against a baseline
//! configuration. Deterministic: the clock is each row's event time, plugin
//! state starts empty, stateful pipelines run in input order.

pub mod compare;
pub mod metrics;
mod report;

use std::path::PathBuf;

use serde::Serialize;

use crate::decision::{DecisionStatus, RouteAction};
use crate::lab::bulk::{self, BulkJob, Scored};
use compare::Change;
use metrics::{Quality, Replayed};

/// `leadwire backtest`: replay history, measure against its outcome.
#[derive(Debug, Clone)]
pub struct BacktestJob {
    pub bulk: BulkJob,
    /// The column saying what happened.
    pub outcome: String,
    /// The value that counts as converted (default: the usual yes-words).
    pub positive: Option<String>,
    /// A config to compare with.
    pub baseline: Option<PathBuf>,
    pub json: bool,
    /// Where to write the HTML report.
    pub report: Option<PathBuf>,
    /// An input column to break conversion down by.
    pub by: Option<String>,
    /// The cut-off to suggest.
    pub target: Option<metrics::Target>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Backtest {
    pub config: String,
    pub pipeline: String,
    pub input: String,
    pub outcome: String,
    pub quality: Quality,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<Breakdown>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<Suggestion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
}

/// Conversion by the values of one input column (`--by`).
#[derive(Debug, Clone, Serialize)]
pub struct Breakdown {
    pub column: String,
    pub groups: Vec<metrics::Group>,
}

/// The cut-off meeting `--target-precision` or `--target-volume`.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    /// What was asked, e.g. "precision ≥ 40.0%".
    pub target: String,
    /// None when no cut-off meets it.
    pub threshold: Option<metrics::Threshold>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Baseline {
    pub config: String,
    pub quality: Quality,
    /// Candidate AUC minus baseline AUC.
    pub auc_difference: Option<f64>,
    pub changes: Vec<Change>,
}

fn replayed(s: &Scored, positive: Option<&str>) -> Replayed {
    let mut r = Replayed {
        line: s.line,
        id: s.lead_id.clone(),
        positive: s
            .outcome
            .as_deref()
            .and_then(|o| bulk::is_positive(o, positive)),
        by: s.by.clone(),
        ..Replayed::default()
    };
    match &s.result {
        Err(e) => r.error = Some(e.message.clone()),
        Ok(d) => {
            if d.status == DecisionStatus::Error {
                r.error = d.error.clone();
            } else {
                r.score = d.score.as_ref().map(|s| s.value);
            }
            r.grade = d.score.as_ref().and_then(|s| s.grade.clone());
            r.stage = d.lifecycle_stage.clone();
            r.segments = d.segments.iter().map(|s| s.name.clone()).collect();
            r.owner = d.owner.clone();
            r.route = d.route.as_ref().map(|route| match &route.action {
                RouteAction::Assign { owner, .. } => owner.clone(),
                RouteAction::Queue { queue, .. } => format!("queue:{queue}"),
                RouteAction::KeepCurrent { .. } => "keep-current".into(),
                RouteAction::Unrouted { .. } => "unrouted".into(),
            });
        }
    }
    r
}

/// Replay the input through one config.
fn replay(args: &BacktestJob, bulk: &BulkJob) -> anyhow::Result<Vec<Replayed>> {
    let (config, pipelines) = bulk::load(bulk)?;
    // A plugin with state (round robin, caps) sees leads in input order only
    // on one thread; without state, rows are independent and run in parallel.
    let stateful = pipelines
        .pipeline(&bulk.pipeline)?
        .steps
        .iter()
        .any(|s| s.plugin.grants.iter().any(|g| g == "state"));
    let threads = if stateful { 1 } else { bulk::threads(bulk) };
    let mut options = bulk::input_options(bulk, Some(args.outcome.clone()), 0)?;
    options.by = args.by.clone();
    let mut rows = Vec::new();
    let positive = args.positive.as_deref();
    bulk::each_row(
        bulk,
        &config,
        &pipelines,
        &options,
        threads,
        "replayed",
        |s| {
            rows.push(replayed(s, positive));
            Ok(())
        },
    )?;
    Ok(rows)
}

pub fn backtest(args: &BacktestJob) -> anyhow::Result<Backtest> {
    if let Some(by) = args.by.as_ref().filter(|by| **by == args.outcome) {
        anyhow::bail!("--by {by} is the outcome column: break down by another column");
    }
    let rows = replay(args, &args.bulk)?;
    let quality = metrics::quality(&rows);
    if quality.evaluated == 0 {
        // When no row decided, the failures are the reason.
        let failed: Vec<&str> = rows.iter().filter_map(|r| r.error.as_deref()).collect();
        let cause = match failed.first() {
            Some(first) if failed.len() == rows.len() => {
                format!(": every row failed ({}), e.g. {first}", failed.len())
            }
            Some(first) => format!(
                "; {} of {} rows failed, e.g. {first}",
                failed.len(),
                rows.len()
            ),
            None if rows.iter().all(|r| r.positive.is_none()) => {
                format!(
                    ": no row has a value in the outcome column `{}`",
                    args.outcome
                )
            }
            None => ": the pipeline gives no score (has it a scoring step?)".into(),
        };
        anyhow::bail!(
            "no row has both a score and an outcome in `{}`{cause}",
            args.outcome
        );
    }
    let baseline = match &args.baseline {
        Some(path) => {
            let bulk = BulkJob {
                config: path.clone(),
                ..args.bulk.clone()
            };
            let base_rows = replay(args, &bulk)?;
            let base_quality = metrics::quality(&base_rows);
            Some(Baseline {
                config: bulk::shown(path),
                auc_difference: quality.auc.zip(base_quality.auc).map(|(c, b)| c - b),
                changes: compare::changes(&base_rows, &rows),
                quality: base_quality,
            })
        }
        None => None,
    };
    let suggestion = args.target.map(|target| {
        let (scores, labels): (Vec<f64>, Vec<bool>) = rows
            .iter()
            .filter_map(|r| Some((r.score?, r.positive?)))
            .unzip();
        let sweep = metrics::sweep(&scores, &labels);
        Suggestion {
            target: match target {
                metrics::Target::Precision(p) => format!("precision ≥ {:.1}%", p * 100.0),
                metrics::Target::Volume(v) => format!("{:.1}% of the leads", v * 100.0),
            },
            threshold: metrics::suggest(&sweep, target).cloned(),
        }
    });
    let result = Backtest {
        config: bulk::shown(&args.bulk.config),
        pipeline: args.bulk.pipeline.clone(),
        input: bulk::shown(&args.bulk.input),
        outcome: args.outcome.clone(),
        by: args.by.as_ref().map(|column| Breakdown {
            column: column.clone(),
            groups: metrics::by_value(&rows),
        }),
        suggestion,
        quality,
        baseline,
    };
    if let Some(path) = &args.report {
        std::fs::write(path, report::render(&result))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    Ok(result)
}

fn fmt(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.map(f).unwrap_or_else(|| "–".into())
}

/// The terminal summary.
pub fn summary(b: &Backtest) -> String {
    let q = &b.quality;
    let mut out = format!(
        "{} leads evaluated ({} converted, base rate {:.1}%); ROC AUC {}{}\n",
        q.evaluated,
        q.positives,
        q.base_rate * 100.0,
        fmt(q.auc, |a| format!("{a:.4}")),
        q.auc_interval
            .map(|(lo, hi)| format!(" (95% interval {lo:.3} to {hi:.3})"))
            .unwrap_or_default()
    );
    if q.without_score + q.without_outcome > 0 {
        out += &format!(
            "left out: {} without a score (bad rows, failed decisions), {} without an outcome\n",
            q.without_score, q.without_outcome
        );
    }
    out += "decile  leads  converted   rate   lift  scores\n";
    for d in &q.deciles {
        out += &format!(
            "{:>6} {:>6} {:>10} {:>5.1}% {:>6.2}  {} – {}\n",
            d.decile,
            d.rows,
            d.positives,
            d.rate * 100.0,
            d.lift,
            d.min_score,
            d.max_score
        );
    }
    out += "cut-off  leads  share  converted  precision  recall\n";
    for t in &q.thresholds {
        out += &format!(
            "≥{:>7} {:>6} {:>5.1}% {:>10} {:>9.1}% {:>6.1}%\n",
            t.score,
            t.leads,
            t.share * 100.0,
            t.positives,
            t.precision * 100.0,
            t.recall * 100.0
        );
    }
    if let Some(s) = &b.suggestion {
        out += &match &s.threshold {
            Some(t) => format!(
                "suggested cut-off for {}: score ≥ {} ({} leads, {:.1}%; precision {:.1}%, recall \
                 {:.1}%)\n",
                s.target,
                t.score,
                t.leads,
                t.share * 100.0,
                t.precision * 100.0,
                t.recall * 100.0
            ),
            None => format!("no cut-off gives {}\n", s.target),
        };
    }
    let staged = q.stages.iter().any(|s| s.predicted > 0);
    if !staged {
        out += "no lead reached MQL or later (no segmentation step sets lifecycle stages?)\n";
    }
    for s in q.stages.iter().filter(|_| staged) {
        out += &format!(
            "{}: {} leads, precision {}, recall {}, F1 {}\n",
            s.stage,
            s.predicted,
            fmt(s.precision, |p| format!("{:.1}%", p * 100.0)),
            fmt(s.recall, |p| format!("{:.1}%", p * 100.0)),
            fmt(s.f1, |f| format!("{f:.3}"))
        );
    }
    let line = |name: &str, groups: &[metrics::Group]| {
        let parts: Vec<String> = groups
            .iter()
            .take(12)
            .map(|g| format!("{} {} ({:.1}%)", g.name, g.rows, g.rate * 100.0))
            .collect();
        format!("by {name}: {}\n", parts.join(", "))
    };
    out += &line("grade", &q.grades);
    out += &line("segment", &q.segments);
    out += &line("route", &q.routes);
    if let Some(by) = &b.by {
        out += &line(&by.column, &by.groups);
    }
    if let Some(base) = &b.baseline {
        out += &format!(
            "baseline {}: ROC AUC {} (candidate − baseline: {})\n",
            base.config,
            fmt(base.quality.auc, |a| format!("{a:.4}")),
            fmt(base.auc_difference, |d| format!("{d:+.4}"))
        );
        for c in &base.changes {
            out += &format!("  {} changes for {} leads", c.what, c.count);
            if let Some(e) = c.examples.first() {
                out += &format!(
                    ", e.g. line {} {}: {} → {}",
                    e.line, e.id, e.baseline, e.candidate
                );
            }
            out += "\n";
        }
    }
    out
}

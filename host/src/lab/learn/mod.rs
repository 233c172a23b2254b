//! `leadwire learn`, the modelling half: fit a regularised logistic model on
//! historical leads and write it as a rules-scorer config of integer points
//! per field value or numeric range.
//!
//! - `features.rs`: columns → categories (case-folded as the scorer compares
//!   them) and quantile bins; missing and rare values are each field's 0
//! - `logistic.rs`: L2 logistic regression (Newton), deterministic
//! - `points.rs`: coefficients → integer points → commented TOML
//! - `auc.rs`: ROC AUC, shared with `backtest`
//!
//! The L2 strength is chosen by stratified k-fold cross-validation on AUC, then
//! the model is refitted on all rows. Same input, same options → byte-identical
//! TOML (no clock, no unseeded randomness, no hash-order iteration).

use std::collections::BTreeMap;

use serde_json::Value;

pub mod auc;
pub mod command;
mod features;
mod logistic;
mod points;

pub use auc::roc_auc;

use features::{Encoded, Kind, Tally};

/// One historical lead: its fields (`Value::Null` = missing) and whether it had
/// the outcome.
#[derive(Debug, Clone)]
pub struct Example {
    pub fields: BTreeMap<String, Value>,
    pub positive: bool,
}

#[derive(Debug, Clone)]
pub struct LearnOptions {
    /// Cross-validation folds (at least 2).
    pub folds: usize,
    /// Seed of the fold assignment.
    pub seed: u64,
    /// Most bins per numeric column (2 to 100).
    pub max_bins: usize,
    /// A value (or bin) needs this many rows to get its own points; rarer ones score 0.
    pub min_count: usize,
    /// Columns to leave out (outcome leaks, identifiers).
    pub exclude: Vec<String>,
    /// Columns typed by `[input] types`: a `text` column is categories even when
    /// its values look like numbers (a zip code); a `time` column is refused.
    pub types: BTreeMap<String, crate::config::ColumnType>,
}

impl Default for LearnOptions {
    fn default() -> Self {
        LearnOptions {
            folds: 5,
            seed: 0,
            max_bins: 10,
            min_count: 20,
            exclude: Vec::new(),
            types: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Learned {
    /// The rules-scorer config, with a header comment (inputs, CV AUC; no date).
    pub toml: String,
    /// Mean AUC over the cross-validation folds at the chosen L2 strength.
    pub cv_auc: f64,
    /// AUC of the integer points on the rows fitted.
    pub train_auc: f64,
    /// Points that double the odds of a positive: 10, or 20, 40, 80 when
    /// whole points at 10 would change the ranking (stated in the header too).
    pub points_to_double: f64,
    pub warnings: Vec<String>,
    /// In the order of the config's rules (most influential first).
    pub fields_used: Vec<String>,
    /// Column and why it was skipped.
    pub fields_skipped: Vec<(String, String)>,
    /// Predicted chance against what happened, by tenth of the rows, from the
    /// cross-validation's held-out predictions (each row predicted by a model
    /// that did not see it).
    pub calibration: Vec<Calibration>,
}

/// One tenth of the rows, highest predicted chance first.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub decile: usize,
    pub rows: usize,
    /// The mean predicted chance of a positive.
    pub predicted: f64,
    /// The share that was positive.
    pub actual: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    #[error("no rows to learn from")]
    NoRows,
    #[error(
        "every row has the same outcome ({}): the model needs leads with and without it",
        if *positive { "all positive" } else { "all negative" }
    )]
    OneClass { positive: bool },
    #[error(
        "too few rows to cross-validate: {positives} positive and {negatives} negative, need at least 2 of each"
    )]
    TooFewRows { positives: usize, negatives: usize },
    #[error("invalid option: {0}")]
    InvalidOption(String),
    #[error("no usable column{}", skipped_list(.skipped))]
    NoUsableColumn { skipped: Vec<(String, String)> },
}

fn skipped_list(skipped: &[(String, String)]) -> String {
    if skipped.is_empty() {
        return ": the rows have no fields".to_string();
    }
    let items: Vec<String> = skipped
        .iter()
        .map(|(name, why)| format!("`{name}` ({why})"))
        .collect();
    format!(": {}", items.join(", "))
}

/// L2 strengths tried, strongest first (so each fit starts from the last).
const LAMBDAS: [f64; 9] = [100.0, 30.0, 10.0, 3.0, 1.0, 0.3, 0.1, 0.03, 0.01];
/// A CV AUC this close to the best counts as a tie, won by the stronger penalty.
const CV_TIE: f64 = 1e-4;
/// Warn when one column alone reaches this AUC. Honest intake fields rarely
/// pass 0.8 (X Education's best: 0.75); its leaking `Tags` reaches 0.92.
const LEAK_AUC: f64 = 0.9;
/// A combined model this good on lead data is more likely a leak than skill.
const SUSPICIOUS_AUC: f64 = 0.97;

/// Fit and render. Errors say what is wrong with the input.
pub fn learn(examples: &[Example], options: &LearnOptions) -> Result<Learned, LearnError> {
    if options.folds < 2 {
        return Err(LearnError::InvalidOption("folds must be at least 2".into()));
    }
    if !(2..=100).contains(&options.max_bins) {
        return Err(LearnError::InvalidOption(
            "max_bins must be from 2 to 100".into(),
        ));
    }
    if examples.is_empty() {
        return Err(LearnError::NoRows);
    }
    let y: Vec<bool> = examples.iter().map(|e| e.positive).collect();
    let positives = y.iter().filter(|&&p| p).count();
    let negatives = y.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(LearnError::OneClass {
            positive: positives > 0,
        });
    }
    if positives < 2 || negatives < 2 {
        return Err(LearnError::TooFewRows {
            positives,
            negatives,
        });
    }
    let min_count = options.min_count.max(1);
    let encoded = features::encode(examples, options, min_count);
    if encoded.fields.is_empty() {
        return Err(LearnError::NoUsableColumn {
            skipped: encoded.skipped,
        });
    }

    let mut warnings = leak_warnings(&encoded, &y);
    warnings.extend(presence_leaks(examples, &encoded, &y));
    let smaller = positives.min(negatives);
    if smaller < 50 {
        warnings.push(format!(
            "only {smaller} {} rows: the points will move a lot with more data",
            if positives < negatives {
                "positive"
            } else {
                "negative"
            }
        ));
    }

    // Choose the penalty by cross-validation, then refit on every row.
    let folds = options.folds.min(smaller);
    let (cv, held_out) = cross_validate(&encoded, &y, folds, options.seed);
    let best = cv.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let chosen = cv.iter().position(|&a| a >= best - CV_TIE).unwrap_or(0);
    let (lambda, cv_auc) = (LAMBDAS[chosen], cv[chosen]);
    let calibration = calibration(&held_out[chosen], &y);
    let all: Vec<usize> = (0..y.len()).collect();
    let beta = logistic::fit(&encoded.rows, &y, &all, encoded.features, lambda, None);

    // The fewest points per doubling of the odds that keep the ranking.
    let exact: Vec<f64> = encoded
        .rows
        .iter()
        .map(|r| logistic::linear(&beta, r))
        .collect();
    let exact_auc = roc_auc(&exact, &y).unwrap_or(0.5);
    let score = |pdo: f64| {
        let pts = points::to_points(&beta, pdo);
        let totals: Vec<f64> = encoded.rows.iter().map(|r| total(&pts, r) as f64).collect();
        let auc = roc_auc(&totals, &y).unwrap_or(0.5);
        (pdo, pts, totals, auc)
    };
    let mut scored = score(points::PDO_CHOICES[0]);
    for pdo in &points::PDO_CHOICES[1..] {
        if (scored.3 - exact_auc).abs() <= points::ROUNDING_SLACK {
            break;
        }
        scored = score(*pdo);
    }
    let (pdo, pts, totals, train_auc) = scored;
    if cv_auc >= SUSPICIOUS_AUC {
        warnings.push(format!(
            "the cross-validated AUC is {cv_auc:.3}: lead scores are rarely this good; some column \
             probably records the outcome itself (filled in by sales after the fact): check the \
             columns used and leave such ones out with --exclude"
        ));
    }

    let order = rule_order(&encoded, &pts);
    let chances = chances(&totals, beta[0], pdo);
    let summary = points::Summary {
        rows: y.len(),
        positives,
        folds,
        lambda,
        lambdas: &LAMBDAS,
        cv_auc,
        train_auc,
        pdo,
        chances: &chances,
        skipped: &encoded.skipped,
        warnings: &warnings,
    };
    let toml = points::render(&summary, &encoded.fields, &order, &pts);
    Ok(Learned {
        toml,
        cv_auc,
        points_to_double: pdo,
        train_auc,
        warnings,
        fields_used: order
            .iter()
            .map(|&f| encoded.fields[f].name.clone())
            .collect(),
        fields_skipped: encoded.skipped,
        calibration,
    })
}

/// Held-out log-odds against outcomes, by tenth (highest first).
fn calibration(log_odds: &[f64], y: &[bool]) -> Vec<Calibration> {
    let mut order: Vec<usize> = (0..y.len()).collect();
    order.sort_by(|&a, &b| log_odds[b].total_cmp(&log_odds[a]).then(a.cmp(&b)));
    let n = order.len();
    (0..10)
        .filter_map(|d| {
            let part = &order[d * n / 10..(d + 1) * n / 10];
            if part.is_empty() {
                return None;
            }
            let rows = part.len();
            let predicted = part
                .iter()
                .map(|&i| logistic::sigmoid(log_odds[i]))
                .sum::<f64>()
                / rows as f64;
            let actual = part.iter().filter(|&&i| y[i]).count() as f64 / rows as f64;
            Some(Calibration {
                decile: d + 1,
                rows,
                predicted,
                actual,
            })
        })
        .collect()
}

fn total(points: &[i64], row: &[u32]) -> i64 {
    row.iter()
        .map(|&f| points.get(f as usize).copied().unwrap_or(0))
        .sum()
}

/// Mean AUC over stratified folds for each of [`LAMBDAS`], and each row's
/// held-out log-odds for each. Folds run on a few threads; each fold's result
/// depends only on its rows, so it is deterministic.
fn cross_validate(
    encoded: &Encoded,
    y: &[bool],
    folds: usize,
    seed: u64,
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let fold_of = assign_folds(y, folds, seed);
    let one_fold = |k: usize| -> Vec<(Option<f64>, Vec<(usize, f64)>)> {
        let train: Vec<usize> = (0..y.len()).filter(|&i| fold_of[i] != k).collect();
        let test: Vec<usize> = (0..y.len()).filter(|&i| fold_of[i] == k).collect();
        let test_y: Vec<bool> = test.iter().map(|&i| y[i]).collect();
        let mut beta: Option<Vec<f64>> = None;
        LAMBDAS
            .iter()
            .map(|&lambda| {
                let b = logistic::fit(
                    &encoded.rows,
                    y,
                    &train,
                    encoded.features,
                    lambda,
                    beta.as_deref(),
                );
                let scores: Vec<f64> = test
                    .iter()
                    .map(|&i| logistic::linear(&b, &encoded.rows[i]))
                    .collect();
                beta = Some(b);
                let auc = roc_auc(&scores, &test_y);
                (auc, test.iter().copied().zip(scores).collect())
            })
            .collect()
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(folds);
    let mut per_fold: Vec<Vec<(Option<f64>, Vec<(usize, f64)>)>> = vec![Vec::new(); folds];
    std::thread::scope(|scope| {
        // Thread t takes folds t, t + threads, ...; inline if a thread cannot start.
        let work = |t: usize| -> Vec<(usize, Vec<(Option<f64>, Vec<(usize, f64)>)>)> {
            (t..folds)
                .step_by(threads)
                .map(|k| (k, one_fold(k)))
                .collect()
        };
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                (
                    t,
                    std::thread::Builder::new().spawn_scoped(scope, move || work(t)),
                )
            })
            .collect();
        for (t, handle) in handles {
            let done = match handle {
                Ok(h) => h.join().unwrap_or_default(),
                Err(_) => work(t),
            };
            for (k, aucs) in done {
                per_fold[k] = aucs;
            }
        }
    });
    let mean_aucs = (0..LAMBDAS.len())
        .map(|j| {
            let aucs: Vec<f64> = per_fold
                .iter()
                .filter_map(|f| f.get(j).and_then(|(auc, _)| *auc))
                .collect();
            if aucs.is_empty() {
                0.5
            } else {
                aucs.iter().sum::<f64>() / aucs.len() as f64
            }
        })
        .collect();
    let held_out = (0..LAMBDAS.len())
        .map(|j| {
            let mut log_odds = vec![0.0; y.len()];
            for (i, v) in per_fold
                .iter()
                .filter_map(|f| f.get(j))
                .flat_map(|(_, p)| p)
            {
                log_odds[*i] = *v;
            }
            log_odds
        })
        .collect();
    (mean_aucs, held_out)
}

/// Each row's fold: positives and negatives shuffled apart (seeded) and dealt
/// round-robin, so every fold has both outcomes in the same proportion.
fn assign_folds(y: &[bool], folds: usize, seed: u64) -> Vec<usize> {
    let mut state = seed;
    let mut fold_of = vec![0; y.len()];
    let mut dealt = 0;
    for class in [true, false] {
        let mut idx: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        for i in (1..idx.len()).rev() {
            let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
            idx.swap(i, j);
        }
        for i in idx {
            fold_of[i] = dealt % folds;
            dealt += 1;
        }
    }
    fold_of
}

use crate::lab::numbers::splitmix64;

/// Fields whose values alone rank the outcome almost perfectly: each row scored
/// by the positive rate of its value (or bin, or missing).
fn leak_warnings(encoded: &Encoded, y: &[bool]) -> Vec<String> {
    let mut warnings = Vec::new();
    for field in &encoded.fields {
        let mut rate = BTreeMap::new();
        let tallies: Vec<(usize, Tally)> = match &field.kind {
            Kind::Categorical(levels) => levels.iter().map(|l| (l.feature, l.tally)).collect(),
            Kind::Numeric { bins, .. } => bins
                .iter()
                .filter_map(|b| b.feature.map(|f| (f, b.tally)))
                .collect(),
        };
        for (feature, t) in tallies {
            rate.insert(feature as u32, t.positives as f64 / t.rows.max(1) as f64);
        }
        let reference = field.reference.positives as f64 / field.reference.rows.max(1) as f64;
        let scores: Vec<f64> = encoded
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .find_map(|f| rate.get(f).copied())
                    .unwrap_or(reference)
            })
            .collect();
        if let Some(auc) = roc_auc(&scores, y).filter(|&a| a >= LEAK_AUC) {
            warnings.push(format!(
                "`{}` alone predicts the outcome almost perfectly (AUC {auc:.3}): if it is filled in after the outcome is known, it leaks; leave it out with --exclude",
                field.name
            ));
        }
    }
    warnings
}

/// Columns whose mere presence predicts the outcome (filled in only for
/// converted leads: a deal's segment, a won date). Their values may each be too
/// rare for points, which pools them with "missing" and hides the leak from
/// [`leak_warnings`].
fn presence_leaks(examples: &[Example], encoded: &Encoded, y: &[bool]) -> Vec<String> {
    let flagged: Vec<&str> = encoded.fields.iter().map(|f| f.name.as_str()).collect();
    let excluded: Vec<&str> = encoded
        .skipped
        .iter()
        .filter(|(_, why)| why == "excluded")
        .map(|(n, _)| n.as_str())
        .collect();
    let names: std::collections::BTreeSet<&String> =
        examples.iter().flat_map(|e| e.fields.keys()).collect();
    let mut warnings = Vec::new();
    for name in names {
        if excluded.contains(&name.as_str()) {
            continue;
        }
        let present: Vec<f64> = examples
            .iter()
            .map(|e| match e.fields.get(name) {
                None | Some(Value::Null) => 0.0,
                Some(Value::String(s)) if s.trim().is_empty() => 0.0,
                Some(_) => 1.0,
            })
            .collect();
        let Some(auc) = roc_auc(&present, y).filter(|&a| a >= LEAK_AUC || a <= 1.0 - LEAK_AUC)
        else {
            continue;
        };
        let share = |positive: bool| {
            let rows: Vec<f64> = present
                .iter()
                .zip(y)
                .filter(|&(_, &p)| p == positive)
                .map(|(&x, _)| x)
                .collect();
            100.0 * rows.iter().sum::<f64>() / rows.len().max(1) as f64
        };
        let used = if flagged.contains(&name.as_str()) {
            ""
        } else {
            " (its values are too rare for points, so it looks unused)"
        };
        warnings.push(format!(
            "`{name}` is filled in for {:.0}% of positive rows and {:.0}% of negative rows (AUC of \
             being filled in: {auc:.3}){used}: if it is filled in after the outcome is known, it \
             leaks; leave it out with --exclude",
            share(true),
            share(false)
        ));
    }
    warnings
}

/// Fields by the spread of their points (0 included: missing), widest first.
fn rule_order(encoded: &Encoded, pts: &[i64]) -> Vec<usize> {
    let spread = |f: &features::Field| {
        let values: Vec<i64> = match &f.kind {
            Kind::Categorical(levels) => levels.iter().map(|l| pts[l.feature]).collect(),
            Kind::Numeric { bins, .. } => bins
                .iter()
                .filter_map(|b| b.feature.map(|x| pts[x]))
                .collect(),
        };
        let max = values.iter().copied().fold(0, i64::max);
        let min = values.iter().copied().fold(0, i64::min);
        max - min
    };
    let mut order: Vec<usize> = (0..encoded.fields.len()).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (&encoded.fields[a], &encoded.fields[b]);
        spread(fb).cmp(&spread(fa)).then(fa.name.cmp(&fb.name))
    });
    order
}

/// The estimated chance of a positive at a few typical totals (the 10th, 50th
/// and 90th percentiles of the fitted rows).
fn chances(totals: &[f64], intercept: f64, pdo: f64) -> Vec<(i64, f64)> {
    let mut sorted = totals.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<(i64, f64)> = Vec::new();
    for q in [0.1, 0.5, 0.9] {
        let score = sorted[((sorted.len() - 1) as f64 * q) as usize] as i64;
        if out.last().is_some_and(|(s, _)| *s == score) {
            continue;
        }
        let log_odds = intercept + score as f64 * std::f64::consts::LN_2 / pdo;
        out.push((score, logistic::sigmoid(log_odds)));
    }
    out
}

#[cfg(test)]
mod tests;

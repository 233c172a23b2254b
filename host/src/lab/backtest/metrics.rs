//! How well a configuration's decisions predict the outcome: ROC AUC, lift by
//! score decile, a threshold sweep (what each cut-off would qualify),
//! precision/recall of the qualified stages, conversion by grade, and counts
//! by segment, route and any input column.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::lab::learn::auc::roc_auc;

/// One replayed row: what the pipeline decided and what happened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replayed {
    pub line: u64,
    pub id: String,
    /// None when the row has no score (unreadable row, failed decision).
    pub score: Option<f64>,
    pub grade: Option<String>,
    pub stage: Option<String>,
    pub segments: Vec<String>,
    pub owner: Option<String>,
    /// `owner` when assigned, else the route action (`queue:NAME`, `unrouted`).
    pub route: Option<String>,
    /// None when the outcome cell is empty.
    pub positive: Option<bool>,
    pub error: Option<String>,
    /// The row's value in the `--by` column.
    pub by: Option<String>,
}

/// The stage order qualified stages are counted in (HubSpot's, with its long
/// names as aliases).
pub const STAGES: [&str; 7] = [
    "subscriber",
    "lead",
    "mql",
    "sql",
    "opportunity",
    "customer",
    "evangelist",
];

pub fn stage_rank(stage: &str) -> Option<usize> {
    let stage = stage.to_ascii_lowercase();
    let stage = match stage.as_str() {
        "marketingqualifiedlead" => "mql",
        "salesqualifiedlead" => "sql",
        other => other,
    };
    STAGES.iter().position(|s| *s == stage)
}

#[derive(Debug, Clone, Serialize)]
pub struct Quality {
    /// Rows read, rows scored with a known outcome, and rows left out.
    pub rows: u64,
    pub evaluated: u64,
    pub positives: u64,
    pub without_score: u64,
    pub without_outcome: u64,
    pub base_rate: f64,
    pub auc: Option<f64>,
    /// A 95% confidence interval of the AUC (Hanley & McNeil's standard error):
    /// how much of a difference between two configs is noise.
    pub auc_interval: Option<(f64, f64)>,
    pub deciles: Vec<Decile>,
    /// The cut-off at each decile's lowest score: what "score ≥ t" qualifies.
    pub thresholds: Vec<Threshold>,
    /// At-or-beyond MQL and at-or-beyond SQL, against the outcome.
    pub stages: Vec<StageQuality>,
    pub grades: Vec<Group>,
    pub segments: Vec<Group>,
    pub routes: Vec<Group>,
    /// ROC points (false positive rate, true positive rate), at most ~200.
    pub roc: Vec<(f64, f64)>,
    pub histogram: Histogram,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Decile {
    /// 1 is the top-scored tenth.
    pub decile: usize,
    pub rows: u64,
    pub positives: u64,
    pub rate: f64,
    /// The decile's rate over the base rate.
    pub lift: f64,
    pub min_score: f64,
    pub max_score: f64,
}

/// What qualifying every lead scoring at least `score` would give.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Threshold {
    pub score: f64,
    pub leads: u64,
    /// `leads` over the evaluated leads.
    pub share: f64,
    pub positives: u64,
    pub precision: f64,
    pub recall: f64,
}

/// A cut-off to aim for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// The most leads at this precision or better.
    Precision(f64),
    /// The fewest leads that make at least this share of all.
    Volume(f64),
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StageQuality {
    pub stage: String,
    pub predicted: u64,
    pub true_positives: u64,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Group {
    pub name: String,
    pub rows: u64,
    pub positives: u64,
    pub rate: f64,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Histogram {
    pub edges: Vec<f64>,
    pub positives: Vec<u64>,
    pub negatives: Vec<u64>,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The 95% interval of an AUC over `positives` and `negatives` rows, from
/// Hanley & McNeil (1982): SE² = (A(1−A) + (n₁−1)(Q₁−A²) + (n₀−1)(Q₂−A²)) / (n₁n₀),
/// Q₁ = A/(2−A), Q₂ = 2A²/(1+A); clipped to [0, 1].
pub fn auc_interval(auc: f64, positives: u64, negatives: u64) -> Option<(f64, f64)> {
    if positives == 0 || negatives == 0 {
        return None;
    }
    let (a, n1, n0) = (auc, positives as f64, negatives as f64);
    let q1 = a / (2.0 - a);
    let q2 = 2.0 * a * a / (1.0 + a);
    let variance =
        (a * (1.0 - a) + (n1 - 1.0) * (q1 - a * a) + (n0 - 1.0) * (q2 - a * a)) / (n1 * n0);
    let half = 1.96 * variance.max(0.0).sqrt();
    Some(((a - half).max(0.0), (a + half).min(1.0)))
}

pub fn quality(rows: &[Replayed]) -> Quality {
    let known: Vec<&Replayed> = rows
        .iter()
        .filter(|r| r.score.is_some() && r.positive.is_some())
        .collect();
    let positives = known.iter().filter(|r| r.positive == Some(true)).count() as u64;
    let n = known.len() as u64;
    let base_rate = ratio(positives, n);
    let scores: Vec<f64> = known.iter().map(|r| r.score.unwrap_or_default()).collect();
    let labels: Vec<bool> = known.iter().map(|r| r.positive == Some(true)).collect();

    Quality {
        rows: rows.len() as u64,
        evaluated: n,
        positives,
        without_score: rows.iter().filter(|r| r.score.is_none()).count() as u64,
        without_outcome: rows
            .iter()
            .filter(|r| r.score.is_some() && r.positive.is_none())
            .count() as u64,
        base_rate,
        auc: roc_auc(&scores, &labels),
        auc_interval: roc_auc(&scores, &labels)
            .and_then(|a| auc_interval(a, positives, n - positives)),
        deciles: deciles(&scores, &labels, base_rate),
        thresholds: at_decile_cuts(&sweep(&scores, &labels)),
        stages: ["mql", "sql"]
            .iter()
            .map(|s| stage_quality(&known, s))
            .collect(),
        grades: grades(&known),
        segments: groups(&known, |r| r.segments.clone()),
        routes: groups(&known, |r| {
            vec![r.route.clone().unwrap_or_else(|| "(none)".into())]
        }),
        roc: roc_points(&scores, &labels),
        histogram: histogram(&scores, &labels),
    }
}

/// Tenths by score, highest first; ties are split by input order so every
/// decile has n/10 rows (±1).
fn deciles(scores: &[f64], labels: &[bool], base_rate: f64) -> Vec<Decile> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let n = order.len();
    if n == 0 {
        return Vec::new();
    }
    (0..10)
        .filter_map(|d| {
            let part = &order[d * n / 10..(d + 1) * n / 10];
            if part.is_empty() {
                return None;
            }
            let pos = part.iter().filter(|&&i| labels[i]).count() as u64;
            let rate = ratio(pos, part.len() as u64);
            Some(Decile {
                decile: d + 1,
                rows: part.len() as u64,
                positives: pos,
                rate,
                lift: if base_rate > 0.0 {
                    rate / base_rate
                } else {
                    0.0
                },
                max_score: scores[part[0]],
                min_score: scores[part[part.len() - 1]],
            })
        })
        .collect()
}

fn stage_quality(rows: &[&Replayed], stage: &str) -> StageQuality {
    let threshold = stage_rank(stage).unwrap_or(usize::MAX);
    let qualified = |r: &&Replayed| {
        r.stage
            .as_deref()
            .and_then(stage_rank)
            .is_some_and(|rank| rank >= threshold)
    };
    let predicted = rows.iter().filter(|r| qualified(r)).count() as u64;
    let tp = rows
        .iter()
        .filter(|r| qualified(r) && r.positive == Some(true))
        .count() as u64;
    let actual = rows.iter().filter(|r| r.positive == Some(true)).count() as u64;
    let precision = (predicted > 0).then(|| ratio(tp, predicted));
    let recall = (actual > 0).then(|| ratio(tp, actual));
    let f1 = match (precision, recall) {
        (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
        (Some(_), Some(_)) => Some(0.0),
        _ => None,
    };
    StageQuality {
        stage: format!("{stage} or later"),
        predicted,
        true_positives: tp,
        precision,
        recall,
        f1,
    }
}

fn groups(rows: &[&Replayed], keys: impl Fn(&Replayed) -> Vec<String>) -> Vec<Group> {
    let mut by: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in rows {
        for key in keys(r) {
            let entry = by.entry(key).or_default();
            entry.0 += 1;
            entry.1 += u64::from(r.positive == Some(true));
        }
    }
    let mut out: Vec<Group> = by
        .into_iter()
        .map(|(name, (rows, positives))| Group {
            name,
            rows,
            positives,
            rate: ratio(positives, rows),
        })
        .collect();
    out.sort_by(|a, b| b.rows.cmp(&a.rows).then(a.name.cmp(&b.name)));
    out
}

/// Conversion by grade, best grade first: by their leads' mean score, so the
/// order holds whatever the grades are called; "(none)" last.
fn grades(rows: &[&Replayed]) -> Vec<Group> {
    let name = |r: &Replayed| r.grade.clone().unwrap_or_else(|| "(none)".into());
    let mut sums: BTreeMap<String, (f64, u64)> = BTreeMap::new();
    for r in rows {
        let entry = sums.entry(name(r)).or_default();
        entry.0 += r.score.unwrap_or_default();
        entry.1 += 1;
    }
    let mean = |g: &Group| sums.get(&g.name).map_or(0.0, |(s, n)| s / *n as f64);
    let mut out = groups(rows, |r| vec![name(r)]);
    out.sort_by(|a, b| {
        (a.name == "(none)")
            .cmp(&(b.name == "(none)"))
            .then(mean(b).total_cmp(&mean(a)))
    });
    out
}

/// Every distinct score as a cut-off, highest first.
pub fn sweep(scores: &[f64], labels: &[bool]) -> Vec<Threshold> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let n = scores.len() as u64;
    let all_positive = labels.iter().filter(|l| **l).count() as u64;
    let (mut leads, mut positives) = (0, 0);
    let mut out = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        leads += 1;
        positives += u64::from(labels[i]);
        if order.get(k + 1).is_none_or(|&j| scores[j] != scores[i]) {
            out.push(Threshold {
                score: scores[i],
                leads,
                share: ratio(leads, n),
                positives,
                precision: ratio(positives, leads),
                recall: ratio(positives, all_positive),
            });
        }
    }
    out
}

/// The sweep's rows closest to each tenth of the leads (distinct cut-offs).
fn at_decile_cuts(sweep: &[Threshold]) -> Vec<Threshold> {
    let mut out: Vec<Threshold> = Vec::new();
    for d in 1..=10 {
        let wanted = d as f64 / 10.0;
        if let Some(t) = sweep.iter().find(|t| t.share >= wanted - 1e-9) {
            if out.last().is_none_or(|last| last.score != t.score) {
                out.push(t.clone());
            }
        }
    }
    out
}

/// The cut-off meeting `target`, if any does.
pub fn suggest(sweep: &[Threshold], target: Target) -> Option<&Threshold> {
    match target {
        Target::Precision(p) => sweep.iter().rev().find(|t| t.precision >= p - 1e-12),
        Target::Volume(v) => sweep.iter().find(|t| t.share >= v - 1e-12),
    }
}

/// Conversion by the rows' value in one column, most rows first.
pub fn by_value(rows: &[Replayed]) -> Vec<Group> {
    let known: Vec<&Replayed> = rows
        .iter()
        .filter(|r| r.score.is_some() && r.positive.is_some())
        .collect();
    groups(&known, |r| {
        vec![r.by.clone().unwrap_or_else(|| "(empty)".into())]
    })
}

/// The ROC curve at each distinct score, thinned to about 200 points.
fn roc_points(scores: &[f64], labels: &[bool]) -> Vec<(f64, f64)> {
    let pos = labels.iter().filter(|l| **l).count() as f64;
    let neg = labels.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0.0, 0.0);
    for (k, &i) in order.iter().enumerate() {
        if labels[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let last_of_tie = order.get(k + 1).is_none_or(|&j| scores[j] != scores[i]);
        if last_of_tie {
            points.push((fp / neg, tp / pos));
        }
    }
    let step = points.len().div_ceil(200).max(1);
    let last = *points.last().unwrap_or(&(1.0, 1.0));
    let mut thinned: Vec<_> = points.into_iter().step_by(step).collect();
    if thinned.last() != Some(&last) {
        thinned.push(last);
    }
    thinned
}

/// 20 equal-width bins from the lowest score to the highest.
fn histogram(scores: &[f64], labels: &[bool]) -> Histogram {
    let (Some(lo), Some(hi)) = (
        scores.iter().copied().reduce(f64::min),
        scores.iter().copied().reduce(f64::max),
    ) else {
        return Histogram::default();
    };
    let bins = 20;
    let width = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        1.0
    };
    let mut h = Histogram {
        edges: (0..=bins).map(|i| lo + width * i as f64).collect(),
        positives: vec![0; bins],
        negatives: vec![0; bins],
    };
    for (s, &l) in scores.iter().zip(labels) {
        let i = (((s - lo) / width) as usize).min(bins - 1);
        if l {
            h.positives[i] += 1;
        } else {
            h.negatives[i] += 1;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hanley & McNeil's standard error: AUC 0.9 on 50 + 50 rows is
    /// 0.9 ± 1.96 × 0.0321; the interval narrows with rows and is clipped.
    #[test]
    fn the_auc_interval_follows_hanley_and_mcneil() {
        let (lo, hi) = auc_interval(0.9, 50, 50).unwrap();
        assert!(
            (lo - 0.8370).abs() < 1e-3 && (hi - 0.9630).abs() < 1e-3,
            "{lo} {hi}"
        );
        let (lo2, hi2) = auc_interval(0.9, 5_000, 5_000).unwrap();
        assert!(hi2 - lo2 < (hi - lo) / 5.0, "{lo2} {hi2}");
        assert_eq!(auc_interval(1.0, 10, 10), Some((1.0, 1.0)));
        assert_eq!(auc_interval(0.7, 0, 10), None);
    }

    fn row(score: f64, positive: bool, stage: &str, grade: &str) -> Replayed {
        Replayed {
            score: Some(score),
            positive: Some(positive),
            stage: Some(stage.into()),
            grade: Some(grade.into()),
            ..Replayed::default()
        }
    }

    /// Ten rows worked out by hand.
    /// scores 10..1 with outcomes + + - + - - + - - -:
    /// AUC = pairs (pos above neg) / (4·6): positives at ranks 1,2,4,7 beat
    /// 6,6,5,3 negatives = 20/24.
    #[test]
    fn numbers_computed_by_hand() {
        let outcomes = [
            true, true, false, true, false, false, true, false, false, false,
        ];
        let rows: Vec<Replayed> = outcomes
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let stage = if i < 3 {
                    "sql"
                } else if i < 5 {
                    "mql"
                } else {
                    "lead"
                };
                row(10.0 - i as f64, p, stage, if i < 5 { "A" } else { "B" })
            })
            .collect();
        let q = quality(&rows);
        assert_eq!(q.evaluated, 10);
        assert_eq!(q.positives, 4);
        assert!((q.auc.unwrap() - 20.0 / 24.0).abs() < 1e-12);
        assert!((q.base_rate - 0.4).abs() < 1e-12);
        // One row per decile: the top one converted, lift 1/0.4.
        assert_eq!(q.deciles.len(), 10);
        assert_eq!(q.deciles[0].positives, 1);
        assert!((q.deciles[0].lift - 2.5).abs() < 1e-12);
        assert_eq!(q.deciles[2].positives, 0);
        // MQL or later: rows 0..5 predicted, of which 3 converted; 4 converted in all.
        let mql = &q.stages[0];
        assert_eq!((mql.predicted, mql.true_positives), (5, 3));
        assert!((mql.precision.unwrap() - 0.6).abs() < 1e-12);
        assert!((mql.recall.unwrap() - 0.75).abs() < 1e-12);
        assert!((mql.f1.unwrap() - 2.0 * 0.6 * 0.75 / 1.35).abs() < 1e-12);
        let sql = &q.stages[1];
        assert_eq!((sql.predicted, sql.true_positives), (3, 2));
        assert_eq!(
            q.grades[0],
            Group {
                name: "A".into(),
                rows: 5,
                positives: 3,
                rate: 0.6
            }
        );
        assert_eq!(
            q.grades[1],
            Group {
                name: "B".into(),
                rows: 5,
                positives: 1,
                rate: 0.2
            }
        );
        assert_eq!(q.histogram.positives.iter().sum::<u64>(), 4);
        assert_eq!(q.roc.first(), Some(&(0.0, 0.0)));
        assert_eq!(q.roc.last(), Some(&(1.0, 1.0)));
    }

    /// Scores 5 4 4 3 1 with outcomes + + - - +: cut-offs 5, 4, 3, 1.
    #[test]
    fn the_sweep_counts_what_each_cut_off_qualifies_and_suggests_one() {
        let scores = [5.0, 4.0, 4.0, 3.0, 1.0];
        let labels = [true, true, false, false, true];
        let sweep = sweep(&scores, &labels);
        let cut: Vec<(f64, u64, u64)> = sweep
            .iter()
            .map(|t| (t.score, t.leads, t.positives))
            .collect();
        assert_eq!(cut, [(5.0, 1, 1), (4.0, 3, 2), (3.0, 4, 2), (1.0, 5, 3)]);
        assert!((sweep[1].precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((sweep[1].recall - 2.0 / 3.0).abs() < 1e-12);
        // The most leads at precision ≥ 60%: score ≥ 1 (3 of 5).
        assert_eq!(suggest(&sweep, Target::Precision(0.6)).unwrap().score, 1.0);
        assert_eq!(suggest(&sweep, Target::Precision(0.7)).unwrap().score, 5.0);
        assert!(suggest(&sweep, Target::Precision(1.01)).is_none());
        // The fewest leads making 50%: score ≥ 4 (3 of 5).
        assert_eq!(suggest(&sweep, Target::Volume(0.5)).unwrap().score, 4.0);
        assert_eq!(suggest(&sweep, Target::Volume(0.2)).unwrap().score, 5.0);
    }

    #[test]
    fn rows_without_score_or_outcome_are_counted_not_evaluated() {
        let mut rows = vec![row(1.0, true, "lead", "A"), row(0.0, false, "lead", "A")];
        rows.push(Replayed {
            score: None,
            positive: Some(true),
            ..Replayed::default()
        });
        rows.push(Replayed {
            score: Some(3.0),
            positive: None,
            ..Replayed::default()
        });
        let q = quality(&rows);
        assert_eq!(
            (q.rows, q.evaluated, q.without_score, q.without_outcome),
            (4, 2, 1, 1)
        );
        assert_eq!(q.auc, Some(1.0));
    }

    #[test]
    fn stage_names_accept_hubspot_aliases() {
        assert_eq!(stage_rank("marketingqualifiedlead"), stage_rank("mql"));
        assert_eq!(stage_rank("SQL"), Some(3));
        assert_eq!(stage_rank("whatever"), None);
    }
}

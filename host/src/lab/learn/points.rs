//! Coefficients → integer points → a rules-scorer config an admin can read:
//! one points table per field, each entry commented with its row count and
//! positive rate, and a header that says how the table was made.
//!
//! Points are log-odds times a scale stated as "points to double the odds"
//! (the scorecard convention), so a reader can turn any difference in points
//! into an odds ratio.

use std::fmt::Write;

use super::features::{Field, Kind, MAX_LEVELS, Tally};
use crate::lab::numbers::thousands;

/// Points to double the odds, tried in order until rounding to whole points
/// keeps the ranking (training AUC within [`ROUNDING_SLACK`] of the exact model).
pub const PDO_CHOICES: [f64; 4] = [10.0, 20.0, 40.0, 80.0];
pub const ROUNDING_SLACK: f64 = 0.001;

/// Points per feature (index 0, the intercept, is unused and 0).
pub fn to_points(beta: &[f64], pdo: f64) -> Vec<i64> {
    let scale = pdo / std::f64::consts::LN_2;
    let mut points: Vec<i64> = beta
        .iter()
        .map(|b| {
            let p = (b * scale).round();
            if p.is_finite() {
                p.clamp(-1e9, 1e9) as i64
            } else {
                0
            }
        })
        .collect();
    if let Some(p) = points.first_mut() {
        *p = 0;
    }
    points
}

/// What the header says besides the tables.
pub struct Summary<'a> {
    pub rows: usize,
    pub positives: usize,
    pub folds: usize,
    pub lambda: f64,
    pub lambdas: &'a [f64],
    pub cv_auc: f64,
    pub train_auc: f64,
    pub pdo: f64,
    /// (total score, estimated chance of a positive), a few typical scores.
    pub chances: &'a [(i64, f64)],
    pub skipped: &'a [(String, String)],
    pub warnings: &'a [String],
}

/// The config: header, then one `[[rules]]` table per field in `order`.
pub fn render(summary: &Summary, fields: &[Field], order: &[usize], points: &[i64]) -> String {
    let mut out = String::new();
    let s = summary;
    let mut header = vec![
        "rules-scorer config written by `leadwire learn`: a logistic model as points.".to_string(),
        format!(
            "Fitted on {} rows ({} positive, {}). {} points double the odds of a positive;",
            thousands(s.rows as u64),
            thousands(s.positives as u64),
            percent(Tally {
                rows: s.rows,
                positives: s.positives
            }),
            s.pdo
        ),
        "a missing value, or one not listed, scores 0.".to_string(),
        format!(
            "Cross-validated AUC {:.3} ({} folds, L2 strength {} chosen from {}). AUC of these points on the fitted rows {:.3}.",
            s.cv_auc,
            s.folds,
            s.lambda,
            s.lambdas
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            s.train_auc
        ),
    ];
    if !s.chances.is_empty() {
        let chances: Vec<String> = s
            .chances
            .iter()
            .map(|(score, p)| format!("{score} points: {:.0}%", p * 100.0))
            .collect();
        header.push(format!(
            "Estimated chance of a positive by total: {}.",
            chances.join(", ")
        ));
    }
    header.push(String::new());
    let used: Vec<&str> = order.iter().map(|&f| fields[f].name.as_str()).collect();
    header.push(format!("Fields used ({}): {}", used.len(), used.join(", ")));
    if !s.skipped.is_empty() {
        header.push(format!("Fields skipped ({}):", s.skipped.len()));
        header.extend(
            s.skipped
                .iter()
                .map(|(name, why)| format!("  {name}: {why}")),
        );
    }
    if !s.warnings.is_empty() {
        header.push("Warnings:".to_string());
        header.extend(s.warnings.iter().map(|w| format!("  {w}")));
    }
    for line in header {
        comment(&mut out, &line);
    }

    for &f in order {
        out.push('\n');
        rule(&mut out, &fields[f], points);
    }
    out
}

fn rule(out: &mut String, field: &Field, points: &[i64]) {
    let name = quote(&field.name);
    let _ = writeln!(
        out,
        "[[rules]]\nname = {name}\ngroup = \"fit\"\nfield = {name}"
    );
    match &field.kind {
        Kind::Categorical(levels) => {
            let mut rare = match field.rare_values {
                0 => String::new(),
                1 => " or the 1 rare value".to_string(),
                n => format!(" or one of {} rare values", thousands(n as u64)),
            };
            if field.capped_values > 0 {
                rare.push_str(&format!(
                    " or one of {} values past the {MAX_LEVELS} most frequent",
                    thousands(field.capped_values as u64)
                ));
            }
            comment(
                out,
                &format!("0 points: missing{rare} ({})", describe(field.reference)),
            );
            let _ = writeln!(out, "[rules.points_by_value]");
            let mut entries: Vec<(String, i64, Tally)> = levels
                .iter()
                .map(|l| (quote(&l.label), points[l.feature], l.tally))
                .collect();
            entries.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let width = entries
                .iter()
                .map(|(k, p, _)| k.chars().count() + 3 + p.to_string().len())
                .max()
                .unwrap_or(0);
            for (key, p, tally) in entries {
                let entry = format!("{key} = {p}");
                let pad = width.saturating_sub(entry.chars().count());
                let _ = writeln!(out, "{entry}{}  # {}", " ".repeat(pad), describe(tally));
            }
        }
        Kind::Numeric { edges, bins } => {
            comment(
                out,
                &format!("0 points: missing ({})", describe(field.reference)),
            );
            let by_bin: Vec<i64> = bins
                .iter()
                .map(|b| b.feature.map_or(0, |f| points[f]))
                .collect();
            for (i, (bin, p)) in bins.iter().zip(&by_bin).enumerate() {
                let range = match (i.checked_sub(1).map(|j| edges[j]), edges.get(i)) {
                    (None, Some(hi)) => format!("below {}", number(*hi)),
                    (Some(lo), Some(hi)) => format!("{} to under {}", number(lo), number(*hi)),
                    (Some(lo), None) => format!("{} or more", number(lo)),
                    (None, None) => "any".to_string(),
                };
                comment(
                    out,
                    &format!("  {range}: {p} points ({})", describe(bin.tally)),
                );
            }
            let edges: Vec<String> = edges.iter().map(|e| number(*e)).collect();
            let by_bin: Vec<String> = by_bin.iter().map(i64::to_string).collect();
            let _ = writeln!(out, "bins = [{}]", edges.join(", "));
            let _ = writeln!(out, "points_by_bin = [{}]", by_bin.join(", "));
        }
    }
}

/// `1,234 rows, 38% positive`
fn describe(t: Tally) -> String {
    match t.rows {
        0 => "not in the data".to_string(),
        1 => format!("1 row, {} positive", percent(t)),
        n => format!("{} rows, {} positive", thousands(n as u64), percent(t)),
    }
}

fn percent(t: Tally) -> String {
    if t.rows == 0 {
        return "-".to_string();
    }
    format!("{:.0}%", 100.0 * t.positives as f64 / t.rows as f64)
}

/// A number as TOML: whole numbers without a point, others in Rust's shortest
/// round-trip form (`2.33`, `1e20`), which TOML reads as the same float.
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:?}")
    }
}

/// A TOML basic string, for keys and values alike.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A comment line; control characters (not allowed in TOML comments) escaped.
fn comment(out: &mut String, text: &str) {
    if text.is_empty() {
        out.push_str("#\n");
        return;
    }
    out.push_str("# ");
    for c in text.chars() {
        if c.is_control() && c != '\t' {
            let _ = write!(out, "\\u{:04X}", c as u32);
        } else {
            out.push(c);
        }
    }
    out.push('\n');
}

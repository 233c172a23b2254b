//! From raw columns to indicator features, encoded the way rules-scorer will
//! match them: a category is its text trimmed and case-folded (rules-scorer
//! compares text ignoring case and surrounding spaces), a number is binned on
//! edges (`< b1`, `[b1, b2)`, …, `>= bn`).
//!
//! Every field's reference level — 0 points, no feature — is "missing", since a
//! missing field matches no entry of a points table. Values too rare to
//! estimate (and values not seen at all later) score 0 too, so they are pooled
//! into the reference.

use crate::lab::numbers::thousands;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Example;
use crate::config::ColumnType;

/// A column is numeric when at least this share of its non-missing values are numbers.
const NUMERIC_SHARE: f64 = 0.95;
/// A text column with more distinct values than this share of its rows is an identifier.
const ID_SHARE: f64 = 0.5;
/// Keep at most this many values of a categorical column (the most frequent):
/// more would make a table nobody reads, and a slow fit.
pub const MAX_LEVELS: usize = 60;

/// One encoded column.
#[derive(Debug)]
pub struct Field {
    pub name: String,
    pub kind: Kind,
    /// Rows in the reference (missing or rare) and how many of them positive.
    pub reference: Tally,
    /// Values pooled into the reference because they were rare, and because
    /// only the [`MAX_LEVELS`] most frequent are kept.
    pub rare_values: usize,
    pub capped_values: usize,
}

#[derive(Debug)]
pub enum Kind {
    Categorical(Vec<Level>),
    /// `bins[i]` is `< edges[0]` for i = 0, `[edges[i-1], edges[i])`, then `>= last edge`.
    Numeric {
        edges: Vec<f64>,
        bins: Vec<Bin>,
    },
}

#[derive(Debug)]
pub struct Level {
    /// Trimmed, case-folded: what rows are grouped by.
    pub key: String,
    /// The most frequent spelling, as written in the table.
    pub label: String,
    pub tally: Tally,
    pub feature: usize,
}

#[derive(Debug)]
pub struct Bin {
    pub tally: Tally,
    /// None for an empty bin (it gets 0 points).
    pub feature: Option<usize>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub rows: usize,
    pub positives: usize,
}

impl Tally {
    fn add(&mut self, positive: bool) {
        self.rows += 1;
        self.positives += usize::from(positive);
    }
}

/// The encoded data: features are numbered from 1 (0 is the intercept).
#[derive(Debug)]
pub struct Encoded {
    pub fields: Vec<Field>,
    /// Per row, the active features (at most one per field), ascending.
    pub rows: Vec<Vec<u32>>,
    /// Number of features, the intercept not counted.
    pub features: usize,
    pub skipped: Vec<(String, String)>,
}

/// A cell as the scorer will see it.
enum Cell {
    Missing,
    /// A number and its text: the scorer compares the text as written (`"05"`)
    /// in a value table, the number in bins.
    Number(f64, String),
    Text(String),
}

/// A time column: typed `time`, or values that nearly all read as dates or
/// times (and not as plain numbers). Each day would be a category of its own
/// that no future lead can match, so the column is refused, saying why.
fn time_column(examples: &[Example], name: &str, typed: Option<ColumnType>) -> Option<String> {
    const WHY: &str = "a date or time: each day would be a value no future lead has; give the model \
                       an age instead (e.g. a column of days since it), or leave it out";
    if typed == Some(ColumnType::Time) {
        return Some(format!("typed time in [input] types: {WHY}"));
    }
    let (mut present, mut times) = (0usize, 0usize);
    for value in examples.iter().filter_map(|e| e.fields.get(name)) {
        match value {
            Value::Null => continue,
            Value::Object(o) if o.contains_key("time") => times += 1,
            Value::String(s)
                if plain_number(s).is_none() && crate::lead::parse_time(s).is_some() =>
            {
                times += 1
            }
            _ => {}
        }
        present += 1;
    }
    (present > 0 && times as f64 >= NUMERIC_SHARE * present as f64).then(|| WHY.to_string())
}

fn cell(value: Option<&Value>, as_text: bool) -> Cell {
    match value {
        None | Some(Value::Null) => Cell::Missing,
        Some(Value::Number(n)) if as_text => Cell::Text(n.to_string()),
        Some(Value::String(s)) if as_text && !s.trim().is_empty() => {
            Cell::Text(s.trim().to_string())
        }
        Some(Value::Number(n)) => match n.as_f64().filter(|x| x.is_finite()) {
            Some(x) => Cell::Number(x, number_text(x)),
            None => Cell::Missing,
        },
        Some(Value::Bool(b)) => Cell::Text(b.to_string()),
        Some(Value::String(s)) if s.trim().is_empty() => Cell::Missing,
        Some(Value::String(s)) => match plain_number(s) {
            Some(x) => Cell::Number(x, s.trim().to_string()),
            None => Cell::Text(s.trim().to_string()),
        },
        // A list is matched item by item by the scorer, which a single level
        // cannot express: left out.
        Some(Value::Array(_) | Value::Object(_)) => Cell::Missing,
    }
}

/// Text as the scorer compares it: trimmed, lower case.
pub fn fold(text: &str) -> String {
    text.trim().chars().flat_map(char::to_lowercase).collect()
}

/// A plain decimal (`"250"`, `" -12.5 "`, `"+3"`), as rules-scorer reads text
/// in a numeric range: no exponent, at most 18 digits.
fn plain_number(text: &str) -> Option<f64> {
    let t = text.trim();
    let unsigned = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = int.len() + frac.len();
    let all_digits = int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit());
    if digits == 0 || digits > 18 || !all_digits {
        return None;
    }
    t.parse().ok()
}

/// A number as the scorer writes it in text (`250`, `2.5`), for numbers in a
/// categorical column.
fn number_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// Encode every column of `examples` but the excluded ones.
pub fn encode(examples: &[Example], options: &super::LearnOptions, min_count: usize) -> Encoded {
    let (exclude, max_bins) = (&options.exclude, options.max_bins);
    let names: BTreeSet<&String> = examples.iter().flat_map(|e| e.fields.keys()).collect();
    let mut fields = Vec::new();
    let mut skipped = Vec::new();
    // Per row, the feature of each field in turn.
    let mut rows: Vec<Vec<u32>> = vec![Vec::new(); examples.len()];
    let mut next_feature = 1;
    for name in names {
        if exclude.contains(name) {
            skipped.push((name.clone(), "excluded".to_string()));
            continue;
        }
        if name.trim().is_empty() {
            skipped.push((name.clone(), "the column has no name".to_string()));
            continue;
        }
        let typed = options.types.get(name.as_str()).copied();
        if let Some(why) = time_column(examples, name, typed) {
            skipped.push((name.clone(), why));
            continue;
        }
        let as_text = typed == Some(ColumnType::Text);
        let cells: Vec<Cell> = examples
            .iter()
            .map(|e| cell(e.fields.get(name), as_text))
            .collect();
        let outcome = |i: usize| examples[i].positive;
        let built = match column_kind(&cells) {
            ColumnKind::Empty => Err("always missing".to_string()),
            ColumnKind::Numeric => {
                numeric(name, &cells, outcome, max_bins, min_count, next_feature)
            }
            ColumnKind::Categorical => categorical(name, &cells, outcome, min_count, next_feature),
        };
        match built.and_then(|(field, features)| useful(field, min_count).map(|f| (f, features))) {
            Ok((field, features)) => {
                next_feature += field_features(&field);
                for (row, feature) in rows.iter_mut().zip(features) {
                    row.extend(feature.map(|f| f as u32));
                }
                fields.push(field);
            }
            Err(why) => skipped.push((name.clone(), why)),
        }
    }
    Encoded {
        fields,
        rows,
        features: next_feature - 1,
        skipped,
    }
}

enum ColumnKind {
    Empty,
    Numeric,
    Categorical,
}

fn column_kind(cells: &[Cell]) -> ColumnKind {
    let present = cells.iter().filter(|c| !matches!(c, Cell::Missing)).count();
    let numbers = cells
        .iter()
        .filter(|c| matches!(c, Cell::Number(..)))
        .count();
    if present == 0 {
        ColumnKind::Empty
    } else if numbers as f64 >= NUMERIC_SHARE * present as f64 {
        ColumnKind::Numeric
    } else {
        ColumnKind::Categorical
    }
}

fn field_features(field: &Field) -> usize {
    match &field.kind {
        Kind::Categorical(levels) => levels.len(),
        Kind::Numeric { bins, .. } => bins.iter().filter(|b| b.feature.is_some()).count(),
    }
}

/// The encoded field and each row's feature; `Err(why)` to skip the column.
type Built = Result<(Field, Vec<Option<usize>>), String>;

fn categorical(
    name: &str,
    cells: &[Cell],
    outcome: impl Fn(usize) -> bool,
    min_count: usize,
    first_feature: usize,
) -> Built {
    // key -> (tally, spelling -> count)
    let mut seen: BTreeMap<String, Spellings> = BTreeMap::new();
    let mut present = 0;
    for (i, c) in cells.iter().enumerate() {
        let text = match c {
            Cell::Missing => continue,
            Cell::Number(_, t) | Cell::Text(t) => t.clone(),
        };
        present += 1;
        let entry = seen.entry(fold(&text)).or_default();
        entry.0.add(outcome(i));
        *entry.1.entry(text).or_default() += 1;
    }
    if present >= 20 && seen.len() as f64 > ID_SHARE * present as f64 {
        return Err(format!(
            "looks like an identifier or free text: {} different values in {} rows",
            thousands(seen.len() as u64),
            thousands(present as u64)
        ));
    }
    // The most frequent values that are not rare, by count then key.
    let mut kept: Vec<(&String, &Spellings)> = seen
        .iter()
        .filter(|(_, (t, _))| t.rows >= min_count)
        .collect();
    kept.sort_by(|a, b| b.1.0.rows.cmp(&a.1.0.rows).then(a.0.cmp(b.0)));
    let rare_values = seen.len() - kept.len();
    kept.truncate(MAX_LEVELS);
    kept.sort_by(|a, b| a.0.cmp(b.0));

    let levels: Vec<Level> = kept
        .iter()
        .enumerate()
        .map(|(j, (key, (tally, spellings)))| Level {
            key: (*key).clone(),
            label: spellings
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(s, _)| s.clone())
                .unwrap_or_default(),
            tally: *tally,
            feature: first_feature + j,
        })
        .collect();
    if levels.is_empty() {
        return Err(format!(
            "every value is rare (fewer than {min_count} rows each, {} values)",
            thousands(seen.len() as u64)
        ));
    }

    let mut reference = Tally::default();
    let mut features = Vec::with_capacity(cells.len());
    for (i, c) in cells.iter().enumerate() {
        let level = match c {
            Cell::Missing => None,
            Cell::Number(_, t) | Cell::Text(t) => find_level(&levels, &fold(t)),
        };
        if level.is_none() {
            reference.add(outcome(i));
        }
        features.push(level.map(|l| l.feature));
    }
    let field = Field {
        name: name.to_string(),
        kind: Kind::Categorical(levels),
        reference,
        rare_values,
        capped_values: seen.len() - kept.len() - rare_values,
    };
    Ok((field, features))
}

/// A value's rows, and how often each spelling of it was written.
type Spellings = (Tally, BTreeMap<String, usize>);

fn find_level<'a>(levels: &'a [Level], key: &str) -> Option<&'a Level> {
    levels
        .binary_search_by(|l| l.key.as_str().cmp(key))
        .ok()
        .map(|j| &levels[j])
}

fn numeric(
    name: &str,
    cells: &[Cell],
    outcome: impl Fn(usize) -> bool,
    max_bins: usize,
    min_count: usize,
    first_feature: usize,
) -> Built {
    let value = |c: &Cell| match c {
        Cell::Number(x, _) => Some(*x),
        _ => None,
    };
    let mut sorted: Vec<f64> = cells.iter().filter_map(value).collect();
    sorted.sort_by(f64::total_cmp);
    let m = sorted.len();
    let distinct = sorted.windows(2).filter(|w| w[0] != w[1]).count() + 1;
    let integers = sorted.iter().all(|x| x.fract() == 0.0);
    if m >= 50 && distinct == m && integers {
        return Err(format!(
            "looks like an identifier: {} different whole numbers in {} rows",
            thousands(distinct as u64),
            thousands(m as u64)
        ));
    }
    if distinct == 1 && m == cells.len() {
        return Err(format!("constant: {} in every row", number_text(sorted[0])));
    }
    let edges = bin_edges(&sorted, max_bins, min_count);

    let mut tallies = vec![Tally::default(); edges.len() + 1];
    let mut reference = Tally::default();
    let mut which = Vec::with_capacity(cells.len());
    for (i, c) in cells.iter().enumerate() {
        let bin = value(c).map(|x| edges.partition_point(|&e| e <= x));
        match bin {
            Some(b) => tallies[b].add(outcome(i)),
            None => reference.add(outcome(i)),
        }
        which.push(bin);
    }
    let mut next = first_feature;
    let bins: Vec<Bin> = tallies
        .into_iter()
        .map(|tally| {
            let feature = (tally.rows > 0).then(|| {
                next += 1;
                next - 1
            });
            Bin { tally, feature }
        })
        .collect();
    let features = which
        .into_iter()
        .map(|b| b.and_then(|b| bins[b].feature))
        .collect();
    let field = Field {
        name: name.to_string(),
        kind: Kind::Numeric { edges, bins },
        reference,
        rare_values: 0,
        capped_values: 0,
    };
    Ok((field, features))
}

/// Quantile edges over the sorted values, merged until every bin holds at
/// least `min_count` of them. Never empty: with one bin left, the edge is the
/// lowest value, so the table tells present from missing.
fn bin_edges(sorted: &[f64], max_bins: usize, min_count: usize) -> Vec<f64> {
    let mut distinct = sorted.to_vec();
    distinct.dedup();
    let mut edges: Vec<f64> = if distinct.len() <= max_bins {
        // Few values (a 0/1 flag, a small scale): each value is a bin of its
        // own, however rare; quantiles would put a 4% flag in the zeros' bin.
        distinct[1..].to_vec()
    } else {
        // When the lowest value alone fills more than a bin (most rows 0),
        // it gets its own bin and the quantiles are taken over the rest.
        let lowest = sorted.partition_point(|&x| x <= sorted[0]);
        if lowest * max_bins > sorted.len() && max_bins > 1 {
            let rest = &sorted[lowest..];
            let mut edges = vec![rest[0]];
            quantile_edges(rest, max_bins - 1, &mut edges);
            edges
        } else {
            let mut edges = Vec::new();
            quantile_edges(sorted, max_bins, &mut edges);
            edges
        }
    };
    // Merge the smallest bin into its smaller neighbour until all are big enough.
    loop {
        let counts = bin_counts(sorted, &edges);
        let Some((small, &count)) = counts.iter().enumerate().min_by_key(|(_, c)| **c) else {
            break;
        };
        if count >= min_count || edges.is_empty() {
            break;
        }
        let edge = if small == 0 {
            0
        } else if small == edges.len() || counts[small - 1] <= counts[small + 1] {
            small - 1
        } else {
            small
        };
        edges.remove(edge);
    }
    if edges.is_empty() {
        edges.push(sorted[0]);
    }
    edges
}

/// Push the `bins`-quantile edges of `sorted` (above its lowest value and the
/// last edge) onto `edges`.
fn quantile_edges(sorted: &[f64], bins: usize, edges: &mut Vec<f64>) {
    let m = sorted.len();
    for k in 1..bins {
        let e = sorted[k * m / bins];
        if e > sorted[0] && edges.last().is_none_or(|&last| e > last) {
            edges.push(e);
        }
    }
}

fn bin_counts(sorted: &[f64], edges: &[f64]) -> Vec<usize> {
    let mut counts = Vec::with_capacity(edges.len() + 1);
    let mut start = 0;
    for &e in edges {
        let end = sorted.partition_point(|&x| x < e);
        counts.push(end - start);
        start = end;
    }
    counts.push(sorted.len() - start);
    counts
}

/// Skip a column that cannot tell rows apart: fewer than two groups
/// (values, bins, or the reference) of `min_count` rows.
fn useful(field: Field, min_count: usize) -> Result<Field, String> {
    let mut groups: Vec<(String, usize)> = match &field.kind {
        Kind::Categorical(levels) => levels
            .iter()
            .map(|l| (format!("\"{}\"", l.label), l.tally.rows))
            .collect(),
        Kind::Numeric { bins, .. } => bins
            .iter()
            .map(|b| ("one range".to_string(), b.tally.rows))
            .collect(),
    };
    groups.push(("missing".to_string(), field.reference.rows));
    let big = groups
        .iter()
        .filter(|(_, n)| *n >= min_count.max(1))
        .count();
    if big >= 2 {
        return Ok(field);
    }
    let total: usize = groups.iter().map(|(_, n)| n).sum();
    let (what, n) = groups
        .iter()
        .max_by_key(|(_, n)| *n)
        .cloned()
        .unwrap_or_default();
    if n == total {
        return Err(format!("constant: {what} in every row"));
    }
    Err(format!(
        "nearly constant: {what} in {} of {} rows (other values have fewer than {min_count} rows)",
        thousands(n as u64),
        thousands(total as u64)
    ))
}

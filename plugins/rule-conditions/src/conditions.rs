//! The condition vocabulary shared by rules-scorer and segmenter: tests on a
//! lead's fields (`equals`, `in`, `contains`, `min`/`max`, `present`, `missing`)
//! and on its activities (`activity`, `where`, `within_days`, `at_least`).
//!
//! Text comparisons ignore case and surrounding spaces. A multi-select field
//! matches when any of its items does. A field the CRM did not send, or sent
//! empty, fails every test except `missing`.

use std::borrow::Cow;
use std::fmt;

use leadwire_sdk::{Activity, DAY_MS, Lead, Result, Value};

use crate::reader::{Scalar, Table};

/// The keys a condition may use.
pub const KEYS: [&str; 12] = [
    "field",
    "equals",
    "in",
    "contains",
    "min",
    "max",
    "present",
    "missing",
    "activity",
    "where",
    "within_days",
    "at_least",
];

#[derive(Debug)]
pub enum Condition {
    Field(FieldCondition),
    Activity(ActivityCondition),
}

/// A test on one field of the lead.
#[derive(Debug)]
pub struct FieldCondition {
    pub field: String,
    pub test: FieldTest,
}

#[derive(Debug)]
pub enum FieldTest {
    Equals(Scalar),
    OneOf(Vec<Scalar>),
    /// Any of these substrings, case-insensitive.
    Contains(Needles),
    /// `min <= value < max`; either bound may be left out.
    Range {
        min: Option<f64>,
        max: Option<f64>,
    },
    Present,
    Missing,
}

/// The texts a `contains` test looks for, as written (for reasons) and
/// trimmed and lower-cased once (as matching compares them).
#[derive(Debug)]
pub struct Needles {
    pub texts: Vec<String>,
    folded: Vec<String>,
}

impl Needles {
    pub fn new(texts: Vec<String>) -> Needles {
        let folded = texts.iter().map(|t| fold(t)).collect();
        Needles { texts, folded }
    }
}

/// Activities of some kinds, optionally filtered by properties and age, at least
/// `at_least` of them.
#[derive(Debug)]
pub struct ActivityCondition {
    pub kinds: Vec<String>,
    /// Property name and text the property must contain (case-insensitive).
    pub where_: Vec<(String, String)>,
    pub within_days: Option<f64>,
    pub at_least: u32,
    /// The `where` texts trimmed and lower-cased, as matching compares them.
    folded: Vec<String>,
    /// The kinds trimmed, as matching compares them.
    trimmed_kinds: Vec<String>,
    /// How reasons name the condition (`what` below), written once.
    what: String,
}

/// Read and check a condition's keys from `t`: a `field` with exactly one test,
/// or an `activity`. `Ok(None)` when `t` holds none of the condition keys.
pub fn read(t: &mut Table) -> Result<Option<Condition>> {
    let field = t.text("field")?;
    let activity = t.texts("activity")?;
    let test = read_test(t)?;
    let filters = read_filters(t)?;

    match (field, activity) {
        (Some(_), Some(_)) => Err(t.error(
            "activity",
            "a condition is on a `field` or on an `activity`, not both: split it in two",
        )),
        (Some(field), None) => {
            if let Some(k) = filters.first_key {
                return Err(t.error(
                    k,
                    format!("`{k}` applies to `activity` conditions, not to `field` ones"),
                ));
            }
            if field.trim().is_empty() {
                return Err(t.error("field", "the field name is empty"));
            }
            let Some((_, test)) = test else {
                return Err(t.error(
                    "field",
                    format!("field `{field}` needs one test: equals, in, contains, min/max, present or missing"),
                ));
            };
            Ok(Some(Condition::Field(FieldCondition { field, test })))
        }
        (None, Some(kinds)) => {
            if let Some((k, _)) = test {
                return Err(t.error(
                    k,
                    format!("`{k}` applies to `field` conditions, not to `activity` ones"),
                ));
            }
            if kinds.is_empty() || kinds.iter().any(|k| k.trim().is_empty()) {
                return Err(t.error("activity", "give an activity kind, e.g. \"page_view\""));
            }
            Ok(Some(Condition::Activity(ActivityCondition::new(
                kinds,
                filters.where_,
                filters.within_days,
                filters.at_least,
            ))))
        }
        (None, None) => match (test, filters.first_key) {
            (Some((k, _)), _) => Err(t.error(k, format!("`{k}` needs a `field` to test"))),
            (None, Some(k)) => Err(t.error(k, format!("`{k}` needs an `activity` kind"))),
            (None, None) => Ok(None),
        },
    }
}

/// The field test, if any, and its key: at most one of `equals`, `in`,
/// `contains`, `min`/`max`, `present`, `missing`.
fn read_test(t: &mut Table) -> Result<Option<(&'static str, FieldTest)>> {
    let mut tests: Vec<(&'static str, FieldTest)> = Vec::new();
    if let Some(value) = t.scalar("equals")? {
        tests.push(("equals", FieldTest::Equals(value)));
    }
    if let Some(values) = t.scalars("in")? {
        if values.is_empty() {
            return Err(t.error("in", "the list is empty: give the values to match"));
        }
        tests.push(("in", FieldTest::OneOf(values)));
    }
    if let Some(needles) = t.texts("contains")? {
        if needles.is_empty() || needles.iter().any(|n| n.trim().is_empty()) {
            return Err(t.error("contains", "give non-empty text(s) to look for"));
        }
        tests.push(("contains", FieldTest::Contains(Needles::new(needles))));
    }
    let (min, max) = (t.number("min")?, t.number("max")?);
    if let Some((lo, hi)) = min.zip(max).filter(|(lo, hi)| lo >= hi) {
        let message = format!(
            "max ({}) must be above min ({}): the range is min <= value < max",
            num(hi),
            num(lo)
        );
        return Err(t.error("max", message));
    }
    if min.is_some() || max.is_some() {
        let key = if min.is_some() { "min" } else { "max" };
        tests.push((key, FieldTest::Range { min, max }));
    }
    for (key, other, test) in [
        ("present", "missing", FieldTest::Present),
        ("missing", "present", FieldTest::Missing),
    ] {
        match t.boolean(key)? {
            Some(true) => tests.push((key, test)),
            Some(false) => {
                return Err(t.error(
                    key,
                    format!("write `{key} = true` (or `{other} = true` for the opposite)"),
                ));
            }
            None => {}
        }
    }
    if tests.len() > 1 {
        let keys: Vec<&str> = tests.iter().map(|(k, _)| *k).collect();
        return Err(t.error(
            keys[1],
            format!(
                "one test per condition, found `{}`: split it into several",
                keys.join("` and `")
            ),
        ));
    }
    Ok(tests.pop())
}

/// The activity filters and counts, with the first such key given (if any).
struct Filters {
    where_: Vec<(String, String)>,
    within_days: Option<f64>,
    at_least: u32,
    first_key: Option<&'static str>,
}

fn read_filters(t: &mut Table) -> Result<Filters> {
    let where_ = match t.table("where")? {
        Some(w) => Some(read_where(w)?),
        None => None,
    };
    let within_days = t.number("within_days")?;
    let at_least = t.count("at_least")?;
    if within_days.is_some_and(|d| d <= 0.0) {
        return Err(t.error("within_days", "must be a number of days above 0"));
    }
    if at_least == Some(0) {
        return Err(t.error("at_least", "must be 1 or more"));
    }
    let first_key = [
        ("where", where_.is_some()),
        ("within_days", within_days.is_some()),
        ("at_least", at_least.is_some()),
    ]
    .into_iter()
    .find_map(|(k, set)| set.then_some(k));
    Ok(Filters {
        where_: where_.unwrap_or_default(),
        within_days,
        at_least: at_least.unwrap_or(1),
        first_key,
    })
}

/// `where = { url = "/pricing" }`: property names and the text each must contain.
fn read_where(mut w: Table) -> Result<Vec<(String, String)>> {
    let mut filters = Vec::new();
    for name in w.keys() {
        let text = w.text(&name)?.unwrap_or_default();
        if text.trim().is_empty() {
            return Err(w.error(&name, "give the text the property must contain"));
        }
        filters.push((name, text));
    }
    Ok(filters)
}

impl FieldCondition {
    /// `Some(reason)` when the lead passes the test, e.g. `jobtitle "VP Sales" contains "VP"`.
    pub fn check(&self, lead: &Lead) -> Option<String> {
        self.check_value(lead.get(&self.field))
    }

    /// [`check`](Self::check) on the field's value, looked up by the caller:
    /// a points table tests many cases on one field and looks it up once.
    pub fn check_value(&self, value: Option<&Value>) -> Option<String> {
        let field = &self.field;
        let value = value.filter(|v| !v.is_empty());
        let Some(value) = value else {
            return matches!(self.test, FieldTest::Missing).then(|| format!("{field} is missing"));
        };
        // The reason is only written for a test that holds, in one buffer:
        // `{field} {value} {what the test says}`.
        let reason = |says: &dyn Fn(&mut String)| {
            let mut s = String::with_capacity(field.len() + 48);
            s.push_str(field);
            s.push(' ');
            push_value(&mut s, value);
            s.push(' ');
            says(&mut s);
            s
        };
        match &self.test {
            FieldTest::Missing => None,
            FieldTest::Present => {
                let mut s = format!("{field} is present (");
                push_value(&mut s, value);
                s.push(')');
                Some(s)
            }
            FieldTest::Equals(expected) => scalar_matches(expected, value).then(|| {
                reason(&|s| {
                    s.push_str("equals ");
                    push_scalar(s, expected);
                })
            }),
            FieldTest::OneOf(values) => values
                .iter()
                .any(|v| scalar_matches(v, value))
                .then(|| reason(&|s| s.push_str(&format!("is one of {}", show_list(values))))),
            FieldTest::Contains(needles) => needles
                .texts
                .iter()
                .zip(&needles.folded)
                .find(|(_, folded)| any_text(value, |t| contains_folded(t, folded)))
                .map(|(n, _)| {
                    reason(&|s| {
                        s.push_str("contains ");
                        push_quoted(s, [n.as_str()]);
                    })
                }),
            FieldTest::Range { min, max } => {
                let n = number(value)?;
                let above = min.is_none_or(|lo| n >= lo);
                let below = max.is_none_or(|hi| n < hi);
                (above && below).then(|| format!("{field} {} {}", num(n), show_range(*min, *max)))
            }
        }
    }
}

impl ActivityCondition {
    pub fn new(
        kinds: Vec<String>,
        where_: Vec<(String, String)>,
        within_days: Option<f64>,
        at_least: u32,
    ) -> ActivityCondition {
        let mut condition = ActivityCondition {
            folded: where_.iter().map(|(_, needle)| fold(needle)).collect(),
            trimmed_kinds: kinds.iter().map(|k| k.trim().to_string()).collect(),
            kinds,
            where_,
            within_days,
            at_least,
            what: String::new(),
        };
        condition.what = condition.what();
        condition
    }

    /// The lead's activities that match kind, `where` and age, in the lead's order.
    /// Activities after `now` (the event's time) are never counted.
    pub fn matching<'a>(&self, lead: &'a Lead, now: i64) -> Vec<&'a Activity> {
        let from = self
            .within_days
            .map(|d| now.saturating_sub((d * DAY_MS as f64) as i64));
        lead.activities
            .iter()
            .filter(|a| a.at <= now && from.is_none_or(|from| a.at >= from))
            .filter(|a| {
                self.trimmed_kinds
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(&a.kind))
            })
            .filter(|a| {
                self.where_
                    .iter()
                    .zip(&self.folded)
                    .all(|((name, _), needle)| {
                        a.get(name)
                            .is_some_and(|v| any_text(v, |t| contains_folded(t, needle)))
                    })
            })
            .collect()
    }

    /// `Some((matching activities, reason))` when at least `at_least` match.
    pub fn check<'a>(&self, lead: &'a Lead, now: i64) -> Option<(Vec<&'a Activity>, String)> {
        let found = self.matching(lead, now);
        let latest = latest(&found)?;
        if found.len() < self.at_least as usize {
            return None;
        }
        let age = days(now.saturating_sub(latest.at));
        let when = if age == "0 days" {
            "today".to_string()
        } else {
            format!("{age} ago")
        };
        let reason = format!("{} {}, latest {when}", found.len(), self.what);
        Some((found, reason))
    }

    /// `page_view (url contains "/pricing") in the last 14 days`
    fn what(&self) -> String {
        let mut s = self.kinds.join(" or ");
        if !self.where_.is_empty() {
            let filters: Vec<String> = self
                .where_
                .iter()
                .map(|(name, needle)| format!("{name} contains \"{needle}\""))
                .collect();
            s.push_str(&format!(" ({})", filters.join(", ")));
        }
        if let Some(d) = self.within_days {
            s.push_str(&format!(" in the last {}", plural(d, "day")));
        }
        s
    }
}

/// The most recent of some activities.
pub fn latest<'a>(found: &[&'a Activity]) -> Option<&'a Activity> {
    found.iter().copied().max_by_key(|a| a.at)
}

/// Every text of the value: a list's items, else the value itself as text.
pub fn each_text(value: &Value, mut visit: impl FnMut(&str)) {
    any_text(value, |text| {
        visit(text);
        false
    });
}

/// Whether any text of the value passes `test`: a list's items, else the value
/// itself as text.
fn any_text(value: &Value, mut test: impl FnMut(&str) -> bool) -> bool {
    match value {
        Value::List(items) => items.iter().any(|item| test(item)),
        Value::Text(text) => test(text),
        other => test(&other.to_text()),
    }
}

fn scalar_matches(expected: &Scalar, value: &Value) -> bool {
    match expected {
        Scalar::Text(t) => any_text(value, |v| same_text(v, t)),
        Scalar::Number(n) => {
            number(value) == Some(*n)
                || matches!(value, Value::List(items) if items.iter().any(|i| parse_number(i) == Some(*n)))
        }
        Scalar::Bool(b) => value.as_bool() == Some(*b),
    }
}

/// Equal ignoring case and surrounding spaces, without allocating.
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// What [`same_text`] compares: `same_text(a, b)` exactly when
/// `text_key(a) == text_key(b)`. Borrowed when the text is already so.
pub fn text_key(text: &str) -> Cow<'_, str> {
    let t = text.trim();
    if !t.is_ascii() {
        Cow::Owned(t.chars().flat_map(char::to_lowercase).collect())
    } else if t.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(t.to_ascii_lowercase())
    } else {
        Cow::Borrowed(t)
    }
}

/// Whether `fold(hay)` contains `needle` (already folded), without
/// allocating for ASCII text.
fn contains_folded(hay: &str, needle: &str) -> bool {
    let hay = hay.trim();
    if !hay.is_ascii() {
        return fold(hay).contains(needle);
    }
    // An ASCII text folds to ASCII: it cannot hold a non-ASCII needle.
    let needle = needle.as_bytes();
    needle.is_empty()
        || hay
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Text for comparing: trimmed, in lower case (Unicode, so `GESCHÄFTSFÜHRER`
/// contains `geschäftsführer`).
fn fold(text: &str) -> String {
    text.trim().to_lowercase()
}

/// A field as a number: a number, a time, or text such as `"250"` (CRMs often
/// send numbers as text).
pub fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => Some(*n),
        Value::Time(t) => Some(*t as f64),
        Value::Text(t) => parse_number(t),
        _ => None,
    }
}

/// A plain decimal number, `"250"`, `" -12.5 "`, `"+3"`; no exponent, at most 18
/// digits. (The standard float parser would add ~17 KB to the plugin.)
pub fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    let (negative, unsigned) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = int.len() + frac.len();
    if digits == 0 || digits > 18 {
        return None;
    }
    let mut mantissa: u64 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        if !b.is_ascii_digit() {
            return None;
        }
        mantissa = mantissa * 10 + u64::from(b - b'0');
    }
    let value = mantissa as f64 / 10f64.powi(frac.len() as i32);
    Some(if negative { -value } else { value })
}

/// `"VP Sales"` for text, `250` for numbers, `"a;b"` for lists.
fn push_value(s: &mut String, value: &Value) {
    match value {
        Value::Text(t) => push_quoted(s, [t.as_str()]),
        Value::List(items) => push_quoted(s, items.iter().map(String::as_str)),
        other => s.push_str(&other.to_text()),
    }
}

/// A scalar as [`Scalar`]'s `Display` shows it.
fn push_scalar(s: &mut String, scalar: &Scalar) {
    match scalar {
        Scalar::Text(t) => push_quoted(s, [t.as_str()]),
        other => s.push_str(&other.to_string()),
    }
}

/// The texts joined by `;`, in double quotes.
fn push_quoted<'a>(s: &mut String, texts: impl IntoIterator<Item = &'a str>) {
    s.push('"');
    for (i, text) in texts.into_iter().enumerate() {
        if i > 0 {
            s.push(';');
        }
        s.push_str(text);
    }
    s.push('"');
}

fn show_list(values: &[Scalar]) -> String {
    const SHOWN: usize = 5;
    let mut items: Vec<String> = values.iter().take(SHOWN).map(Scalar::to_string).collect();
    if values.len() > SHOWN {
        items.push(format!("… {} values in all", values.len()));
    }
    format!("[{}]", items.join(", "))
}

fn show_range(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(lo), Some(hi)) => format!("is in [{}, {})", num(lo), num(hi)),
        (Some(lo), None) => format!("is at least {}", num(lo)),
        (None, Some(hi)) => format!("is below {}", num(hi)),
        (None, None) => "is a number".into(),
    }
}

/// `250`, `2.5`: whole numbers without a decimal point, others to 2 decimals.
pub fn num(n: f64) -> String {
    let r = (n * 100.0).round() / 100.0;
    if r.fract() == 0.0 && r.abs() < 1e15 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

/// An age in milliseconds as `3 days`, `1 day`, `0.5 days`.
pub fn days(ms: i64) -> String {
    let d = (ms as f64 / DAY_MS as f64 * 10.0).round() / 10.0;
    plural(d, "day")
}

/// `1 day`, `2 days`, `0.5 days`
pub fn plural(n: f64, unit: &str) -> String {
    if n == 1.0 {
        format!("1 {unit}")
    } else {
        format!("{} {unit}s", num(n))
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Text(t) => write!(f, "\"{t}\""),
            Scalar::Number(n) => f.write_str(&num(*n)),
            Scalar::Bool(b) => write!(f, "{b}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_folded_is_contains_on_folded_text() {
        let hays = [
            "/Pricing/Plans ",
            "pricing",
            "PRIC",
            "",
            "  ",
            "GESCHÄFTSFÜHRER",
            "\u{212A}ELVIN",
        ];
        let needles = [
            "/pricing",
            "pric",
            "geschäftsführer",
            "kelvin",
            "ä",
            "plans",
            "x",
        ];
        for hay in hays {
            for needle in needles {
                let needle = fold(needle);
                assert_eq!(
                    contains_folded(hay, &needle),
                    fold(hay).contains(&needle),
                    "{hay:?} {needle:?}"
                );
            }
        }
    }
}

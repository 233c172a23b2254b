//! Typed accessors over the contract's data: `lead.text("jobtitle")`,
//! `lead.number("numberofemployees")`, activity queries, earlier verdicts.
//!
//! CRMs often send every property as a string (HubSpot does), so the numeric,
//! boolean and time accessors also read text that parses as one.

use crate::types::*;

/// One day in milliseconds: the unit of the contract's times.
pub const DAY_MS: i64 = 86_400_000;

impl Value {
    /// True for `null`, empty text and an empty list: "the CRM has nothing here".
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Text(t) => t.trim().is_empty(),
            Value::List(l) => l.is_empty(),
            _ => false,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::Text(t) => t.trim().parse().ok(),
            Value::Time(t) => Some(*t as f64),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(b) => Some(*b),
            Value::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Some(true),
                "false" | "no" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// Milliseconds since the epoch: a `time`, a number, or text holding an integer.
    pub fn as_time(&self) -> Option<i64> {
        match self {
            Value::Time(t) => Some(*t),
            Value::Number(n) => Some(*n as i64),
            Value::Text(t) => t.trim().parse().ok(),
            _ => None,
        }
    }

    /// The list items; a text value is a one-item list (a single-select).
    pub fn as_list(&self) -> Vec<&str> {
        match self {
            Value::List(l) => l.iter().map(String::as_str).collect(),
            Value::Text(t) if !t.trim().is_empty() => vec![t.as_str()],
            _ => Vec::new(),
        }
    }

    /// The value as text for comparisons and reasons (`null` is empty).
    pub fn to_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Text(t) => t.clone(),
            Value::Number(n) => format_number(*n),
            Value::Boolean(b) => b.to_string(),
            Value::Time(t) => t.to_string(),
            Value::List(l) => l.join(";"),
        }
    }
}

/// `250` rather than `250.0` for whole numbers.
pub(crate) fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn find<'a>(fields: &'a [Field], name: &str) -> Option<&'a Value> {
    fields.iter().find(|f| f.name == name).map(|f| &f.value)
}

impl Lead {
    /// The field's value; `None` when the CRM did not send it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        find(&self.fields, name)
    }

    /// Non-empty text of a field.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name)
            .and_then(Value::as_text)
            .filter(|t| !t.trim().is_empty())
    }

    pub fn number(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(Value::as_number)
    }

    pub fn boolean(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(Value::as_bool)
    }

    pub fn time(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_time)
    }

    pub fn list(&self, name: &str) -> Vec<&str> {
        self.get(name).map(Value::as_list).unwrap_or_default()
    }

    /// The field is there and not empty.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| !v.is_empty())
    }

    /// The domain of the lead's email address, lower case.
    pub fn email_domain(&self) -> Option<String> {
        let email = self.email.as_deref()?;
        let (_, domain) = email.rsplit_once('@')?;
        let domain = domain.trim().to_ascii_lowercase();
        (!domain.is_empty()).then_some(domain)
    }

    /// Query the lead's activities: `lead.activities().kind("demo_request").within_days(30.0, now).count()`.
    pub fn activities(&self) -> Activities<'_> {
        Activities {
            items: self.activities.iter().collect(),
        }
    }
}

impl Activity {
    pub fn get(&self, name: &str) -> Option<&Value> {
        find(&self.properties, name)
    }
}

/// A filtered view of a lead's activities.
#[derive(Clone)]
pub struct Activities<'a> {
    items: Vec<&'a Activity>,
}

impl<'a> Activities<'a> {
    pub fn kind(self, kind: &str) -> Self {
        self.filter(|a| a.kind == kind)
    }

    /// Activities of any of these kinds.
    pub fn kinds(self, kinds: &[impl AsRef<str>]) -> Self {
        self.filter(|a| kinds.iter().any(|k| k.as_ref() == a.kind))
    }

    /// Activities at most `days` before `now` (and not after it).
    pub fn within_days(self, days: f64, now: i64) -> Self {
        let from = now - (days * DAY_MS as f64) as i64;
        self.filter(|a| a.at >= from && a.at <= now)
    }

    pub fn filter(self, keep: impl Fn(&Activity) -> bool) -> Self {
        Activities {
            items: self.items.into_iter().filter(|a| keep(a)).collect(),
        }
    }

    pub fn count(&self) -> usize {
        self.items.len()
    }

    pub fn any(&self) -> bool {
        !self.items.is_empty()
    }

    /// The most recent activity.
    pub fn latest(&self) -> Option<&'a Activity> {
        self.items.iter().copied().max_by_key(|a| a.at)
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a Activity> + '_ {
        self.items.iter().copied()
    }
}

impl Input {
    /// "Now" for this call: the event's time.
    pub fn now(&self) -> i64 {
        self.event.at
    }

    /// The latest score from an earlier step.
    pub fn prior_score(&self) -> Option<&ScoreVerdict> {
        self.prior.iter().rev().find_map(|p| match &p.verdict {
            Verdict::Score(s) => Some(s),
            _ => None,
        })
    }

    /// The latest segmentation from an earlier step.
    pub fn prior_segments(&self) -> Option<&SegmentVerdict> {
        self.prior.iter().rev().find_map(|p| match &p.verdict {
            Verdict::Segmentation(s) => Some(s),
            _ => None,
        })
    }

    /// The latest routing from an earlier step.
    pub fn prior_route(&self) -> Option<&RouteVerdict> {
        self.prior.iter().rev().find_map(|p| match &p.verdict {
            Verdict::Routing(r) => Some(r),
            _ => None,
        })
    }

    /// The lifecycle stage: set by an earlier segmentation step, else the CRM's.
    pub fn lifecycle_stage(&self) -> Option<&str> {
        self.prior
            .iter()
            .rev()
            .find_map(|p| match &p.verdict {
                Verdict::Segmentation(s) => s.lifecycle_stage.as_deref(),
                _ => None,
            })
            .or(self.lead.lifecycle_stage.as_deref())
    }

    /// Is the lead in this segment according to an earlier step?
    pub fn in_segment(&self, name: &str) -> bool {
        self.prior.iter().any(|p| match &p.verdict {
            Verdict::Segmentation(s) => s.segments.iter().any(|seg| seg.name == name),
            _ => false,
        })
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.into())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Number(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Number(v as f64)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Number(v as f64)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}
impl From<Vec<&str>> for Value {
    fn from(v: Vec<&str>) -> Self {
        Value::List(v.into_iter().map(String::from).collect())
    }
}

//! When a segment or a lifecycle rule applies: `all = [...]` conditions that must
//! all hold and/or `any = [...]` of which one must. A condition is one of the
//! field and activity tests of conditions.rs, or a test on earlier verdicts:
//!
//! - `score_at_least = 60`, `score_below = 30`: the score of an earlier step
//!   (no earlier score fails both: a missing score is not a zero)
//! - `grade_in = ["A1", "A2"]`: its grade
//! - `segment = "enterprise"` (or a list): a segment given by an earlier step, or
//!   by an earlier entry of this segmenter
//! - `stage_in = ["lead", "mql"]`: the lifecycle stage (an earlier step's, else the CRM's)

use leadwire_sdk::{Input, Result, Segment};

use crate::conditions::{self, Condition, num};
use crate::reader::Table;

const VERDICT_KEYS: [&str; 5] = [
    "score_at_least",
    "score_below",
    "grade_in",
    "segment",
    "stage_in",
];

/// The conditions of one segment or lifecycle rule.
#[derive(Debug)]
pub struct When {
    all: Vec<Check>,
    any: Vec<Check>,
}

#[derive(Debug)]
enum Check {
    Lead(Condition),
    ScoreAtLeast(f64),
    ScoreBelow(f64),
    GradeIn(Vec<String>),
    Segment(Vec<String>),
    StageIn(Vec<String>),
}

/// What a condition can look at.
pub struct Context<'a> {
    pub input: &'a Input,
    /// Segments already given by this segmenter, in this call.
    pub segments: &'a [Segment],
}

impl When {
    /// Read `all` and `any` from a segment or lifecycle rule table.
    pub fn read(t: &mut Table) -> Result<When> {
        let all = read_checks(t, "all")?;
        let any = read_checks(t, "any")?;
        if all.is_empty() && any.is_empty() {
            return Err(t.error(
                "all",
                "give conditions: `all = [...]` (every one must hold) and/or `any = [...]` (one must)",
            ));
        }
        Ok(When { all, any })
    }

    /// `Some(reason)` when the conditions hold: the reasons of the conditions
    /// that made it so, e.g. `score 72 is at least 60 and country "Canada" is one of [...]`.
    pub fn check(&self, cx: &Context) -> Option<String> {
        let mut reasons = Vec::with_capacity(self.all.len() + 1);
        for check in &self.all {
            reasons.push(check.check(cx)?);
        }
        if !self.any.is_empty() {
            reasons.push(self.any.iter().find_map(|c| c.check(cx))?);
        }
        Some(reasons.join(" and "))
    }
}

fn read_checks(t: &mut Table, key: &str) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    for mut c in t.tables(key)? {
        c.only(&[&conditions::KEYS, &VERDICT_KEYS])?;
        checks.push(read_check(&mut c)?);
    }
    Ok(checks)
}

/// Exactly one condition from a condition table.
fn read_check(t: &mut Table) -> Result<Check> {
    let mut found: Vec<(&str, Check)> = Vec::new();
    if let Some(n) = t.number("score_at_least")? {
        found.push(("score_at_least", Check::ScoreAtLeast(n)));
    }
    if let Some(n) = t.number("score_below")? {
        found.push(("score_below", Check::ScoreBelow(n)));
    }
    for (key, make) in [
        ("grade_in", Check::GradeIn as fn(Vec<String>) -> Check),
        ("segment", Check::Segment),
        ("stage_in", Check::StageIn),
    ] {
        if let Some(names) = t.texts(key)? {
            if names.is_empty() || names.iter().any(|n| n.trim().is_empty()) {
                return Err(t.error(key, "give one or more non-empty names"));
            }
            found.push((key, make(names)));
        }
    }
    if let Some(condition) = conditions::read(t)? {
        let key = match condition {
            Condition::Field(_) => "field",
            Condition::Activity(_) => "activity",
        };
        found.push((key, Check::Lead(condition)));
    }
    if found.len() > 1 {
        let keys: Vec<&str> = found.iter().map(|(k, _)| *k).collect();
        return Err(t.error(
            keys[1],
            format!(
                "one condition per entry, found `{}`: put each in its own {{ ... }}",
                keys.join("` and `")
            ),
        ));
    }
    found.pop().map(|(_, check)| check).ok_or_else(|| {
        t.error(
            "field",
            "an empty condition: use `field`, `activity`, `score_at_least`, `score_below`, `grade_in`, `segment` or `stage_in`",
        )
    })
}

impl Check {
    fn check(&self, cx: &Context) -> Option<String> {
        let input = cx.input;
        match self {
            Check::Lead(Condition::Field(c)) => c.check(&input.lead),
            Check::Lead(Condition::Activity(c)) => {
                c.check(&input.lead, input.now()).map(|(_, reason)| reason)
            }
            Check::ScoreAtLeast(min) => {
                let score = input.prior_score()?.value;
                (score >= *min).then(|| format!("score {} is at least {}", num(score), num(*min)))
            }
            Check::ScoreBelow(max) => {
                let score = input.prior_score()?.value;
                (score < *max).then(|| format!("score {} is below {}", num(score), num(*max)))
            }
            Check::GradeIn(grades) => {
                let grade = input.prior_score()?.grade.as_deref()?;
                grades
                    .iter()
                    .any(|g| g.trim().eq_ignore_ascii_case(grade.trim()))
                    .then(|| format!("grade \"{grade}\" is one of {}", quoted(grades)))
            }
            Check::Segment(names) => names.iter().find_map(|name| {
                if cx.segments.iter().any(|s| &s.name == name) {
                    Some(format!("in segment \"{name}\""))
                } else if input.in_segment(name) {
                    Some(format!("in segment \"{name}\" (from an earlier step)"))
                } else {
                    None
                }
            }),
            Check::StageIn(stages) => {
                let stage = input.lifecycle_stage()?;
                stages
                    .iter()
                    .any(|s| s.trim().eq_ignore_ascii_case(stage.trim()))
                    .then(|| format!("lifecycle stage \"{stage}\" is one of {}", quoted(stages)))
            }
        }
    }
}

/// `["A1", "A2"]`
fn quoted(names: &[String]) -> String {
    let items: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!("[{}]", items.join(", "))
}

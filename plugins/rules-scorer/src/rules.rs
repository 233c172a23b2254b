//! One rule against one lead: whether it fires, how many points (after decay and
//! the rule's own cap), and why.
//!
//! An activity rule gives `points` once, decayed by the age of the most recent
//! matching activity; with `per_activity = true` it gives `points` for every
//! matching activity, each decayed by its own age, summed. Decay is
//! `points * 0.5^(age_days / half_life_days)`. `max_points` caps the result (in
//! absolute value, so it also bounds negative rules).
//!
//! A points table gives the points of its first case that holds (table.rs).

use leadwire_sdk::{Activity, Contribution, DAY_MS, Lead};

use crate::conditions::{Condition, latest, num, plural};
use crate::config::{Decay, Rule, Score};

/// The rule's contribution when it fires.
pub fn evaluate(rule: &Rule, lead: &Lead, now: i64) -> Option<Contribution> {
    let (points, condition, decay) = match &rule.score {
        Score::Fixed {
            points,
            condition,
            decay,
        } => (*points, condition, decay),
        Score::Table(table) => {
            let value = table.field().and_then(|field| lead.get(field));
            let (points, reason) = table.find(value)?;
            return Some(Contribution::new(&rule.name, round2(points), reason));
        }
    };
    match condition {
        Condition::Field(c) => {
            let reason = c.check(lead)?;
            Some(Contribution::new(&rule.name, round2(points), reason))
        }
        Condition::Activity(c) => {
            let (found, reason) = c.check(lead, now)?;
            let (points, note) = activity_points(points, decay, &found, now);
            Some(Contribution::new(
                &rule.name,
                points,
                format!("{reason}{note}"),
            ))
        }
    }
}

/// Points for the matching activities (at least one) from the rule's `base`
/// points, and a note for the reason.
fn activity_points(base: f64, decay: &Decay, found: &[&Activity], now: i64) -> (f64, String) {
    let factor = |a: &Activity| match decay.half_life_days {
        Some(half_life) => {
            let age_days = now.saturating_sub(a.at).max(0) as f64 / DAY_MS as f64;
            0.5f64.powf(age_days / half_life)
        }
        None => 1.0,
    };
    let mut points = if decay.per_activity {
        found.iter().map(|a| base * factor(a)).sum()
    } else {
        latest(found).map_or(0.0, |a| base * factor(a))
    };

    let mut note = String::new();
    if decay.per_activity {
        note.push_str(&format!("; {} each", plural(base, "point")));
    } else if decay.half_life_days.is_some() {
        note.push_str(&format!("; {}", plural(base, "point")));
    }
    if let Some(half_life) = decay.half_life_days {
        note.push_str(&format!(" with a {}-day half-life", num(half_life)));
    }
    if let Some(max) = decay.max_points.filter(|max| points.abs() > *max) {
        points = max.copysign(points);
        note.push_str(&format!(", capped at {}", num(max)));
    }
    (round2(points), note)
}

/// Points are kept to 2 decimals so the audit trail adds up exactly.
pub fn round2(x: f64) -> f64 {
    let r = (x * 100.0).round() / 100.0;
    if r == 0.0 { 0.0 } else { r }
}

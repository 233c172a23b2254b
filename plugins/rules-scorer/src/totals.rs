//! Group sums, then each group's cap and floor, then the total's: every trim is
//! itself a contribution (`cap:fit`, `floor:total`), so the contributions always
//! add up to the score.

use leadwire_sdk::{Contribution, ScorePart};

use crate::conditions::num;
use crate::config::{Config, TOTAL};
use crate::rules::round2;

pub struct Totals {
    /// One part per group, capped: fit, engagement, then the others.
    pub parts: Vec<ScorePart>,
    /// The cap and floor contributions, groups first, then the total's.
    pub adjustments: Vec<Contribution>,
    pub total: f64,
}

impl Totals {
    pub fn part(&self, group: &str) -> f64 {
        self.parts
            .iter()
            .find(|p| p.name == group)
            .map_or(0.0, |p| p.value)
    }
}

/// `fired` holds each fired rule's group and points.
pub fn tally(config: &Config, fired: &[(&str, f64)]) -> Totals {
    let mut parts = Vec::with_capacity(config.groups.len());
    let mut adjustments = Vec::new();
    for group in &config.groups {
        let raw = round2(
            fired
                .iter()
                .filter(|(g, _)| g == group)
                .map(|(_, p)| p)
                .sum(),
        );
        let (value, adjustment) = bound(group, raw, "rules", &config.caps, &config.floors);
        adjustments.extend(adjustment);
        parts.push(ScorePart {
            name: group.clone(),
            value,
        });
    }
    let raw_total = round2(parts.iter().map(|p| p.value).sum());
    let (total, adjustment) = bound(TOTAL, raw_total, "groups", &config.caps, &config.floors);
    adjustments.extend(adjustment);
    Totals {
        parts,
        adjustments,
        total,
    }
}

/// The value within `name`'s cap and floor, and the contribution that trims it.
fn bound(
    name: &str,
    raw: f64,
    source: &str,
    caps: &[(String, f64)],
    floors: &[(String, f64)],
) -> (f64, Option<Contribution>) {
    let find = |bounds: &[(String, f64)]| bounds.iter().find(|(g, _)| g == name).map(|(_, v)| *v);
    if let Some(cap) = find(caps).filter(|cap| raw > *cap) {
        let reason = format!("{name} capped at {} ({source} gave {})", num(cap), num(raw));
        let trim = Contribution::new(format!("cap:{name}"), round2(cap - raw), reason);
        return (cap, Some(trim));
    }
    if let Some(floor) = find(floors).filter(|floor| raw < *floor) {
        let reason = format!(
            "{name} raised to its floor of {} ({source} gave {})",
            num(floor),
            num(raw)
        );
        let trim = Contribution::new(format!("floor:{name}"), round2(floor - raw), reason);
        return (floor, Some(trim));
    }
    (raw, None)
}

//! rules-scorer: a lead score from rules written in the install's config.
//!
//! Rules on fields and on activities give points to a group (`fit`, `engagement`
//! or any other); each group and the total can be capped and floored; the fit and
//! engagement scores make a grid grade such as `B2`. Every rule that fired is a
//! contribution with its reason, and so is every cap or floor that trimmed the
//! score. See README.md for the config.
//!
//! - `config.rs`: the config schema and its validation
//! - `reader.rs`: strict, path-aware reading of the config table (shared with segmenter)
//! - `conditions.rs`: the field and activity tests (shared with segmenter)
//! - `rules.rs`: a rule's points, with decay and the rule's cap
//! - `table.rs`: points tables, indexed once per install
//! - `totals.rs`: group sums, caps and floors
//! - `grade.rs`: the fit x engagement grid

use leadwire_sdk::*;

mod config;
use rule_conditions::{conditions, reader};
mod grade;
mod rules;
mod table;
mod totals;

use config::{Config, ENGAGEMENT, FIT};

pub struct RulesScorer;

impl Scoring for RulesScorer {
    fn score(input: &Input) -> Result<ScoreVerdict> {
        host::with_config(&CONFIG, Config::load, |config| {
            Ok(score_with(config, input))
        })
    }
}

static CONFIG: std::sync::OnceLock<Config> = std::sync::OnceLock::new();

export!(RulesScorer: scoring, init = preload);

/// Run once per install by the host, which snapshots the result: fresh
/// instances start with the config parsed.
fn preload() {
    host::preload(&CONFIG, Config::load)
}

fn score_with(config: &Config, input: &Input) -> ScoreVerdict {
    let now = input.now();
    let mut contributions = Vec::new();
    let mut fired = Vec::new();
    for rule in &config.rules {
        if let Some(contribution) = rules::evaluate(rule, &input.lead, now) {
            fired.push((rule.group.as_str(), contribution.points));
            contributions.push(contribution);
        }
    }
    let totals = totals::tally(config, &fired);
    let grade = config
        .grade
        .as_ref()
        .map(|grid| grid.grade(totals.part(FIT), totals.part(ENGAGEMENT)));

    host::log(
        host::Level::Info,
        &format!(
            "score {} (fit {}, engagement {}){}: {} of {} rule(s) fired",
            conditions::num(totals.total),
            conditions::num(totals.part(FIT)),
            conditions::num(totals.part(ENGAGEMENT)),
            grade
                .as_ref()
                .map(|g| format!(", grade {g}"))
                .unwrap_or_default(),
            fired.len(),
            config.rules.len(),
        ),
    );
    contributions.extend(totals.adjustments);
    ScoreVerdict {
        value: totals.total,
        grade,
        parts: totals.parts,
        contributions,
    }
}

#[cfg(test)]
mod tests;

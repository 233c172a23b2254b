//! Exit to sales: the lead is sales-qualified (lifecycle stage, counting an
//! earlier segmentation step's stage), scored at least `min_score` by an earlier
//! scoring step, or booked a meeting recently.

use leadwire_sdk::{Input, Value};

use crate::config::Exit;
use crate::lookup::ago;

pub enum Outcome {
    /// Every signal that fired, joined.
    Exit(String),
    /// Why each enabled signal did not fire, for the "stay" reason.
    NotYet(Vec<String>),
}

fn number(n: f64) -> String {
    Value::Number(n).to_text()
}

pub fn check(config: &Exit, input: &Input) -> Outcome {
    let mut fired = Vec::new();
    let mut not_yet = Vec::new();

    if !config.stages.is_empty() {
        match input.lifecycle_stage() {
            Some(stage)
                if config
                    .stages
                    .iter()
                    .any(|s| s.trim().eq_ignore_ascii_case(stage.trim())) =>
            {
                fired.push(format!("lifecycle stage {stage}"));
            }
            Some(stage) => not_yet.push(format!(
                "stage {stage}, exits at {}",
                config.stages.join("/")
            )),
            None => not_yet.push(format!(
                "no lifecycle stage, exits at {}",
                config.stages.join("/")
            )),
        }
    }

    if let Some(min) = config.min_score {
        match input.prior_score() {
            Some(s) if s.value >= min => {
                let grade = s
                    .grade
                    .as_deref()
                    .map(|g| format!(" (grade {g})"))
                    .unwrap_or_default();
                fired.push(format!(
                    "score {}{grade} reached {}",
                    number(s.value),
                    number(min)
                ));
            }
            Some(s) => not_yet.push(format!("score {} below {}", number(s.value), number(min))),
            None => not_yet.push("no score from an earlier step".into()),
        }
    }

    if !config.meeting_kinds.is_empty() {
        let days = config.meeting_within_days;
        let now = input.now();
        match input
            .lead
            .activities()
            .kinds(&config.meeting_kinds)
            .within_days(f64::from(days), now)
            .latest()
        {
            Some(a) => fired.push(format!("{} {}", a.kind, ago(a.at, now))),
            None => not_yet.push(format!(
                "no {} in the last {days} days",
                config.meeting_kinds.join("/")
            )),
        }
    }

    if fired.is_empty() {
        Outcome::NotYet(not_yet)
    } else {
        Outcome::Exit(fired.join("; "))
    }
}

//! Recycle: sales sent the lead back (a `rejected` event, or a status such as
//! `BAD_TIMING`). This beats an exit, so a lead that sales just rejected does not
//! bounce straight back to them on its old score.

use leadwire_sdk::{Input, Trigger};

use crate::config::Recycle;
use crate::lookup::field_value_in;

pub enum Outcome {
    Recycle(String),
    /// A rejection whose reason says the lead is not worth nurturing.
    Disqualify(String),
}

pub fn check(config: &Recycle, input: &Input) -> Option<Outcome> {
    if let Trigger::Rejected(reason) = &input.event.trigger
        && config.on_rejection
    {
        let lower = reason.to_ascii_lowercase();
        let fatal = config
            .disqualify_rejections_containing
            .iter()
            .find(|phrase| lower.contains(&phrase.trim().to_ascii_lowercase()));
        return Some(match fatal {
            Some(phrase) => Outcome::Disqualify(format!(
                "rejected by sales: {reason} (contains \"{}\")",
                phrase.trim()
            )),
            None => Outcome::Recycle(format!("rejected by sales: {reason}")),
        });
    }
    if config.status_values.is_empty() {
        return None;
    }
    let value = field_value_in(&input.lead, &config.status_field, &config.status_values)?;
    Some(Outcome::Recycle(format!(
        "{} is \"{value}\"",
        config.status_field
    )))
}

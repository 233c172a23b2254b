//! Disqualify: a hard bounce, an unsubscribe or opt-out, or not a fit. These
//! beat everything else: a lead that cannot be emailed or will never buy does
//! not go to sales or back to nurture.

use leadwire_sdk::{Input, Value};

use crate::config::Disqualify;
use crate::lookup::{ago, field_value_in, segment};

/// Every reason to disqualify the lead; empty when there is none.
pub fn reasons(config: &Disqualify, input: &Input) -> Vec<String> {
    let lead = &input.lead;
    let now = input.now();
    let mut why = Vec::new();

    let hard_bounce = lead.activities().kinds(&config.bounce_kinds).filter(|a| {
        a.get(&config.bounce_property)
            .map(Value::to_text)
            .is_some_and(|v| {
                config
                    .bounce_values
                    .iter()
                    .any(|h| h.trim().eq_ignore_ascii_case(v.trim()))
            })
    });
    if let Some(a) = hard_bounce.latest() {
        let value = a
            .get(&config.bounce_property)
            .map(Value::to_text)
            .unwrap_or_default();
        why.push(format!(
            "hard bounce: {} with {} \"{value}\" {}",
            a.kind,
            config.bounce_property,
            ago(a.at, now)
        ));
    }

    if let Some(a) = lead.activities().kinds(&config.unsubscribe_kinds).latest() {
        why.push(format!("unsubscribed: {} {}", a.kind, ago(a.at, now)));
    }
    for field in &config.optout_fields {
        if lead.boolean(field) == Some(true) {
            why.push(format!("unsubscribed: {field} is true"));
        }
    }

    for name in &config.not_a_fit_segments {
        if let Some(seg) = segment(input, name) {
            why.push(format!("not a fit: segment {} ({})", seg.name, seg.reason));
        }
    }
    for rule in &config.field_rules {
        if let Some(value) = field_value_in(lead, &rule.field, &rule.values) {
            let name = rule
                .name
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            why.push(format!("not a fit{name}: {} \"{value}\"", rule.field));
        }
    }
    why
}

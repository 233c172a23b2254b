//! The lifecycle stage: the most advanced stage whose rule holds, never a step
//! back from where the lead already is (unless `allow_backwards = true`).
//!
//! The current stage is an earlier step's, else the CRM's. A current stage that
//! is not in `lifecycle.stages` (say `evangelist`) cannot be ordered, so it is
//! left alone. The verdict's stage is `None` whenever the stage does not change,
//! and the reason always says why.

use crate::config::Lifecycle;
use crate::when::Context;

pub struct Decision {
    pub stage: Option<String>,
    pub reason: String,
}

pub fn decide(lifecycle: &Lifecycle, cx: &Context) -> Decision {
    let position = |stage: &str| {
        lifecycle
            .stages
            .iter()
            .position(|s| s.eq_ignore_ascii_case(stage.trim()))
    };
    let current = cx.input.lifecycle_stage().filter(|s| !s.trim().is_empty());

    // The most advanced matching rule; the first one written wins a tie.
    let mut best: Option<(usize, &str, String)> = None;
    for rule in &lifecycle.rules {
        let Some(reason) = rule.when.check(cx) else {
            continue;
        };
        let at = position(&rule.stage).unwrap_or(0);
        if best.as_ref().is_none_or(|(best_at, _, _)| at > *best_at) {
            best = Some((at, &rule.stage, reason));
        }
    }

    let unchanged = |reason: String| Decision {
        stage: None,
        reason,
    };
    let Some((target_at, target, why)) = best else {
        return unchanged(match current {
            Some(current) => format!("no lifecycle rule matched; stays {current}"),
            None => "no lifecycle rule matched".into(),
        });
    };
    let Some(current) = current else {
        return Decision {
            stage: Some(target.into()),
            reason: format!("{target}: {why}"),
        };
    };
    let Some(current_at) = position(current) else {
        return unchanged(format!(
            "stays {current}: it is not in lifecycle.stages, so it is left alone (the {target} rule matched: {why})"
        ));
    };
    if current_at == target_at {
        unchanged(format!("stays {current}: {why}"))
    } else if current_at < target_at {
        Decision {
            stage: Some(target.into()),
            reason: format!("{current} → {target}: {why}"),
        }
    } else if lifecycle.allow_backwards {
        Decision {
            stage: Some(target.into()),
            reason: format!("{current} → {target} (allow_backwards): {why}"),
        }
    } else {
        unchanged(format!(
            "stays {current}: stages never go backwards (the {target} rule matched: {why})"
        ))
    }
}

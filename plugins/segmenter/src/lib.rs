//! segmenter: segments and a lifecycle stage from rules written in the
//! install's config.
//!
//! Segment rules are checked in order over the lead's fields and activities and
//! over earlier verdicts (score, grade, segments, stage); with `mode = "all"` the
//! lead gets every segment that matches, with `mode = "first"` only the first.
//! Each segment's reason names the conditions that matched. The lifecycle stage
//! moves forward to the most advanced stage whose rule holds, and never back
//! unless configured. See README.md for the config.
//!
//! - `config.rs`: the config schema and its validation
//! - `reader.rs`: strict, path-aware reading of the config table (shared with rules-scorer)
//! - `conditions.rs`: the field and activity tests (shared with rules-scorer)
//! - `when.rs`: `all`/`any` condition lists, with the tests on earlier verdicts
//! - `lifecycle.rs`: the stage decision

use leadwire_sdk::*;

mod config;
use rule_conditions::{conditions, reader};
mod lifecycle;
// Shared with rules-scorer, which uses a getter or two this plugin does not.
#[allow(dead_code)]
mod when;

use config::{Config, Mode};
use when::Context;

pub struct Segmenter;

impl Segmentation for Segmenter {
    fn segment(input: &Input) -> Result<SegmentVerdict> {
        host::with_config(&CONFIG, Config::load, |config| {
            Ok(segment_with(config, input))
        })
    }
}

static CONFIG: std::sync::OnceLock<Config> = std::sync::OnceLock::new();

export!(Segmenter: segmentation, init = preload);

/// Run once per install by the host, which snapshots the result: fresh
/// instances start with the config parsed.
fn preload() {
    host::preload(&CONFIG, Config::load)
}

fn segment_with(config: &Config, input: &Input) -> SegmentVerdict {
    let mut segments: Vec<Segment> = Vec::new();
    for rule in &config.segments {
        let cx = Context {
            input,
            segments: &segments,
        };
        if let Some(reason) = rule.when.check(&cx) {
            segments.push(Segment::new(&rule.name, reason));
            if config.mode == Mode::First {
                break;
            }
        }
    }
    if let Some(fallback) = config.fallback.as_ref().filter(|_| segments.is_empty()) {
        segments.push(Segment::new(fallback, "no segment rule matched"));
    }

    let cx = Context {
        input,
        segments: &segments,
    };
    let decision = config.lifecycle.as_ref().map(|l| lifecycle::decide(l, &cx));
    let (lifecycle_stage, stage_reason) = match decision {
        Some(d) => (d.stage, Some(d.reason)),
        None => (None, None),
    };

    let names: Vec<&str> = segments.iter().map(|s| s.name.as_str()).collect();
    let mut summary = format!(
        "segments: {}",
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    );
    if let Some(reason) = &stage_reason {
        summary.push_str(&format!("; stage: {reason}"));
    }
    host::log(host::Level::Info, &summary);

    SegmentVerdict {
        segments,
        lifecycle_stage,
        stage_reason,
    }
}

#[cfg(test)]
mod tests;

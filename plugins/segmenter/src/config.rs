//! The config schema and its validation. Every error names the key at fault,
//! e.g. ``invalid config at `segments[1].all[0].min` (segment "enterprise"): ...``.
//!
//! ```toml
//! mode = "all"                 # or "first"
//! fallback = "unsegmented"     # optional
//! [[segments]]                 # name, all = [...] and/or any = [...] (see when.rs)
//! [lifecycle]                  # stages = [...]?, allow_backwards?
//! [[lifecycle.rules]]          # stage, all and/or any
//! ```

use leadwire_sdk::Result;

use crate::reader::{self, Table};
use crate::when::When;

const TOP_KEYS: [&str; 4] = ["mode", "fallback", "segments", "lifecycle"];
const SEGMENT_KEYS: [&str; 3] = ["name", "all", "any"];
const LIFECYCLE_KEYS: [&str; 3] = ["stages", "allow_backwards", "rules"];
const STAGE_RULE_KEYS: [&str; 3] = ["stage", "all", "any"];

/// The stage order when `lifecycle.stages` is not given.
pub const DEFAULT_STAGES: [&str; 6] = [
    "subscriber",
    "lead",
    "mql",
    "sql",
    "opportunity",
    "customer",
];

#[derive(Debug)]
pub struct Config {
    pub mode: Mode,
    pub segments: Vec<SegmentRule>,
    /// The segment given when no segment rule matched.
    pub fallback: Option<String>,
    pub lifecycle: Option<Lifecycle>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Every segment whose conditions hold.
    All,
    /// Only the first, in config order.
    First,
}

#[derive(Debug)]
pub struct SegmentRule {
    pub name: String,
    pub when: When,
}

#[derive(Debug)]
pub struct Lifecycle {
    /// From earliest to latest.
    pub stages: Vec<String>,
    pub allow_backwards: bool,
    pub rules: Vec<StageRule>,
}

#[derive(Debug)]
pub struct StageRule {
    pub stage: String,
    pub when: When,
}

impl Config {
    /// The install's config, validated.
    pub fn load() -> Result<Config> {
        Config::read(reader::load()?)
    }

    fn read(mut t: Table) -> Result<Config> {
        t.only(&[&TOP_KEYS])?;
        let mode = match t.text("mode")?.as_deref() {
            None | Some("all") => Mode::All,
            Some("first") => Mode::First,
            Some(other) => {
                return Err(t.error(
                    "mode",
                    format!("\"{other}\" is not a mode: use \"all\" or \"first\""),
                ));
            }
        };
        let fallback = t.text("fallback")?;
        if fallback.as_ref().is_some_and(|f| f.trim().is_empty()) {
            return Err(t.error("fallback", "the fallback segment name is empty"));
        }

        let mut segments: Vec<SegmentRule> = Vec::new();
        for (i, s) in t.tables("segments")?.into_iter().enumerate() {
            let segment = read_segment(s)?;
            if segments.iter().any(|s| s.name == segment.name) {
                return Err(t.error(
                    &format!("segments[{i}].name"),
                    format!(
                        "segment \"{}\" is defined twice: give one entry several conditions with `any = [...]`",
                        segment.name
                    ),
                ));
            }
            segments.push(segment);
        }
        let lifecycle = match t.table("lifecycle")? {
            Some(l) => Some(read_lifecycle(l)?),
            None => None,
        };
        if segments.is_empty() && lifecycle.is_none() {
            return Err(t.error(
                "segments",
                "nothing to do: add [[segments]] entries and/or [[lifecycle.rules]]",
            ));
        }
        if fallback.is_some() && segments.is_empty() {
            return Err(t.error(
                "fallback",
                "a fallback needs [[segments]] to fall back from",
            ));
        }
        Ok(Config {
            mode,
            segments,
            fallback,
            lifecycle,
        })
    }
}

fn read_segment(mut t: Table) -> Result<SegmentRule> {
    let name = t.text("name")?;
    if let Some(name) = &name {
        t.set_context("segment", name);
    }
    t.only(&[&SEGMENT_KEYS])?;
    let name = name.ok_or_else(|| t.error("name", "every segment needs a name"))?;
    if name.trim().is_empty() {
        return Err(t.error("name", "the segment name is empty"));
    }
    let when = When::read(&mut t)?;
    Ok(SegmentRule { name, when })
}

fn read_lifecycle(mut t: Table) -> Result<Lifecycle> {
    t.only(&[&LIFECYCLE_KEYS])?;
    let stages = match t.texts("stages")? {
        Some(stages) => stages,
        None => DEFAULT_STAGES.iter().map(|s| s.to_string()).collect(),
    };
    if stages.is_empty() || stages.iter().any(|s| s.trim().is_empty()) {
        return Err(t.error("stages", "give the stage names, earliest first"));
    }
    for (i, stage) in stages.iter().enumerate() {
        if stages[..i].iter().any(|s| s.eq_ignore_ascii_case(stage)) {
            return Err(t.error("stages", format!("\"{stage}\" is listed twice")));
        }
    }
    let allow_backwards = t.boolean("allow_backwards")?.unwrap_or(false);

    let mut rules = Vec::new();
    for mut r in t.tables("rules")? {
        let stage = r.text("stage")?;
        if let Some(stage) = &stage {
            r.set_context("stage", stage);
        }
        r.only(&[&STAGE_RULE_KEYS])?;
        let stage = stage
            .ok_or_else(|| r.error("stage", "every lifecycle rule needs the `stage` it sets"))?;
        let Some(known) = stages.iter().find(|s| s.eq_ignore_ascii_case(&stage)) else {
            return Err(r.error(
                "stage",
                format!(
                    "\"{stage}\" is not in lifecycle.stages ({})",
                    stages.join(", ")
                ),
            ));
        };
        let stage = known.clone();
        let when = When::read(&mut r)?;
        rules.push(StageRule { stage, when });
    }
    if rules.is_empty() {
        return Err(t.error(
            "rules",
            "no lifecycle rules: add [[lifecycle.rules]] entries, e.g. stage = \"mql\" with all = [{ score_at_least = 60 }]",
        ));
    }
    Ok(Lifecycle {
        stages,
        allow_backwards,
        rules,
    })
}

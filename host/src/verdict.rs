//! What a plugin call gives back, as the host records it: the role it was
//! called in, its verdict as JSON (checked and normalised on the way in) and
//! what it used of its limits. Below both the runtime (which produces these)
//! and the decision record (which holds them).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bindings::types::{NurtureVerdict, Route, Verdict};

/// A plugin role: an exported interface of the contract.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Scoring,
    Segmentation,
    Routing,
    Nurture,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Scoring,
        Role::Segmentation,
        Role::Routing,
        Role::Nurture,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Scoring => "scoring",
            Role::Segmentation => "segmentation",
            Role::Routing => "routing",
            Role::Nurture => "nurture",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a call used, against its limits (shown by `leadwire run`, kept in the
/// decision record).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CallMetrics {
    pub fuel_used: u64,
    pub fuel_limit: Option<u64>,
    pub peak_memory_bytes: u64,
    pub memory_limit_bytes: u64,
    pub duration_us: u64,
    pub timeout_ms: u64,
    pub verdict_bytes: u64,
    pub verdict_limit_bytes: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub logs_truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContributionOut {
    pub rule: String,
    pub points: f64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreOut {
    pub value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parts: BTreeMap<String, f64>,
    pub contributions: Vec<ContributionOut>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentOut {
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentsOut {
    pub segments: Vec<SegmentOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum RouteAction {
    Assign {
        owner: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<String>,
        rule: String,
        reason: String,
    },
    Queue {
        queue: String,
        reason: String,
    },
    KeepCurrent {
        reason: String,
    },
    Unrouted {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateOut {
    pub rep: String,
    pub chosen: bool,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteOut {
    #[serde(flatten)]
    pub action: RouteAction,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<CandidateOut>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum NurtureOut {
    Stay { reason: String },
    ExitToSales { reason: String },
    Recycle { reason: String },
    Disqualify { reason: String },
    Enroll { track: String, reason: String },
}

/// A step's verdict as JSON; the step's `role` says which kind it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum VerdictOut {
    Score(ScoreOut),
    Segmentation(SegmentsOut),
    Routing(RouteOut),
    Nurture(NurtureOut),
}

impl VerdictOut {
    pub fn from_wit(verdict: &Verdict) -> VerdictOut {
        match verdict {
            Verdict::Score(s) => VerdictOut::Score(ScoreOut {
                value: s.value,
                grade: s.grade.clone(),
                parts: s.parts.iter().map(|p| (p.name.clone(), p.value)).collect(),
                contributions: s
                    .contributions
                    .iter()
                    .map(|c| ContributionOut {
                        rule: c.rule.clone(),
                        points: c.points,
                        reason: c.reason.clone(),
                    })
                    .collect(),
            }),
            Verdict::Segmentation(s) => VerdictOut::Segmentation(SegmentsOut {
                segments: s
                    .segments
                    .iter()
                    .map(|g| SegmentOut {
                        name: g.name.clone(),
                        reason: g.reason.clone(),
                    })
                    .collect(),
                lifecycle_stage: s.lifecycle_stage.clone(),
                stage_reason: s.stage_reason.clone(),
            }),
            Verdict::Routing(r) => VerdictOut::Routing(RouteOut {
                action: match &r.route {
                    Route::Assign(a) => RouteAction::Assign {
                        owner: a.owner.clone(),
                        team: a.team.clone(),
                        rule: a.rule.clone(),
                        reason: a.reason.clone(),
                    },
                    Route::Queue(q) => RouteAction::Queue {
                        queue: q.queue.clone(),
                        reason: q.reason.clone(),
                    },
                    Route::KeepCurrent(reason) => RouteAction::KeepCurrent {
                        reason: reason.clone(),
                    },
                    Route::Unrouted(reason) => RouteAction::Unrouted {
                        reason: reason.clone(),
                    },
                },
                candidates: r
                    .candidates
                    .iter()
                    .map(|c| CandidateOut {
                        rep: c.rep.clone(),
                        chosen: c.chosen,
                        reason: c.reason.clone(),
                    })
                    .collect(),
            }),
            Verdict::Nurture(n) => VerdictOut::Nurture(match n {
                NurtureVerdict::Stay(r) => NurtureOut::Stay { reason: r.clone() },
                NurtureVerdict::ExitToSales(r) => NurtureOut::ExitToSales { reason: r.clone() },
                NurtureVerdict::Recycle(r) => NurtureOut::Recycle { reason: r.clone() },
                NurtureVerdict::Disqualify(r) => NurtureOut::Disqualify { reason: r.clone() },
                NurtureVerdict::Enroll(e) => NurtureOut::Enroll {
                    track: e.track.clone(),
                    reason: e.reason.clone(),
                },
            }),
        }
    }

    /// What the contract's types cannot say: numbers are finite; names are
    /// not empty; text holds no control or bidirectional-override characters
    /// (they would forge or hide text in a CRM's timeline or an admin's
    /// terminal).
    pub fn validate(&self) -> Result<(), String> {
        // `what` is only worded when the check fails (a verdict can hold
        // hundreds of contributions).
        let finite = |what: &dyn Fn() -> String, n: f64| {
            if n.is_finite() {
                Ok(())
            } else {
                Err(format!("{} is {n}, not a finite number", what()))
            }
        };
        let named = |what: &str, s: &str| {
            if s.trim().is_empty() {
                return Err(format!("{what} is empty"));
            }
            clean_text(what, s, false)
        };
        let reason = |what: &str, s: &str| clean_text(what, s, true);
        match self {
            VerdictOut::Score(s) => {
                finite(&|| "score value".into(), s.value)?;
                if let Some(grade) = &s.grade {
                    named("the grade", grade)?;
                }
                for (name, v) in &s.parts {
                    finite(&|| format!("score part `{name}`"), *v)?;
                }
                for c in &s.contributions {
                    finite(&|| format!("contribution `{}` points", c.rule), c.points)?;
                    named("a contribution's rule name", &c.rule)?;
                    reason("a contribution's reason", &c.reason)?;
                }
            }
            VerdictOut::Segmentation(s) => {
                for g in &s.segments {
                    named("a segment name", &g.name)?;
                    reason("a segment's reason", &g.reason)?;
                }
                if let Some(stage) = &s.lifecycle_stage {
                    named("the lifecycle stage", stage)?;
                }
                if let Some(why) = &s.stage_reason {
                    reason("the stage reason", why)?;
                }
            }
            VerdictOut::Routing(r) => {
                match &r.action {
                    RouteAction::Assign {
                        owner,
                        team,
                        rule,
                        reason: why,
                    } => {
                        named("the assigned owner", owner)?;
                        named("the routing rule", rule)?;
                        if let Some(team) = team {
                            named("the team", team)?;
                        }
                        reason("the route's reason", why)?;
                    }
                    RouteAction::Queue { queue, reason: why } => {
                        named("the queue name", queue)?;
                        reason("the route's reason", why)?;
                    }
                    RouteAction::KeepCurrent { reason: why }
                    | RouteAction::Unrouted { reason: why } => reason("the route's reason", why)?,
                }
                for c in &r.candidates {
                    named("a candidate rep", &c.rep)?;
                    reason("a candidate's reason", &c.reason)?;
                }
            }
            VerdictOut::Nurture(n) => {
                let why = match n {
                    NurtureOut::Enroll { track, reason } => {
                        named("the track", track)?;
                        reason
                    }
                    NurtureOut::Stay { reason }
                    | NurtureOut::ExitToSales { reason }
                    | NurtureOut::Recycle { reason }
                    | NurtureOut::Disqualify { reason } => reason,
                };
                reason("the nurture reason", why)?;
            }
        }
        Ok(())
    }
}

/// Refuse control characters (a reason may hold newlines and tabs) and the
/// bidirectional embedding, override and isolate characters.
fn clean_text(what: &str, s: &str, multiline: bool) -> Result<(), String> {
    // Most text is printable ASCII: checked a byte at a time.
    let printable = |b: u8| (b' '..=b'~').contains(&b) || (multiline && (b == b'\n' || b == b'\t'));
    if s.bytes().all(printable) {
        return Ok(());
    }
    let bad = s.chars().find(|&c| {
        let control = c.is_control() && !(multiline && (c == '\n' || c == '\t'));
        control || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    });
    match bad {
        Some(c) => Err(format!(
            "{what} holds the character U+{:04X}: control and bidirectional-override characters are not allowed",
            c as u32
        )),
        None => Ok(()),
    }
}

/// Checks on the verdict as the plugin returned it, before it becomes a
/// record: what the decision records is exactly what later steps receive.
/// `-0` becomes `0`; score-part names must be unique and not empty.
pub fn normalize_verdict(verdict: &mut Verdict) -> Result<(), String> {
    let zero = |n: &mut f64| {
        if *n == 0.0 {
            *n = 0.0;
        }
    };
    if let Verdict::Score(s) = verdict {
        zero(&mut s.value);
        let mut seen = std::collections::HashSet::new();
        for part in &mut s.parts {
            zero(&mut part.value);
            if part.name.trim().is_empty() {
                return Err("a score part's name is empty".into());
            }
            if !seen.insert(part.name.as_str()) {
                return Err(format!("score part `{}` appears more than once", part.name));
            }
        }
        for c in &mut s.contributions {
            zero(&mut c.points);
        }
    }
    Ok(())
}

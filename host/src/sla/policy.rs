//! SLA policies, ready to use: which decisions start a timer, when each
//! checkpoint falls on whose calendar, and which events mean the owner acted.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value as Json;

use super::calendar::{Calendar, parse_date};
use crate::config::{Config, MetConfig};
use crate::decision::{Decision, Feedback, FeedbackVerdict};
use crate::lead::LeadDoc;
use crate::store::{TimerChange, TimerRow};
use crate::verdict::RouteAction;

/// When a checkpoint falls after the assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Working time on the policy's calendar.
    Working(Duration),
    /// Working days on the policy's calendar.
    Days(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Warn,
    Reassign,
    /// Park the lead in this queue (no pipeline runs).
    Escalate(String),
}

#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub name: String,
    pub after: After,
    pub action: Action,
}

#[derive(Debug, Clone)]
enum Whose {
    Owner,
    Named(String),
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pipelines: Vec<String>,
    grades: Vec<String>,
    segments: Vec<String>,
    teams: Vec<String>,
    whose: Whose,
    met: MetConfig,
    pub checkpoints: Vec<Checkpoint>,
}

/// Every `[sla.NAME]`, with the calendars they count on.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    pub by_name: BTreeMap<String, Policy>,
    calendars: BTreeMap<String, Calendar>,
    /// Each rep's own calendar (their team's or theirs, in their zone, with
    /// their days off), when they have one.
    reps: BTreeMap<String, Calendar>,
}

/// `5 minutes`, `4 working hours`, `1 working day`, `30m`, `2h`, `3d`.
pub fn parse_after(text: &str) -> Result<After, String> {
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| !w.eq_ignore_ascii_case("working") && !w.eq_ignore_ascii_case("business"))
        .collect();
    let (number, unit) = match words.as_slice() {
        [n, unit] => (*n, *unit),
        [joined] => {
            let split = joined
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(joined.len());
            joined.split_at(split)
        }
        _ => ("", ""),
    };
    let bad = || {
        format!(
            "`{text}`: a time after the assignment is N minutes, N working hours or N working days"
        )
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    match unit.to_ascii_lowercase().as_str() {
        "m" | "min" | "mins" | "minute" | "minutes" => {
            Ok(After::Working(Duration::from_secs(n * 60)))
        }
        "h" | "hour" | "hours" => Ok(After::Working(Duration::from_secs(n * 3600))),
        "d" | "day" | "days" => Ok(After::Days(u32::try_from(n).map_err(|_| bad())?)),
        _ => Err(bad()),
    }
}

/// `YYYY-MM-DD` or `YYYY-MM-DD..YYYY-MM-DD`, inclusive.
fn parse_days_off(text: &str) -> Result<Vec<jiff::civil::Date>, String> {
    let (a, b) = text.split_once("..").unwrap_or((text, text));
    let (a, b) = (parse_date(a)?, parse_date(b)?);
    if b < a || (b - a).get_days() > 366 {
        return Err(format!("`{text}`: a range runs forward, at most a year"));
    }
    let mut days = Vec::new();
    let mut d = a;
    while d <= b {
        days.push(d);
        d = d.tomorrow().map_err(|e| e.to_string())?;
    }
    Ok(days)
}

impl Policies {
    /// From the config; every error names the table it is in.
    pub fn from_config(config: &Config) -> Result<Policies, String> {
        let mut calendars = BTreeMap::new();
        for (name, c) in &config.calendars {
            let mut week: [Vec<String>; 7] = Default::default();
            for (i, day) in crate::config::WEEK_DAYS.iter().enumerate() {
                week[i] = match c.hours.get(*day) {
                    Some(blocks) => blocks.clone(),
                    None if i < 5 => c.weekdays.clone(),
                    None => Vec::new(),
                };
            }
            if let Some(day) = c
                .hours
                .keys()
                .find(|d| !crate::config::WEEK_DAYS.contains(&d.as_str()))
            {
                return Err(format!(
                    "calendars.{name}.hours.{day}: the days are mon, tue, wed, thu, fri, sat, sun"
                ));
            }
            let calendar = Calendar::new(&c.time_zone, week, &c.holidays)
                .map_err(|e| format!("calendars.{name}: {e}"))?;
            calendars.insert(name.clone(), calendar);
        }
        let named = |at: &str, name: &str| {
            calendars
                .get(name)
                .cloned()
                .ok_or_else(|| format!("{at}: no [calendars.{name}]"))
        };
        let mut reps = BTreeMap::new();
        for (rep, c) in &config.directory.reps {
            let team = config
                .directory
                .teams
                .iter()
                .find(|(_, t)| t.reps.iter().any(|r| r.get_ref() == rep))
                .and_then(|(team, t)| Some((team, t.calendar.as_ref()?)));
            let base = match (&c.calendar, team) {
                (Some(name), _) => Some(named(&format!("directory.reps.{rep}.calendar"), name)?),
                (None, Some((team, name))) => {
                    Some(named(&format!("directory.teams.{team}.calendar"), name)?)
                }
                (None, None) => None,
            };
            let Some(mut calendar) = base else {
                if c.time_zone.is_some() || !c.out_of_office.is_empty() {
                    return Err(format!(
                        "directory.reps.{rep}: time_zone and out_of_office need a calendar \
                         (the rep's or their team's)"
                    ));
                }
                continue;
            };
            if let Some(zone) = &c.time_zone {
                calendar = calendar
                    .in_zone(zone)
                    .map_err(|e| format!("directory.reps.{rep}.time_zone: {e}"))?;
            }
            let mut off = Vec::new();
            for text in &c.out_of_office {
                off.extend(
                    parse_days_off(text)
                        .map_err(|e| format!("directory.reps.{rep}.out_of_office: {e}"))?,
                );
            }
            reps.insert(rep.clone(), calendar.with_closed(off));
        }
        let mut by_name = BTreeMap::new();
        for (name, c) in &config.sla {
            let whose = match c.calendar.as_str() {
                "owner" => Whose::Owner,
                "always" => Whose::Named(String::new()),
                other => {
                    named(&format!("sla.{name}.calendar"), other)?;
                    Whose::Named(other.to_string())
                }
            };
            if c.checkpoints.is_empty() {
                return Err(format!(
                    "sla.{name}.checkpoints: name at least one (after = \"1 working day\", action = \"reassign\")"
                ));
            }
            let mut checkpoints = Vec::new();
            for (i, p) in c.checkpoints.iter().enumerate() {
                let at = format!("sla.{name}.checkpoints[{i}]");
                let after = parse_after(&p.after).map_err(|e| format!("{at}.after: {e}"))?;
                let action = match (p.action.as_str(), &p.queue) {
                    ("warn", None) => Action::Warn,
                    ("reassign", None) => Action::Reassign,
                    ("escalate", Some(queue)) if !queue.trim().is_empty() => {
                        Action::Escalate(queue.clone())
                    }
                    ("escalate", _) => {
                        return Err(format!(
                            "{at}: `escalate` parks the lead in a queue: name it (queue = \"triage\")"
                        ));
                    }
                    ("warn" | "reassign", Some(_)) => {
                        return Err(format!(
                            "{at}.queue: only an `escalate` checkpoint takes one"
                        ));
                    }
                    (other, _) => {
                        return Err(format!(
                            "{at}.action = \"{other}\": one of warn, reassign, escalate"
                        ));
                    }
                };
                checkpoints.push(Checkpoint {
                    name: p.name.clone().unwrap_or_else(|| p.action.clone()),
                    after,
                    action,
                });
            }
            for (pipeline, what) in c.pipelines.iter().map(|p| (p, "pipelines")) {
                if !config.pipelines.contains_key(pipeline) {
                    return Err(format!("sla.{name}.{what}: no [pipelines.{pipeline}]"));
                }
            }
            for team in &c.teams {
                if !config.directory.teams.contains_key(team) {
                    return Err(format!("sla.{name}.teams: no [directory.teams.{team}]"));
                }
            }
            by_name.insert(
                name.clone(),
                Policy {
                    name: name.clone(),
                    pipelines: c.pipelines.clone(),
                    grades: c.grades.clone(),
                    segments: c.segments.clone(),
                    teams: c.teams.clone(),
                    whose,
                    met: c.met.clone(),
                    checkpoints,
                },
            );
        }
        Ok(Policies {
            by_name,
            calendars,
            reps,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// The calendar `policy` counts on for `owner`.
    pub fn calendar(&self, policy: &Policy, owner: &str) -> Calendar {
        match &policy.whose {
            Whose::Owner => self.reps.get(owner).cloned(),
            Whose::Named(name) => self.calendars.get(name).cloned(),
        }
        .unwrap_or_else(Calendar::always)
    }

    /// When each checkpoint of `policy` falls for a lead assigned to `owner`
    /// at `start_ms` (ms since the epoch); None when the calendar has no
    /// opening hours for it.
    pub fn dues(&self, policy: &Policy, owner: &str, start_ms: i64) -> Option<Vec<i64>> {
        let calendar = self.calendar(policy, owner);
        let start = Timestamp::from_millisecond(start_ms).ok()?;
        policy
            .checkpoints
            .iter()
            .map(|c| {
                let at = match c.after {
                    After::Working(d) => calendar.add(start, d)?,
                    After::Days(n) => calendar.add_days(start, n)?,
                };
                Some(at.as_millisecond())
            })
            .collect()
    }

    /// The timers a recorded decision starts: one per matching policy when
    /// its route assigned an owner (replacing the lead's pending timer of
    /// that policy: an owner change restarts it).
    pub fn started(&self, decision: &Decision, decided_ms: i64) -> Vec<TimerChange> {
        let Some(route) = &decision.route else {
            return Vec::new();
        };
        let RouteAction::Assign { owner, team, .. } = &route.action else {
            return Vec::new();
        };
        self.by_name
            .values()
            .filter(|p| p.pipelines.is_empty() || p.pipelines.contains(&decision.pipeline))
            .filter(|p| {
                p.grades.is_empty()
                    || decision
                        .score
                        .as_ref()
                        .and_then(|s| s.grade.as_ref())
                        .is_some_and(|g| p.grades.contains(g))
            })
            .filter(|p| {
                p.segments.is_empty()
                    || decision
                        .segments
                        .iter()
                        .any(|s| p.segments.contains(&s.name))
            })
            .filter(|p| p.teams.is_empty() || team.as_ref().is_some_and(|t| p.teams.contains(t)))
            .filter_map(|p| {
                let dues = self.dues(p, owner, decided_ms)?;
                Some(TimerChange::Start {
                    policy: p.name.clone(),
                    owner: owner.clone(),
                    started_at: decided_ms,
                    dues,
                })
            })
            .collect()
    }

    /// Fill in each `Met`'s working time from the start of the lead's
    /// `pending` timer of its policy, on that timer's calendar.
    pub fn count_working_time(&self, changes: &mut [TimerChange], pending: &[TimerRow]) {
        for change in changes {
            let TimerChange::Met {
                policy,
                at,
                business_ms,
                ..
            } = change
            else {
                continue;
            };
            let (Some(p), Some(timer)) = (
                self.by_name.get(policy.as_str()),
                pending
                    .iter()
                    .find(|t| &t.policy == policy && t.state == "pending"),
            ) else {
                continue;
            };
            let (Ok(start), Ok(end)) = (
                Timestamp::from_millisecond(timer.started_at),
                Timestamp::from_millisecond(*at),
            ) else {
                continue;
            };
            let worked = self.calendar(p, &timer.owner).between(start, end);
            *business_ms = i64::try_from(worked.as_millis()).ok();
        }
    }

    /// The timers sales' answer ends: an acceptance is the owner acting (each
    /// policy's pending timer is met), a rejection cancels them (the
    /// reassignment it makes starts its own).
    pub fn answered(&self, feedback: &Feedback, at_ms: i64) -> Vec<TimerChange> {
        let by = feedback
            .by
            .as_deref()
            .map(|b| format!(" by {b}"))
            .unwrap_or_default();
        match feedback.verdict {
            FeedbackVerdict::Accepted => self
                .by_name
                .keys()
                .map(|policy| TimerChange::Met {
                    policy: policy.clone(),
                    how: format!("accepted{by}"),
                    at: at_ms,
                    business_ms: None,
                    after: None,
                })
                .collect(),
            FeedbackVerdict::Rejected => vec![TimerChange::CancelAll {
                why: format!(
                    "rejected{by}: {}",
                    feedback.reason.as_deref().unwrap_or("no reason given")
                ),
                at: at_ms,
            }],
        }
    }

    /// The timers an event ends: met when it shows the owner acted (what
    /// `met` lists), cancelled when the lead was deleted.
    pub fn ended(&self, event: &LeadDoc, deleted: bool, at_ms: i64) -> Vec<TimerChange> {
        if deleted {
            return vec![TimerChange::CancelAll {
                why: "the lead was deleted in the CRM".into(),
                at: at_ms,
            }];
        }
        self.by_name
            .values()
            .filter_map(|p| {
                let (how, after) = acted(&p.met, event)?;
                Some(TimerChange::Met {
                    policy: p.name.clone(),
                    how,
                    at: at_ms,
                    business_ms: None,
                    after,
                })
            })
            .collect()
    }
}

/// What in `event` says the owner acted, if anything (with the activity's
/// time when an activity says it).
fn acted(met: &MetConfig, event: &LeadDoc) -> Option<(String, Option<i64>)> {
    let text = |v: &Json| match v {
        Json::String(s) => Some(s.trim().to_string()),
        Json::Null => None,
        other => Some(other.to_string()),
    };
    for (property, values) in &met.values {
        if let Some(v) = event.fields.get(property).and_then(text) {
            if values.iter().any(|x| x == &v) {
                return Some((format!("{property} = {v}"), None));
            }
        }
    }
    for property in &met.set {
        if let Some(v) = event
            .fields
            .get(property)
            .and_then(text)
            .filter(|v| !v.is_empty())
        {
            return Some((format!("{property} set ({v})"), None));
        }
    }
    // The newest: an older one may predate the assignment.
    event
        .activities
        .iter()
        .filter(|a| met.activities.contains(&a.kind))
        .max_by_key(|a| a.at.millis())
        .map(|a| (format!("a {} was logged", a.kind), Some(a.at.millis())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_after_the_assignment_read_as_people_write_them() {
        assert_eq!(
            parse_after("5 minutes"),
            Ok(After::Working(Duration::from_secs(300)))
        );
        assert_eq!(
            parse_after("4 working hours"),
            Ok(After::Working(Duration::from_secs(4 * 3600)))
        );
        assert_eq!(parse_after("1 working day"), Ok(After::Days(1)));
        assert_eq!(parse_after("3 business days"), Ok(After::Days(3)));
        assert_eq!(
            parse_after("30m"),
            Ok(After::Working(Duration::from_secs(1800)))
        );
        assert!(parse_after("soon").unwrap_err().contains("N working days"));
        assert!(parse_after("5 fortnights").is_err());
        assert_eq!(parse_days_off("2026-12-30..2027-01-02").unwrap().len(), 4);
        assert!(parse_days_off("2027-01-02..2026-12-30").is_err());
    }
}

//! Sales' answer to an assignment: accept the lead, or reject it with a reason
//! code from `[feedback]` — through `POST …/accept` / `…/reject`, or a CRM
//! lead status that means the same (`[sources.NAME.lead_status]`). A rejection
//! runs the pipeline again with trigger `rejected(REASON)`; both end the
//! lead's SLA timers and write the status back (see [`crate::service`]).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::capabilities::StateStore;
use crate::config::{Config, LeadStatusConfig};
use crate::decision::{Feedback, FeedbackVerdict};
use crate::lead::LeadDoc;

/// Where the daily rejection counts are kept, apart from the plugin
/// installs' namespaces (named by bare TOML keys, which cannot hold `@`).
const COUNTS: &str = "@feedback";

/// `[feedback]`, checked: the reason codes and each team's daily limit.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    reasons: Vec<String>,
    /// Team → (rejections per day, the zone its day is counted in).
    limits: BTreeMap<String, (u32, jiff::tz::TimeZone)>,
    /// Rep → their team, for the limits.
    team_of: BTreeMap<String, String>,
}

/// One rejection counted against a team's day (given back when the rejection
/// is not recorded after all).
#[derive(Debug, Clone)]
pub struct Taken {
    key: String,
}

impl Rules {
    pub fn from_config(config: &Config) -> Result<Rules, String> {
        let f = &config.feedback;
        for (i, code) in f.reasons.iter().enumerate() {
            if code.trim().is_empty() || code.trim() != code {
                return Err(format!(
                    "feedback.reasons: `{code}` is not a reason code (no spaces around it, not empty)"
                ));
            }
            if f.reasons[..i].contains(code) {
                return Err(format!("feedback.reasons: `{code}` is listed twice"));
            }
        }
        let mut limits = BTreeMap::new();
        for (team, &limit) in &f.daily_limits {
            let Some(t) = config.directory.teams.get(team) else {
                return Err(format!(
                    "feedback.daily_limits: no team `{team}` in [directory.teams]"
                ));
            };
            let zone = match t.calendar.as_ref().and_then(|c| config.calendars.get(c)) {
                Some(c) => jiff::tz::TimeZone::get(&c.time_zone).map_err(|e| {
                    format!("feedback.daily_limits.{team}: its calendar's time zone: {e}")
                })?,
                None => jiff::tz::TimeZone::UTC,
            };
            limits.insert(team.clone(), (limit, zone));
        }
        let mut team_of = BTreeMap::new();
        for (team, t) in &config.directory.teams {
            for rep in &t.reps {
                team_of
                    .entry(rep.get_ref().clone())
                    .or_insert_with(|| team.clone());
            }
        }
        for (name, source) in &config.sources {
            let Some(status) = &source.lead_status else {
                continue;
            };
            let at = format!("sources.{name}.lead_status");
            if status.property.trim().is_empty() {
                return Err(format!(
                    "{at}.property: name the CRM property (`hs_lead_status`)"
                ));
            }
            if status.accepted.is_empty() && status.rejected.is_empty() {
                return Err(format!(
                    "{at}: list the values meaning `accepted`, `rejected`, or both"
                ));
            }
            for (value, code) in &status.rejected {
                if !f.reasons.contains(code) {
                    return Err(format!(
                        "{at}.rejected.{value}: reason `{code}` is not in feedback.reasons ({})",
                        listed(&f.reasons)
                    ));
                }
            }
        }
        Ok(Rules {
            reasons: f.reasons.clone(),
            limits,
            team_of,
        })
    }

    /// `code` is a configured reason, or what to send instead.
    pub fn check_reason(&self, code: &str) -> Result<(), String> {
        if self.reasons.is_empty() {
            return Err(
                "rejecting is not set up: list the reason codes in [feedback] reasons".into(),
            );
        }
        if self.reasons.iter().any(|r| r == code) {
            return Ok(());
        }
        Err(format!(
            "reason `{code}` is not one of feedback.reasons: {}",
            listed(&self.reasons)
        ))
    }

    /// Count one rejection by `rep` against their team's limit for today
    /// (`now_ms`): `Ok(None)` when the team has no limit, `Err` with why
    /// when the day's rejections are used up.
    pub fn take(
        &self,
        state: &dyn StateStore,
        rep: Option<&str>,
        now_ms: i64,
    ) -> Result<Option<Taken>, Refused> {
        let Some(team) = rep.and_then(|r| self.team_of.get(r)) else {
            return Ok(None);
        };
        let Some((limit, zone)) = self.limits.get(team) else {
            return Ok(None);
        };
        let day = jiff::Timestamp::from_millisecond(now_ms)
            .map(|t| t.to_zoned(zone.clone()).date().to_string())
            .unwrap_or_default();
        let key = format!("rejections:{team}:{day}");
        let count = state
            .increment(COUNTS, &key, 1)
            .map_err(|e| Refused::Store(e.to_string()))?;
        if count > i64::from(*limit) {
            let _ = state.increment(COUNTS, &key, -1);
            return Err(Refused::Limit(format!(
                "team `{team}` has made its {limit} rejections for {day} \
                 (feedback.daily_limits.{team}); ask a manager, or try tomorrow"
            )));
        }
        Ok(Some(Taken { key }))
    }

    /// A rejection counted by [`take`](Rules::take) was not recorded.
    pub fn give_back(&self, state: &dyn StateStore, taken: Option<Taken>) {
        if let Some(t) = taken {
            let _ = state.increment(COUNTS, &t.key, -1);
        }
    }
}

/// Why a rejection was refused before it ran.
#[derive(Debug)]
pub enum Refused {
    /// The team's rejections for the day are used up.
    Limit(String),
    Store(String),
}

fn listed(reasons: &[String]) -> String {
    if reasons.is_empty() {
        "none listed".into()
    } else {
        reasons.join(", ")
    }
}

/// A source's lead status: what its values mean, and what to write.
#[derive(Debug, Clone)]
pub struct LeadStatus {
    config: LeadStatusConfig,
    /// A CRM owner id → the rep it is (the directory's `owner_ids`).
    reps: BTreeMap<String, String>,
}

impl LeadStatus {
    /// `config` with the directory of `whole`, to name who answered.
    pub fn new(config: &LeadStatusConfig, whole: &Config) -> LeadStatus {
        let reps = whole
            .directory
            .reps
            .iter()
            .flat_map(|(rep, c)| {
                c.owner_ids
                    .values()
                    .map(move |id| (id.clone(), rep.clone()))
            })
            .collect();
        LeadStatus {
            config: config.clone(),
            reps,
        }
    }

    /// The answer an update means, when it `changed` the status property to
    /// a mapped value (`lead` is the merged lead).
    pub fn read(&self, lead: &LeadDoc, changed: &[String]) -> Option<Feedback> {
        let property = &self.config.property;
        if !changed.iter().any(|c| c == property) {
            return None;
        }
        let value = match lead.fields.get(property)? {
            Json::String(s) => s.trim().to_string(),
            _ => return None,
        };
        let verdict = if self.config.accepted.contains(&value) {
            FeedbackVerdict::Accepted
        } else if self.config.rejected.contains_key(&value) {
            FeedbackVerdict::Rejected
        } else {
            return None;
        };
        Some(Feedback {
            verdict,
            reason: self.config.rejected.get(&value).cloned(),
            note: Some(format!("{property} = {value}")),
            // The CRM names its owner; the directory, the rep.
            by: lead
                .owner
                .as_ref()
                .map(|o| self.reps.get(o).unwrap_or(o).clone()),
            via: "crm".into(),
        })
    }

    /// Whether `written` (what leadwire last wrote to the record, as the
    /// vendor's payload) holds the status `lead` has now: the CRM echoing
    /// leadwire's own write, not a new answer.
    pub fn echoes(&self, written: &Json, lead: &LeadDoc) -> bool {
        let property = &self.config.property;
        let Some(now) = lead.fields.get(property).and_then(Json::as_str) else {
            return false;
        };
        [
            written.pointer(&format!("/properties/{property}")),
            written.get(property),
            written.get("custom_fields").and_then(|c| c.get(property)),
        ]
        .into_iter()
        .flatten()
        .any(|v| v.as_str() == Some(now.trim()))
    }

    /// The property and value to write for an answer given through the API
    /// (one read from the CRM is there already).
    pub fn value_for(&self, feedback: &Feedback) -> Option<(String, String)> {
        if feedback.via == "crm" {
            return None;
        }
        let value = match feedback.verdict {
            FeedbackVerdict::Accepted => self.config.accepted.first().cloned(),
            FeedbackVerdict::Rejected => self
                .config
                .rejected
                .iter()
                .find(|(_, code)| Some(*code) == feedback.reason.as_ref())
                .map(|(value, _)| value.clone())
                .or_else(|| self.config.rejected_otherwise.clone()),
        }?;
        Some((self.config.property.clone(), value))
    }
}

/// What the pipeline reads as the rejection's reason: the code, and the
/// rep's words after it.
pub fn reason_text(feedback: &Feedback) -> String {
    let code = feedback.reason.as_deref().unwrap_or("rejected");
    match feedback.note.as_deref().filter(|n| !n.trim().is_empty()) {
        Some(note) => format!("{code}: {note}"),
        None => code.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::MemoryState;

    fn config(text: &str) -> Config {
        Config::parse(text, std::path::Path::new("leadwire.toml")).unwrap()
    }

    #[test]
    fn a_team_limit_counts_the_days_rejections_in_its_zone() {
        let c = config(
            "[feedback]\nreasons = [\"not-a-fit\", \"bad-timing\"]\ndaily_limits = { emea = 2 }\n\
             [calendars.berlin]\ntime_zone = \"Europe/Berlin\"\nweekdays = [\"09:00-17:00\"]\n\
             [directory.teams.emea]\nreps = [\"ana\"]\ncalendar = \"berlin\"\n\
             [directory.reps.ana]\n",
        );
        let rules = Rules::from_config(&c).unwrap();
        assert!(rules.check_reason("bad-timing").is_ok());
        assert!(
            rules
                .check_reason("too small")
                .unwrap_err()
                .contains("not-a-fit, bad-timing")
        );
        let state = MemoryState::default();
        // 2026-12-01 23:30 UTC is already the 2nd in Berlin (UTC+1).
        let late = 1_796_167_800_000;
        assert!(rules.take(&state, Some("ana"), late).unwrap().is_some());
        let second = rules.take(&state, Some("ana"), late).unwrap();
        let refused = rules.take(&state, Some("ana"), late).unwrap_err();
        assert!(
            matches!(&refused, Refused::Limit(m) if m.contains("2026-12-02")),
            "{refused:?}"
        );
        rules.give_back(&state, second);
        assert!(rules.take(&state, Some("ana"), late).is_ok());
        // Someone outside a limited team, or nobody, is not counted.
        assert!(rules.take(&state, Some("zed"), late).unwrap().is_none());
        assert!(rules.take(&state, None, late).unwrap().is_none());
    }

    #[test]
    fn statuses_must_map_to_listed_reasons() {
        let bad = config(
            "[feedback]\nreasons = [\"not-a-fit\"]\n\
             [plugins.s]\npath = \"s.wasm\"\n[pipelines.p]\nsteps = [{ plugin = \"s\" }]\n\
             [sources.hs]\nadapter = \"generic\"\npipeline = \"p\"\nsecret_env = \"S\"\n\
             lead_status = { property = \"hs_lead_status\", rejected = { BAD_TIMING = \"bad-timing\" } }\n",
        );
        let e = Rules::from_config(&bad).unwrap_err();
        assert!(
            e.contains("sources.hs.lead_status.rejected.BAD_TIMING"),
            "{e}"
        );
        assert!(e.contains("not-a-fit"), "{e}");
    }

    #[test]
    fn a_status_change_reads_as_an_answer_and_an_api_answer_writes_its_status() {
        let directory = config("[directory.reps.ana]\nowner_ids = { crm = \"101\" }\n");
        let status = LeadStatus::new(
            &LeadStatusConfig {
                property: "hs_lead_status".into(),
                accepted: vec!["IN_PROGRESS".into()],
                rejected: [("UNQUALIFIED".to_string(), "not-a-fit".to_string())].into(),
                rejected_otherwise: Some("UNQUALIFIED".into()),
            },
            &directory,
        );
        let mut lead = LeadDoc {
            id: "1".into(),
            owner: Some("101".into()),
            ..LeadDoc::default()
        };
        lead.fields
            .insert("hs_lead_status".into(), Json::from("UNQUALIFIED"));
        let changed = vec!["hs_lead_status".to_string()];
        let read = status.read(&lead, &changed).unwrap();
        assert_eq!(read.verdict, FeedbackVerdict::Rejected);
        assert_eq!(read.reason.as_deref(), Some("not-a-fit"));
        assert_eq!(
            read.by.as_deref(),
            Some("ana"),
            "the rep, not HubSpot's owner id"
        );
        // Unchanged (a full record repeating the status) is no new answer.
        assert!(status.read(&lead, &[]).is_none());
        // Read from the CRM: nothing to write back.
        assert!(status.value_for(&read).is_none());
        // What leadwire wrote, echoed back by the CRM, is no new answer.
        let ours = serde_json::json!({"properties": {"hs_lead_status": "UNQUALIFIED"}});
        assert!(status.echoes(&ours, &lead));
        let theirs = serde_json::json!({"properties": {"hs_lead_status": "IN_PROGRESS"}});
        assert!(!status.echoes(&theirs, &lead));
        let api = Feedback {
            via: "api".into(),
            reason: Some("bad-timing".into()),
            ..read
        };
        assert_eq!(
            status.value_for(&api),
            Some(("hs_lead_status".into(), "UNQUALIFIED".into()))
        );
        assert_eq!(
            reason_text(&api),
            "bad-timing: hs_lead_status = UNQUALIFIED"
        );
    }
}

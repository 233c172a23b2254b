//! `[calendars.NAME]` (business hours) and `[sla.NAME]` (follow-up policies):
//! what "on time" means for a lead once a pipeline assigned it.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A business calendar: weekly hours in a time zone, and holidays.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarConfig {
    /// An IANA name (`Europe/Berlin`).
    pub time_zone: String,
    /// Blocks per weekday (`mon` … `sun`), each `HH:MM-HH:MM`; an end at or
    /// before the start runs past midnight (`22:00-06:00`). A day not listed
    /// is closed.
    #[serde(default)]
    pub hours: BTreeMap<String, Vec<String>>,
    /// The same blocks Monday to Friday (days in `hours` override it).
    #[serde(default)]
    pub weekdays: Vec<String>,
    /// Closed dates, `YYYY-MM-DD` in the calendar's zone.
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// The day keys of `hours`, Monday first.
pub const WEEK_DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A follow-up policy: a timer that starts when a pipeline assigns a lead.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaConfig {
    /// Only leads decided by these pipelines (default: any).
    #[serde(default)]
    pub pipelines: Vec<String>,
    /// Only leads with one of these grades (default: any).
    #[serde(default)]
    pub grades: Vec<String>,
    /// Only leads in one of these segments (default: any).
    #[serde(default)]
    pub segments: Vec<String>,
    /// Only leads assigned to reps of these teams (default: any).
    #[serde(default)]
    pub teams: Vec<String>,
    /// Whose hours the timer counts: `owner` (the rep's calendar, else their
    /// team's, else always), `always` (24/7), or a `[calendars.NAME]`.
    #[serde(default = "owner")]
    pub calendar: String,
    /// What counts as the owner having acted.
    #[serde(default)]
    pub met: MetConfig,
    /// In order of time: what happens when.
    pub checkpoints: Vec<CheckpointConfig>,
}

fn owner() -> String {
    "owner".into()
}

/// The owner acted when an event shows one of these.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetConfig {
    /// A CRM property taking one of these values (`hs_lead_status =
    /// ["IN_PROGRESS", "CONNECTED"]`, `Status = ["Working - Contacted"]`).
    #[serde(default)]
    pub values: BTreeMap<String, Vec<String>>,
    /// A CRM property being set at all (`hs_first_outreach_date`).
    #[serde(default)]
    pub set: Vec<String>,
    /// An activity of one of these kinds after the assignment (`call`,
    /// `email`, `meeting`).
    #[serde(default)]
    pub activities: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointConfig {
    /// Its name in the timeline and alerts (default: the action).
    pub name: Option<String>,
    /// From the assignment, on the policy's calendar: `5 minutes`,
    /// `4 working hours`, `1 working day`, `3 working days`.
    pub after: String,
    /// `warn` (recorded, alerts fire), `reassign` (the pipeline runs again
    /// with trigger `sla-breached(NAME)`; the router picks someone else) or
    /// `escalate` (the lead is parked in `queue`; no pipeline runs).
    pub action: String,
    /// `escalate`: the queue the lead waits in.
    pub queue: Option<String>,
}

/// An alert rule: which moment tells people, through which chat connection.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// `assigned`, `score-crossed`, `sla-warning`, `sla-breach`,
    /// `going-cold` or `dead-letter`.
    pub on: String,
    /// A `slack` or `teams` connection.
    pub connection: String,
    /// `sla-warning`, `sla-breach`: only this `[sla.NAME]`.
    pub sla: Option<String>,
    /// `assigned`: only leads with these grades.
    #[serde(default)]
    pub grades: Vec<String>,
    /// `score-crossed`: the score that, reached from below (compared with
    /// the lead's previous decision), tells.
    pub threshold: Option<f64>,
    /// `going-cold`: days without a new activity that make a lead cold.
    pub days: Option<u32>,
    /// `going-cold`: only leads in these lifecycle stages (default: any).
    #[serde(default)]
    pub stages: Vec<String>,
}

/// `[feedback]`: how sales accept or reject leads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackConfig {
    /// The reason codes a rejection may give (`POST …/reject` refuses
    /// others); empty: rejecting is not set up.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Rejections a team's reps may make per day (in the team's calendar's
    /// zone, else UTC); more are refused. Teams not listed have no limit.
    #[serde(default)]
    pub daily_limits: BTreeMap<String, u32>,
}

/// `[sources.NAME.lead_status]`: the CRM property whose values mean sales
/// accepted or rejected a lead, read from events and written on
/// `accept` / `reject`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadStatusConfig {
    /// `hs_lead_status` (HubSpot), `Status` (Salesforce).
    pub property: String,
    /// Values meaning accepted; the first is written on `accept`.
    #[serde(default)]
    pub accepted: Vec<String>,
    /// Value → reason code: the CRM values meaning rejected
    /// (`UNQUALIFIED = "not-a-fit"`); a rejection writes the first value
    /// mapped to its reason.
    #[serde(default)]
    pub rejected: BTreeMap<String, String>,
    /// Written on a rejection whose reason no value maps to.
    pub rejected_otherwise: Option<String>,
}

//! The decision record: what a pipeline decided about a lead and why, step by
//! step. The same JSON in `leadwire run`, the HTTP API and the store.

use serde::{Deserialize, Serialize};

use crate::error::CallError;
use crate::verdict::{CallMetrics, Role};
pub use crate::verdict::{
    CandidateOut, ContributionOut, NurtureOut, RouteAction, RouteOut, ScoreOut, SegmentOut,
    SegmentsOut, VerdictOut, normalize_verdict,
};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Decision {
    pub id: String,
    pub event_id: String,
    pub lead_id: String,
    pub source: String,
    pub pipeline: String,
    pub trigger: String,
    /// The event's time (RFC 3339): the plugins' "now".
    pub at: String,
    /// When the host decided (RFC 3339).
    pub decided_at: String,
    /// `ok`, or `error` when a fail-closed step failed.
    pub status: DecisionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The fail-closed step failed for a reason that may pass (a timeout, a
    /// host error): not the lead's decision, so the server has the CRM retry.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub transient: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<ScoreOut>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<SegmentOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<RouteOut>,
    /// The owner chosen by routing, if any (`route.owner` for quick reading).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nurture: Option<NurtureOut>,
    /// Sales' answer, when this decision records one (`accept`, `reject`, or
    /// a CRM status that means the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Feedback>,
    /// What was read from the CRM before deciding (`[sources.NAME.read]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<CrmRead>,
    pub steps: Vec<StepRecord>,
}

/// A read of the lead from the CRM before deciding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmRead {
    pub connection: String,
    /// The properties asked for.
    pub properties: Vec<String>,
    /// false: the CRM has no such record (the event decided alone).
    pub found: bool,
    /// When (RFC 3339).
    pub at: String,
}

/// Sales accepted the lead, or sent it back with a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    pub verdict: FeedbackVerdict,
    /// A rejection's reason code (from `feedback.reasons`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the rep wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The rep who answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// `api` (`POST …/accept`, `…/reject`) or `crm` (a lead status).
    pub via: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeedbackVerdict {
    Accepted,
    Rejected,
}

impl Decision {
    /// A decision with nothing decided yet: the steps fill it in.
    pub fn new(
        event_id: &str,
        lead_id: &str,
        source: &str,
        pipeline: &str,
        trigger: &str,
        at_ms: i64,
    ) -> Decision {
        Decision {
            id: uuid::Uuid::now_v7().to_string(),
            event_id: event_id.to_string(),
            lead_id: lead_id.to_string(),
            source: source.to_string(),
            pipeline: pipeline.to_string(),
            trigger: trigger.to_string(),
            at: crate::lead::format_millis(at_ms),
            decided_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            status: DecisionStatus::Ok,
            error: None,
            transient: false,
            score: None,
            segments: Vec::new(),
            lifecycle_stage: None,
            stage_reason: None,
            route: None,
            owner: None,
            nurture: None,
            feedback: None,
            read: None,
            steps: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecisionStatus {
    Ok,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: String,
    pub plugin: String,
    pub sha256: String,
    pub role: Role,
    pub on_error: OnError,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<VerdictOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CallError>,
    #[serde(flatten)]
    pub metrics: CallMetrics,
}

/// What a failed step does to the decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnError {
    /// Skip the step, record its error, go on.
    FailOpen,
    /// The decision is an error; later steps do not run.
    #[default]
    FailClosed,
}

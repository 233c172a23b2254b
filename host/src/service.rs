//! The one owner of "decide an event": claim its dedup key, merge what it says
//! into the lead's snapshot, run the pipeline, and record the decision — or,
//! when it failed for a reason that may pass, release the claim so the CRM's
//! retry decides it again. The webhook handler and the evaluate API both call
//! it; the HTTP side only translates requests and answers.

use std::sync::Arc;

use crate::adapters::LeadEvent;
use crate::alerts::Alerts;
use crate::bindings::types::{Event, Field, Lead, Value};
use crate::crm::Reader;
use crate::decision::{Decision, DecisionStatus, Feedback, FeedbackVerdict};
use crate::feedback::LeadStatus;
use crate::lead::{TriggerDoc, format_millis};
use crate::outbox::WriteBack;
use crate::pipeline::Pipelines;
use crate::sla::policy::Policies;
use crate::store::{Claim, Store, StoreError, TimerChange};

/// The field a reassignment's lead carries: the owners its decisions chose,
/// newest first, `;`-separated (the territory router's
/// `exclude_previous_owners` reads it).
pub const PREVIOUS_OWNERS: &str = "leadwire_previous_owners";

/// How long a claim holds before another replica may take the event over: far
/// longer than a pipeline can run (each step is bounded by its deadline).
pub const CLAIM_LEASE_MS: i64 = 30_000;

/// What the service needs: where decisions are kept and what decides them.
pub struct Service<'a> {
    pub store: &'a Arc<dyn Store>,
    pub pipelines: &'a Pipelines,
    /// Tries of an event whose decision failed for a reason that may pass,
    /// before it is recorded as failed (`server.max_attempts`).
    pub max_attempts: u32,
    /// The SLA policies: which decisions start timers, which events end them.
    pub policies: &'a Policies,
    /// Who is told of assignments and breaches (outbox rows with the decision).
    pub alerts: &'a Alerts,
}

/// Where an event came from and what decides it.
#[derive(Clone, Copy)]
pub struct Route<'a> {
    /// The source: its snapshots, dedup keys and audit trail.
    pub source: &'a str,
    pub pipeline: &'a str,
    /// What decisions write back to the CRM (committed with them).
    pub write: Option<&'a WriteBack>,
    /// What to read from the CRM before deciding.
    pub read: Option<&'a Reader>,
    /// The CRM status meaning sales accepted or rejected the lead.
    pub status: Option<&'a LeadStatus>,
}

/// What merging an event into the lead's snapshot found.
#[derive(Debug, Default)]
struct Seen {
    /// The time of the lead's latest activity.
    engaged: Option<i64>,
    /// The properties the event changed (a whole record's, by the snapshot).
    changed: Option<Vec<String>>,
    /// The read from the CRM, if one was made.
    read: Option<crate::decision::CrmRead>,
}

/// What a decision commits besides what it decides.
#[derive(Debug, Default)]
pub struct Extra {
    /// Applied to the lead's timers first (an SLA breach's `Breached`, so the
    /// breach and the reassignment it made happen together or not at all).
    pub timers: Vec<TimerChange>,
    /// Sales' answer this event carries (a rejection through the API).
    pub feedback: Option<Feedback>,
}

/// What became of one event.
pub enum Outcome {
    /// Decided now and recorded (its status may be `error`: a deterministic
    /// failure is the lead's decision).
    Decided(Decision),
    /// A redelivery: the decision recorded the first time, no plugin ran.
    Duplicate(Decision),
    /// It failed for a reason that may pass on every one of `max_attempts`
    /// tries; recorded as failed.
    GaveUp(Decision),
}

impl Outcome {
    pub fn decision(&self) -> &Decision {
        match self {
            Outcome::Decided(d) | Outcome::Duplicate(d) | Outcome::GaveUp(d) => d,
        }
    }

    pub fn into_decision(self) -> Decision {
        match self {
            Outcome::Decided(d) | Outcome::Duplicate(d) | Outcome::GaveUp(d) => d,
        }
    }
}

/// Why an event was not decided. Nothing of it is recorded (its claim is
/// released), so a retry starts afresh.
pub enum Failure {
    /// Another worker holds the event's claim.
    Busy(String),
    /// The pipeline failed for a reason that may pass (the decision that was
    /// not recorded, for its steps' metrics).
    Transient {
        message: String,
        decision: Box<Decision>,
    },
    /// The event's lead cannot be turned into the contract's types.
    BadLead(String),
    /// What the decision needs could not be read from the CRM (a timeout, a
    /// 429, a 5xx): nothing was decided, the CRM should retry.
    Unavailable(String),
    Store(StoreError),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Busy(key) => write!(f, "event `{key}` is being decided by another worker"),
            Failure::Transient { message, .. }
            | Failure::BadLead(message)
            | Failure::Unavailable(message) => f.write_str(message),
            Failure::Store(e) => write!(f, "store unavailable: {e}"),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

impl Service<'_> {
    /// Decide every event of one delivery, in order. Stops at the first that
    /// cannot be decided (those before it are recorded; a redelivery answers
    /// them from the log).
    pub fn decide_all(
        &self,
        route: Route,
        events: Vec<LeadEvent>,
        now_ms: i64,
    ) -> Result<Vec<Outcome>, Failure> {
        events
            .into_iter()
            .map(|event| self.decide(route, &event, now_ms))
            .collect()
    }

    /// Decide one event exactly once across replicas: claim → merge → run →
    /// record.
    pub fn decide(&self, route: Route, event: &LeadEvent, now_ms: i64) -> Result<Outcome, Failure> {
        self.decide_with(route, event, now_ms, Extra::default())
    }

    /// [`decide`](Service::decide), committing `extra` with the decision.
    pub fn decide_with(
        &self,
        route: Route,
        event: &LeadEvent,
        now_ms: i64,
        extra: Extra,
    ) -> Result<Outcome, Failure> {
        let Extra {
            mut timers,
            feedback,
        } = extra;
        let key = &event.dedup_key;
        if let Some(decided) = self.claim(route, key, now_ms)? {
            return Ok(decided);
        }
        let mut seen = Seen::default();
        let decided = self
            .run(route, event, feedback, &mut seen)
            .and_then(|decision| self.settle(route, key, decision));
        let outcome = match decided {
            Ok(outcome) => outcome,
            Err(failure) => {
                let _ = self.store.release(route.source, key);
                return Err(failure);
            }
        };
        let mut writes = match (&outcome, route.write) {
            (Outcome::Decided(decision), Some(write)) => write.writes(decision),
            _ => Vec::new(),
        };
        if let Outcome::Decided(decision) = &outcome {
            let breached = match &event.kind {
                crate::adapters::EventKind::SlaBreached(policy) => Some(policy.as_str()),
                _ => None,
            };
            let previous = match self.alerts.wants_previous_score() {
                true => match self.previous_score(route, decision) {
                    Ok(previous) => previous,
                    Err(e) => {
                        let _ = self.store.release(route.source, key);
                        return Err(Failure::Store(e));
                    }
                },
                false => None,
            };
            writes.extend(
                self.alerts
                    .decided(route.source, decision, breached, previous),
            );
        }
        if !self.policies.is_empty() || self.alerts.watches_cold() {
            // Timers count on the store's clock, the one they fire by.
            let now = match self.store.clock_ms() {
                Ok(now) => now,
                Err(e) => {
                    let _ = self.store.release(route.source, key);
                    return Err(Failure::Store(e));
                }
            };
            let deleted = event.kind == crate::adapters::EventKind::Deleted;
            // A whole record repeats values set long ago: only what this
            // event changed shows the owner acting now.
            let acted = match &seen.changed {
                Some(changed) if event.complete => {
                    let mut lead = event.lead.clone();
                    lead.fields.retain(|name, _| changed.contains(name));
                    std::borrow::Cow::Owned(lead)
                }
                _ => std::borrow::Cow::Borrowed(&event.lead),
            };
            timers.extend(self.policies.ended(&acted, deleted, now));
            if let Outcome::Decided(decision) = &outcome {
                if let Some(f) = &decision.feedback {
                    timers.extend(self.policies.answered(f, now));
                }
            }
            if let Err(e) = self.count_working_time(route, &event.lead.id, &mut timers) {
                let _ = self.store.release(route.source, key);
                return Err(Failure::Store(e));
            }
            if let Outcome::Decided(decision) = &outcome {
                timers.extend(self.policies.started(decision, now));
                timers.extend(self.alerts.watches(decision, seen.engaged, now));
            }
        }
        self.commit(route, key, outcome, &writes, &timers)
    }

    /// Record an acceptance (`POST …/accept`): no plugin runs; the lead's SLA
    /// timers are met and the accepted status is written back, with it.
    /// `key` makes a retried request a no-op.
    pub fn accept(
        &self,
        route: Route,
        lead_id: &str,
        key: &str,
        feedback: Feedback,
        now_ms: i64,
    ) -> Result<Outcome, Failure> {
        if let Some(decided) = self.claim(route, key, now_ms)? {
            return Ok(decided);
        }
        let mut decision = Decision::new(
            key,
            lead_id,
            route.source,
            route.pipeline,
            "accepted",
            now_ms,
        );
        decision.feedback = Some(feedback);
        let writes = route.write.map(|w| w.writes(&decision)).unwrap_or_default();
        let mut timers = Vec::new();
        if let (false, Some(f)) = (self.policies.is_empty(), &decision.feedback) {
            let answered = self.store.clock_ms().and_then(|now| {
                timers = self.policies.answered(f, now);
                self.count_working_time(route, lead_id, &mut timers)
            });
            match answered {
                Ok(()) => {}
                Err(e) => {
                    let _ = self.store.release(route.source, key);
                    return Err(Failure::Store(e));
                }
            }
        }
        self.commit(route, key, Outcome::Decided(decision), &writes, &timers)
    }

    /// The answer an update's CRM status means, unless it is the CRM echoing
    /// the status leadwire wrote (an accept or reject through the API).
    fn status_answer(
        &self,
        route: Route,
        lead: &crate::lead::LeadDoc,
        event: &crate::lead::EventDoc,
    ) -> Result<Option<Feedback>, StoreError> {
        let Some(status) = route
            .status
            .filter(|_| event.trigger == TriggerDoc::Updated)
        else {
            return Ok(None);
        };
        let Some(answer) = status.read(lead, &event.changed) else {
            return Ok(None);
        };
        if let Some(write) = route.write {
            if let Some(written) = self.store.written(write.connection(), &lead.id)? {
                if status.echoes(&written, lead) {
                    return Ok(None);
                }
            }
        }
        Ok(Some(answer))
    }

    /// The owners the lead's decisions chose, newest first, each once.
    fn previous_owners(&self, route: Route, lead_id: &str) -> Result<Vec<String>, StoreError> {
        let mut owners: Vec<String> = Vec::new();
        for d in self.store.decisions(route.source, lead_id, 100)? {
            if let Some(owner) = d.owner.filter(|o| !owners.contains(o)) {
                owners.push(owner);
            }
        }
        Ok(owners)
    }

    /// The lead's score by its latest recorded decision with one (before
    /// `decision`, which is not recorded yet).
    fn previous_score(&self, route: Route, decision: &Decision) -> Result<Option<f64>, StoreError> {
        let before = self.store.decisions(route.source, &decision.lead_id, 20)?;
        Ok(before
            .iter()
            .find(|d| d.id != decision.id && d.score.is_some())
            .and_then(|d| d.score.as_ref().map(|s| s.value)))
    }

    /// When `timers` meet some: their working time to first touch, from the
    /// lead's pending timers (read only then).
    fn count_working_time(
        &self,
        route: Route,
        lead_id: &str,
        timers: &mut [TimerChange],
    ) -> Result<(), StoreError> {
        if timers.iter().any(|t| matches!(t, TimerChange::Met { .. })) {
            let pending = self.store.timers(route.source, lead_id)?;
            self.policies.count_working_time(timers, &pending);
        }
        Ok(())
    }

    /// Park the lead of an SLA escalation (`event`, trigger `sla-breached`)
    /// in `queue`: no plugin runs; the decision (route `queue`), its
    /// write-back and breach alerts commit with `extra`'s timer changes.
    pub fn park(
        &self,
        route: Route,
        event: &LeadEvent,
        queue: &str,
        now_ms: i64,
        extra: Extra,
    ) -> Result<Outcome, Failure> {
        let key = &event.dedup_key;
        if let Some(decided) = self.claim(route, key, now_ms)? {
            return Ok(decided);
        }
        let policy = match &event.kind {
            crate::adapters::EventKind::SlaBreached(policy) => policy.as_str(),
            _ => "",
        };
        let mut decision = Decision::new(
            key,
            &event.lead.id,
            route.source,
            route.pipeline,
            event.kind.name(),
            now_ms,
        );
        let owner = event.lead.owner.as_deref().unwrap_or("the owner");
        decision.route = Some(crate::decision::RouteOut {
            action: crate::decision::RouteAction::Queue {
                queue: queue.to_string(),
                reason: format!("SLA {policy}: {owner} did not act in time; escalated"),
            },
            candidates: Vec::new(),
        });
        let mut writes = route.write.map(|w| w.writes(&decision)).unwrap_or_default();
        writes.extend(
            self.alerts
                .decided(route.source, &decision, Some(policy), None),
        );
        self.commit(
            route,
            key,
            Outcome::Decided(decision),
            &writes,
            &extra.timers,
        )
    }

    /// Claim `key` for this worker: `None` when it is ours to decide, the
    /// recorded decision when it was decided before, `Busy` when another
    /// worker holds it.
    fn claim(&self, route: Route, key: &str, now_ms: i64) -> Result<Option<Outcome>, Failure> {
        match self
            .store
            .claim(route.source, key, now_ms, CLAIM_LEASE_MS)?
        {
            Claim::Done(decision) => Ok(Some(Outcome::Duplicate(*decision))),
            Claim::InProgress => Err(Failure::Busy(key.to_string())),
            Claim::New => Ok(None),
        }
    }

    /// Record the outcome with its writes and timer changes, in one
    /// transaction; on failure release the claim for a retry.
    fn commit(
        &self,
        route: Route,
        key: &str,
        outcome: Outcome,
        writes: &[crate::store::OutboxWrite],
        timers: &[TimerChange],
    ) -> Result<Outcome, Failure> {
        match self
            .store
            .record_with_effects(route.source, key, outcome.decision(), writes, timers)
        {
            Ok(()) => Ok(outcome),
            // Another worker decided it after our claim lapsed: theirs stands.
            Err(StoreError::AlreadyDecided { existing, .. }) => Ok(Outcome::Duplicate(*existing)),
            Err(e) => {
                let _ = self.store.release(route.source, key);
                Err(Failure::Store(e))
            }
        }
    }

    /// A lead given whole (`POST /v1/pipelines/{name}/evaluate`): no snapshot,
    /// no claim (each call is its own event); recorded under `route.source`.
    pub fn evaluate(&self, route: Route, lead: Lead, event: Event) -> Result<Outcome, Failure> {
        let decision = self
            .pipelines
            .run(route.pipeline, lead, event)
            .map_err(|e| Failure::BadLead(e.to_string()))?;
        if let Some(message) = transient(&decision) {
            return Err(Failure::Transient {
                message: format!("{message}; this may pass, so nothing was recorded: retry"),
                decision: Box::new(decision),
            });
        }
        let key = format!("evaluate:{}", decision.id);
        self.store.record(route.source, &key, &decision)?;
        Ok(Outcome::Decided(decision))
    }

    /// Merge the event into the lead's snapshot and run the pipeline on the
    /// merged lead. A deletion decides nothing but is kept in the audit trail.
    /// An update setting the source's lead status to a rejected value runs as
    /// a rejection; the answer, given or read, is kept on the decision.
    /// `seen` is told what the merge found.
    fn run(
        &self,
        route: Route,
        event: &LeadEvent,
        feedback: Option<Feedback>,
        seen: &mut Seen,
    ) -> Result<Decision, Failure> {
        let mut merged = self.store.merge_lead(route.source, &event.lead, event.at)?;
        if let Some(reader) = route
            .read
            .filter(|r| event.kind != crate::adapters::EventKind::Deleted && r.wanted(&merged.lead))
        {
            let read = reader.read(&event.lead.id).map_err(|e| {
                Failure::Unavailable(format!(
                    "lead `{}`: reading it from the CRM before deciding failed: {e}; nothing was \
                     decided: retry",
                    event.lead.id
                ))
            })?;
            let (connection, properties) = reader.describe();
            seen.read = Some(crate::decision::CrmRead {
                connection: connection.to_string(),
                properties: properties.to_vec(),
                found: read.is_some(),
                at: format_millis(chrono::Utc::now().timestamp_millis()),
            });
            if let Some(record) = read {
                // The CRM's values now: newer than any event's.
                let now = chrono::Utc::now().timestamp_millis().max(event.at);
                let changed = std::mem::take(&mut merged.changed);
                merged = self.store.merge_lead(route.source, &record, now)?;
                merged.changed = changed;
            }
        }
        seen.engaged = merged.lead.activities.iter().map(|a| a.at.millis()).max();
        let mut lead = merged
            .lead
            .to_lead(route.source)
            .map_err(|e| Failure::BadLead(format!("lead `{}`: {e}", event.lead.id)))?;
        let Some(mut event_doc) = event.event_doc() else {
            return Ok(Decision::new(
                &event.dedup_key,
                &lead.id,
                route.source,
                route.pipeline,
                "deleted",
                event.at,
            ));
        };
        if event_doc.changed.is_empty() && event_doc.trigger == TriggerDoc::Updated {
            // A full record that does not say what changed: the snapshot knows.
            event_doc.changed = merged.changed;
        }
        seen.changed = Some(event_doc.changed.clone());
        let feedback = match feedback {
            Some(given) => Some(given),
            None => self.status_answer(route, &merged.lead, &event_doc)?,
        };
        if let Some(f) = feedback
            .as_ref()
            .filter(|f| f.verdict == FeedbackVerdict::Rejected)
        {
            event_doc.trigger = TriggerDoc::Rejected;
            event_doc.reason = Some(crate::feedback::reason_text(f));
        }
        if matches!(
            event_doc.trigger,
            TriggerDoc::Rejected | TriggerDoc::SlaBreached
        ) {
            // The router may pass over more than the current owner.
            let owners = self.previous_owners(route, &lead.id)?;
            lead.fields.push(Field {
                name: PREVIOUS_OWNERS.into(),
                value: Value::Text(owners.join(";")),
            });
        }
        let wit_event = event_doc
            .to_event(&lead.id, event.at)
            .map_err(|e| Failure::BadLead(e.to_string()))?;
        let mut decision = self
            .pipelines
            .run(route.pipeline, lead, wit_event)
            .map_err(|e| Failure::BadLead(e.to_string()))?;
        decision.feedback = feedback;
        decision.read = seen.read.take();
        Ok(decision)
    }

    /// A decision that failed for a reason that may pass is not the lead's
    /// decision: count the attempt and fail (the caller releases the claim), up
    /// to `max_attempts`; then it is recorded as failed.
    fn settle(&self, route: Route, key: &str, mut decision: Decision) -> Result<Outcome, Failure> {
        let Some(reason) = transient(&decision) else {
            return Ok(Outcome::Decided(decision));
        };
        let attempt = self.store.count_attempt(route.source, key)?;
        let max = self.max_attempts.max(1);
        if attempt < max {
            return Err(Failure::Transient {
                message: format!(
                    "event `{key}`: {reason}; this may pass, so nothing was recorded: retry \
                     (attempt {attempt} of {max})"
                ),
                decision: Box::new(decision),
            });
        }
        decision.error = Some(format!(
            "{reason} (gave up after {attempt} attempts; server.max_attempts = {max})"
        ));
        Ok(Outcome::GaveUp(decision))
    }
}

/// The reason, when `decision` failed for a reason that may pass.
fn transient(decision: &Decision) -> Option<String> {
    (decision.status == DecisionStatus::Error && decision.transient).then(|| {
        decision
            .error
            .clone()
            .unwrap_or_else(|| "the pipeline failed".into())
    })
}

/// Refuse events dated further ahead than `skew_seconds` of `now_ms`: a
/// far-future time would freeze the snapshot's fields against every later real
/// change (`server.max_future_skew_seconds`).
pub fn check_times(events: &[LeadEvent], now_ms: i64, skew_seconds: u64) -> Result<(), String> {
    let latest = latest_allowed(now_ms, skew_seconds);
    match events.iter().find(|e| e.at > latest) {
        None => Ok(()),
        Some(e) => Err(format!(
            "event `{}` is dated {}, more than {skew_seconds} seconds ahead of this server's \
             clock ({}): refused (server.max_future_skew_seconds)",
            e.dedup_key,
            format_millis(e.at),
            format_millis(now_ms)
        )),
    }
}

/// The latest event time accepted at `now_ms`.
pub fn latest_allowed(now_ms: i64, skew_seconds: u64) -> i64 {
    let skew_ms = i64::try_from(skew_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
    now_ms.saturating_add(skew_ms)
}

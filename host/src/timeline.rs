//! What became of a lead: its decisions, the writes they made to the CRM,
//! its SLA timers and their checkpoints, in time order, each with why.

use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::decision::{Decision, Feedback, FeedbackVerdict};
use crate::lead::format_millis;
use crate::store::{Store, StoreResult};

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// RFC 3339.
    pub at: String,
    /// `read`, `decided`, `accepted`, `rejected`, `write`, `alert`, `sla-started`,
    /// `sla-warned`, `sla-met`, `sla-breached`, `sla-cancelled`.
    pub kind: &'static str,
    /// One line, for people.
    pub text: String,
    pub detail: Json,
    #[serde(skip)]
    at_ms: i64,
}

fn entry(at_ms: i64, kind: &'static str, text: String, detail: Json) -> Entry {
    Entry {
        at: format_millis(at_ms),
        kind,
        text,
        detail,
        at_ms,
    }
}

fn decided(d: &Decision) -> Entry {
    let at = chrono::DateTime::parse_from_rfc3339(&d.decided_at)
        .map(|t| t.timestamp_millis())
        .unwrap_or_default();
    let (kind, mut text) = match &d.feedback {
        Some(f) => answered(f),
        None => ("decided", String::new()),
    };
    if !d.steps.is_empty() || d.feedback.is_none() {
        if !text.is_empty() {
            text.push_str("; then ");
        }
        text.push_str(&format!("{} decided ({})", d.pipeline, d.trigger));
    }
    if let Some(score) = &d.score {
        text.push_str(&format!("; score {}", score.value));
        if let Some(grade) = &score.grade {
            text.push_str(&format!(" ({grade})"));
        }
    }
    if let Some(owner) = &d.owner {
        text.push_str(&format!("; owner {owner}"));
    }
    if let Some(route) = &d.route {
        use crate::verdict::RouteAction;
        let reason = match &route.action {
            RouteAction::Assign { reason, .. }
            | RouteAction::Queue { reason, .. }
            | RouteAction::KeepCurrent { reason }
            | RouteAction::Unrouted { reason } => reason,
        };
        text.push_str(&format!("; {reason}"));
    }
    if let Some(error) = &d.error {
        text.push_str(&format!("; failed: {error}"));
    }
    entry(
        at,
        kind,
        text,
        json!({"decision_id": d.id, "status": d.status, "feedback": d.feedback}),
    )
}

/// `accepted by ana`, `rejected by ana: bad-timing (call back in May)`.
fn answered(f: &Feedback) -> (&'static str, String) {
    let (kind, verb) = match f.verdict {
        FeedbackVerdict::Accepted => ("accepted", "accepted"),
        FeedbackVerdict::Rejected => ("rejected", "rejected"),
    };
    let mut text = verb.to_string();
    if let Some(by) = &f.by {
        text.push_str(&format!(" by {by}"));
    }
    if f.via == "crm" {
        text.push_str(" in the CRM");
    }
    if let Some(reason) = &f.reason {
        text.push_str(&format!(": {reason}"));
    }
    if let Some(note) = &f.note {
        text.push_str(&format!(" ({note})"));
    }
    (kind, text)
}

/// Lead `lead_id` of namespace `source`, oldest first (at most `limit` of
/// each kind of record).
pub fn of(store: &dyn Store, source: &str, lead_id: &str, limit: usize) -> StoreResult<Vec<Entry>> {
    let decisions = store.decisions(source, lead_id, limit)?;
    // Reads first: one happens just before the decision it informs.
    let mut entries: Vec<Entry> = Vec::new();
    for (d, read) in decisions.iter().filter_map(|d| Some((d, d.read.as_ref()?))) {
        let at = chrono::DateTime::parse_from_rfc3339(&read.at)
            .map(|t| t.timestamp_millis())
            .unwrap_or_default();
        let text = match read.found {
            true => format!(
                "read from {}: {}",
                read.connection,
                read.properties.join(", ")
            ),
            false => format!("read from {}: no such record", read.connection),
        };
        entries.push(entry(at, "read", text, json!({"decision_id": d.id})));
    }
    entries.extend(decisions.iter().map(decided));
    let ids: std::collections::BTreeSet<&str> = decisions.iter().map(|d| d.id.as_str()).collect();
    for row in store.outbox_for(lead_id, limit)? {
        if !ids.contains(row.decision_id.as_str()) {
            continue;
        }
        let text = match row.status.as_str() {
            "done" => format!("written to {}: {}", row.connection, row.payload),
            "dead" => format!(
                "not written to {} (a dead letter): {}",
                row.connection,
                row.last_error.as_deref().unwrap_or_default()
            ),
            _ => format!(
                "waiting to be written to {} ({} attempts{})",
                row.connection,
                row.attempts,
                row.last_error
                    .as_deref()
                    .map(|e| format!("; last: {e}"))
                    .unwrap_or_default()
            ),
        };
        entries.push(entry(
            row.created_at,
            "write",
            text,
            json!({"outbox_id": row.id, "decision_id": row.decision_id, "status": row.status}),
        ));
    }
    let prefix = crate::alerts::record_prefix(source, lead_id);
    for row in store.outbox_with_prefix(&prefix, limit)? {
        let rule = row.record[prefix.len()..]
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        let p = &row.payload;
        let said = p["subject"]
            .as_str()
            .or_else(|| p["text"].as_str())
            .or_else(|| {
                p.pointer("/attachments/0/content/body/0/text")
                    .and_then(Json::as_str)
            })
            .unwrap_or_default();
        let how = match row.status.as_str() {
            "done" => "sent".to_string(),
            "dead" => format!(
                "not sent: {}",
                row.last_error.as_deref().unwrap_or_default()
            ),
            _ => "waiting to be sent".to_string(),
        };
        entries.push(entry(
            row.created_at,
            "alert",
            format!("alert {rule} to {}: {said} ({how})", row.connection),
            json!({"outbox_id": row.id, "rule": rule, "connection": row.connection, "status": row.status}),
        ));
    }
    for t in store.timers(source, lead_id)? {
        let detail = json!({"timer_id": t.id, "policy": t.policy, "owner": t.owner, "decision_id": t.decision_id,
            "dues": t.dues.iter().map(|d| format_millis(*d)).collect::<Vec<_>>()});
        entries.push(entry(
            t.started_at,
            "sla-started",
            format!(
                "SLA {} started{}; next due {}",
                t.policy,
                if t.owner.is_empty() {
                    String::new()
                } else {
                    format!(" for {}", t.owner)
                },
                t.dues
                    .first()
                    .map(|d| format_millis(*d))
                    .unwrap_or_default()
            ),
            detail.clone(),
        ));
        let breached_last = t.state == "breached";
        for (i, at) in t.fired.iter().enumerate() {
            if breached_last && i + 1 == t.fired.len() {
                break;
            }
            entries.push(entry(
                *at,
                "sla-warned",
                format!(
                    "SLA {} checkpoint {} passed without {} acting",
                    t.policy,
                    i + 1,
                    t.owner
                ),
                detail.clone(),
            ));
        }
        if let Some(ended) = t.ended_at {
            let kind = match t.state.as_str() {
                "met" => "sla-met",
                "breached" => "sla-breached",
                _ => "sla-cancelled",
            };
            let note = t.note.clone().unwrap_or_default();
            let text = match kind {
                "sla-met" => format!(
                    "SLA {} met by {} after {}: {note}",
                    t.policy,
                    t.owner,
                    duration_text(ended - t.started_at)
                ),
                "sla-breached" => format!("SLA {} breached: {note}", t.policy),
                _ => format!("SLA {} cancelled: {note}", t.policy),
            };
            entries.push(entry(ended, kind, text, detail));
        }
    }
    entries.sort_by_key(|e| e.at_ms);
    Ok(entries)
}

/// `12 min`, `3 h 5 min`, `2 d 4 h`.
fn duration_text(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    let (d, h, m) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

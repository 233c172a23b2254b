//! The outbox's rows: writes to a CRM, committed in the same transaction as
//! the decision they carry, delivered at least once by the outbox workers.

use serde::Serialize;
use serde_json::Value as Json;

/// A write to enqueue with a decision: absolute values for one CRM record, so
/// delivering it twice is harmless.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxWrite {
    /// The `[connections.NAME]` it goes through.
    pub connection: String,
    /// The CRM record it writes (the lead's id in that CRM).
    pub record: String,
    /// What to write, in the connection's terms (`{"properties": {…}}` for
    /// HubSpot). Values already written (enqueued before, not dead) are left
    /// out; a later write to the same record merges over a pending one.
    pub payload: Json,
}

/// A row as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub connection: String,
    pub record: String,
    pub decision_id: String,
    pub payload: Json,
    /// `pending`, `inflight` (leased to a worker), `done` or `dead`.
    pub status: String,
    /// Delivery attempts so far (a claim counts one).
    pub attempts: u32,
    /// ms since the epoch.
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
}

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Settled {
    Done,
    /// Try again at this time (ms since the epoch).
    Retry {
        at_ms: i64,
        error: String,
    },
    /// The CRM asked to wait (a rate limit): try again then; the attempt does
    /// not count towards the connection's `max_attempts`.
    Later {
        at_ms: i64,
        error: String,
    },
    /// Never again: the CRM's answer is kept for whoever fixes it.
    Dead {
        error: String,
    },
}

impl Settled {
    /// The row's new (status, next attempt time, error), and whether the
    /// attempt is given back (a rate limit's wait does not count).
    pub fn columns(&self, now_ms: i64) -> (&'static str, i64, Option<&str>, bool) {
        match self {
            Settled::Done => ("done", now_ms, None, false),
            Settled::Retry { at_ms, error } => ("pending", *at_ms, Some(error), false),
            Settled::Later { at_ms, error } => ("pending", *at_ms, Some(error), true),
            Settled::Dead { error } => ("dead", now_ms, Some(error), false),
        }
    }
}

/// Rows of one connection in one status, and the oldest one's age.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxCount {
    pub connection: String,
    pub status: String,
    pub rows: u64,
    /// When the oldest was enqueued (ms since the epoch).
    pub oldest_created_at: i64,
}

pub const STATUSES: [&str; 4] = ["pending", "inflight", "done", "dead"];

/// `new` over `old`, objects merged key by key (latest wins).
pub fn merged(old: &Json, new: &Json) -> Json {
    match (old, new) {
        (Json::Object(a), Json::Object(b)) => {
            let mut out = a.clone();
            for (k, v) in b {
                let value = match out.get(k) {
                    Some(prev) => merged(prev, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), value);
            }
            Json::Object(out)
        }
        _ => new.clone(),
    }
}

/// What of `new` is not already in `old`: objects compared key by key, a
/// value left out when `old` has the same; None when nothing is left.
pub fn unwritten(new: &Json, old: &Json) -> Option<Json> {
    match (new, old) {
        (Json::Object(n), Json::Object(o)) => {
            let left: serde_json::Map<String, Json> = n
                .iter()
                .filter_map(|(k, v)| {
                    let rest = match o.get(k) {
                        Some(prev) => unwritten(v, prev)?,
                        None => v.clone(),
                    };
                    Some((k.clone(), rest))
                })
                .collect();
            (!left.is_empty()).then_some(Json::Object(left))
        }
        _ if new == old => None,
        _ => Some(new.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_what_changed_is_written() {
        let written = json!({"properties": {"hubspot_owner_id": "1", "score": "10"}});
        assert_eq!(
            unwritten(
                &json!({"properties": {"hubspot_owner_id": "1", "score": "20"}}),
                &written
            ),
            Some(json!({"properties": {"score": "20"}}))
        );
        assert_eq!(
            unwritten(&json!({"properties": {"hubspot_owner_id": "1"}}), &written),
            None
        );
        // Nothing written yet: everything.
        let all = json!({"owner_id": 7, "custom_fields": {"abc": 3}});
        assert_eq!(unwritten(&all, &Json::Null), Some(all.clone()));
        assert_eq!(
            unwritten(&json!({"owner_id": 7, "custom_fields": {"abc": 4}}), &all),
            Some(json!({"custom_fields": {"abc": 4}}))
        );
    }

    #[test]
    fn a_later_write_merges_over_a_pending_one() {
        let old = json!({"properties": {"hubspot_owner_id": "1", "score": "10"}});
        let new = json!({"properties": {"score": "20"}});
        assert_eq!(
            merged(&old, &new),
            json!({"properties": {"hubspot_owner_id": "1", "score": "20"}})
        );
    }
}

/// The first text after every text starting with `prefix` (which ends with
/// `:`): `alert:s:1:` → `alert:s:1;`.
pub fn prefix_end(prefix: &str) -> String {
    match prefix.strip_suffix(':') {
        Some(head) => format!("{head};"),
        None => format!("{prefix}\u{10FFFF}"),
    }
}

//! Lead snapshots: merging what one event says about a lead into the last known
//! lead, in event-time order. Both backends store the result of [`merge`]; this
//! is the one place the rules live.
//!
//! CRMs often send only what changed (a HubSpot property change names one
//! property; Pipedrive v2 sends the changed fields), and they retry and reorder
//! deliveries. So every value keeps the event time it was set at
//! ([`FieldTimes`]), and a value from an older event never replaces one set by
//! a newer event.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::lead::{ActivityDoc, LeadDoc, Timestamp};

/// A snapshot keeps at most this many activities, the newest.
pub const MAX_ACTIVITIES: usize = 1000;

/// When each value of a snapshot was set: the time (ms since the epoch) of the
/// event that set it. Stored beside the snapshot as JSON:
/// `{"attributes": {"email": 1700000000000}, "fields": {"jobtitle": 1700000000000}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldTimes {
    /// `source`, `email`, `company_domain`, `owner`, `lifecycle_stage`, `created_at`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, i64>,
    /// The lead's `fields`, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, i64>,
}

/// The result of merging one event into a lead's snapshot.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The merged lead: what the pipeline runs on.
    pub lead: LeadDoc,
    /// The attributes and fields whose value this event changed (in the order
    /// attributes, then fields by name). A new lead: all it carries.
    pub changed: Vec<String>,
    /// The attributes and fields this event carried that a newer event had
    /// already set: not applied. An event all of whose values are stale is a
    /// late, superseded delivery.
    pub stale: Vec<String>,
}

/// Applies one event's values under the event-time rule.
struct Merger<'a> {
    times: &'a mut BTreeMap<String, i64>,
    at: i64,
    changed: &'a mut Vec<String>,
    stale: &'a mut Vec<String>,
}

impl Merger<'_> {
    /// Whether a value for `name` from this event may replace the current one;
    /// records the time if so, and `stale` if not.
    fn wins(&mut self, name: &str) -> bool {
        match self.times.get(name) {
            Some(&set_at) if set_at > self.at => {
                self.stale.push(name.to_string());
                false
            }
            _ => {
                self.times.insert(name.to_string(), self.at);
                true
            }
        }
    }

    fn attribute<T: Clone>(
        &mut self,
        name: &str,
        current: &mut Option<T>,
        update: &Option<T>,
        same: impl Fn(&T, &T) -> bool,
    ) {
        let Some(new) = update else { return };
        if !self.wins(name) {
            return;
        }
        if !current.as_ref().is_some_and(|old| same(old, new)) {
            self.changed.push(name.to_string());
        }
        *current = Some(new.clone());
    }

    fn field(&mut self, fields: &mut BTreeMap<String, Json>, name: &str, new: &Json) {
        if !self.wins(name) {
            return;
        }
        if fields.get(name) != Some(new) {
            self.changed.push(name.to_string());
        }
        fields.insert(name.to_string(), new.clone());
    }
}

/// Merge `update`, what an event at `at_ms` says about a lead, into the
/// previous snapshot and its times (`None`: the first event about this lead).
/// Returns the merged lead with what changed, and the new times to store.
pub fn merge(
    previous: Option<(LeadDoc, FieldTimes)>,
    update: &LeadDoc,
    at_ms: i64,
) -> (Merged, FieldTimes) {
    let (mut lead, mut times) = previous.unwrap_or_default();
    lead.id = update.id.clone();
    let mut changed = Vec::new();
    let mut stale = Vec::new();

    let mut m = Merger {
        times: &mut times.attributes,
        at: at_ms,
        changed: &mut changed,
        stale: &mut stale,
    };
    m.attribute("source", &mut lead.source, &update.source, PartialEq::eq);
    m.attribute("email", &mut lead.email, &update.email, PartialEq::eq);
    m.attribute(
        "company_domain",
        &mut lead.company_domain,
        &update.company_domain,
        PartialEq::eq,
    );
    m.attribute("owner", &mut lead.owner, &update.owner, PartialEq::eq);
    m.attribute(
        "lifecycle_stage",
        &mut lead.lifecycle_stage,
        &update.lifecycle_stage,
        PartialEq::eq,
    );
    m.attribute(
        "created_at",
        &mut lead.created_at,
        &update.created_at,
        |a: &Timestamp, b: &Timestamp| a.millis() == b.millis(),
    );

    let mut m = Merger {
        times: &mut times.fields,
        at: at_ms,
        changed: &mut changed,
        stale: &mut stale,
    };
    for (name, value) in &update.fields {
        m.field(&mut lead.fields, name, value);
    }

    lead.activities = union(std::mem::take(&mut lead.activities), &update.activities);
    (
        Merged {
            lead,
            changed,
            stale,
        },
        times,
    )
}

/// The activities of both, each (kind, time, properties) once, oldest first,
/// at most [`MAX_ACTIVITIES`] (the newest).
fn union(mut known: Vec<ActivityDoc>, new: &[ActivityDoc]) -> Vec<ActivityDoc> {
    let key = |a: &ActivityDoc| {
        // BTreeMap serializes in key order: equal properties give equal text.
        let properties = serde_json::to_string(&a.properties).unwrap_or_default();
        (a.kind.clone(), a.at.millis(), properties)
    };
    let mut seen: HashSet<_> = HashSet::new();
    known.retain(|a| seen.insert(key(a)));
    for a in new {
        if seen.insert(key(a)) {
            known.push(a.clone());
        }
    }
    known.sort_by_key(|a| a.at.millis()); // stable: equal times keep arrival order
    if known.len() > MAX_ACTIVITIES {
        known.drain(..known.len() - MAX_ACTIVITIES);
    }
    known
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(json: &str) -> LeadDoc {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn an_older_event_does_not_overwrite_a_newer_value_but_fills_gaps() {
        let (first, times) = merge(
            None,
            &lead(r#"{"id":"1","owner":"ana","fields":{"a":1}}"#),
            2_000,
        );
        assert_eq!(first.changed, ["owner", "a"]);
        let (late, _) = merge(
            Some((first.lead, times)),
            &lead(r#"{"id":"1","owner":"bob","email":"x@y.z","fields":{"a":0,"b":2}}"#),
            1_000,
        );
        assert_eq!(late.lead.owner.as_deref(), Some("ana"));
        assert_eq!(late.lead.email.as_deref(), Some("x@y.z"));
        assert_eq!(late.lead.fields["a"], 1);
        assert_eq!(late.lead.fields["b"], 2);
        assert_eq!(late.changed, ["email", "b"]);
        assert_eq!(late.stale, ["owner", "a"]);
    }

    #[test]
    fn activities_are_unioned_once_in_time_order() {
        let a = r#"{"kind":"page_view","at":"2026-11-20T10:00:00Z","properties":{"url":"/p"}}"#;
        let b = r#"{"kind":"page_view","at":1700000000000}"#;
        let (one, times) = merge(
            None,
            &lead(&format!(r#"{{"id":"1","activities":[{a}]}}"#)),
            1,
        );
        let same_instant = r#"{"kind":"page_view","at":1795168800000,"properties":{"url":"/p"}}"#;
        let (two, _) = merge(
            Some((one.lead, times)),
            &lead(&format!(
                r#"{{"id":"1","activities":[{same_instant},{b}]}}"#
            )),
            2,
        );
        let at: Vec<i64> = two.lead.activities.iter().map(|a| a.at.millis()).collect();
        assert_eq!(at, [1_700_000_000_000, 1_795_168_800_000]);
    }
}

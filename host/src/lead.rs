//! The canonical lead JSON (what `leadwire run` reads, and what every CRM adapter
//! produces) and its conversion into the contract's types.
//!
//! ```json
//! { "id": "1001", "email": "ana@acme.com", "company_domain": "acme.com",
//!   "fields": { "jobtitle": "VP Sales", "numberofemployees": 250, "tags": ["a", "b"],
//!               "closedate": { "time": "2026-12-01T00:00:00Z" }, "phone": null },
//!   "activities": [ { "kind": "page_view", "at": "2026-11-20T10:00:00Z",
//!                     "properties": { "url": "/pricing" } } ] }
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::bindings::types::{Activity, Event, Field, Lead, Trigger, Value};

#[derive(Debug, thiserror::Error)]
#[error("{at}: {message}")]
pub struct LeadError {
    pub at: String,
    pub message: String,
}

fn lead_error(at: impl Into<String>, message: impl Into<String>) -> LeadError {
    LeadError {
        at: at.into(),
        message: message.into(),
    }
}

/// A lead as JSON.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadDoc {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub fields: BTreeMap<String, Json>,
    #[serde(default)]
    pub activities: Vec<ActivityDoc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityDoc {
    pub kind: String,
    pub at: Timestamp,
    #[serde(default)]
    pub properties: BTreeMap<String, Json>,
}

/// A time: milliseconds since the epoch, or text [`parse_time`] reads
/// (`"2026-11-20T10:00:00Z"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Timestamp {
    Millis(i64),
    #[serde(with = "rfc3339")]
    Rfc3339(DateTime<Utc>),
}

mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_time(&s)
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{s}` is not a time (RFC 3339, YYYY-MM-DD HH:MM:SS, a date, or a number since the epoch)"
                ))
            })
    }
}

impl Timestamp {
    pub fn millis(self) -> i64 {
        match self {
            Timestamp::Millis(ms) => ms,
            Timestamp::Rfc3339(t) => t.timestamp_millis(),
        }
    }
}

/// A time as milliseconds since the epoch, from every form leadwire reads (the
/// adapters, CSV cells, the lead JSON): RFC 3339; `YYYY-MM-DD HH:MM:SS[.f]` or
/// `YYYY-MM-DDTHH:MM:SS[.f]` without an offset (UTC, as Pipedrive v1 writes it);
/// a date (midnight UTC); .NET `/Date(ms)/`; or digits since the epoch (see
/// [`epoch_to_ms`]).
pub fn parse_time(text: &str) -> Option<i64> {
    use chrono::{NaiveDate, NaiveDateTime};
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    // .NET DataContract (Dataverse): `/Date(1715680931000)/`, maybe with an
    // offset (`+0000`) that does not change the instant, which is UTC ms.
    if let Some(inner) = s.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/")) {
        let digits = inner
            .char_indices()
            .skip(1)
            .find(|(_, c)| *c == '+' || *c == '-')
            .map_or(inner, |(i, _)| &inner[..i]);
        return digits.parse::<i64>().ok();
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis());
    }
    if s.bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return s.parse::<f64>().ok().and_then(epoch_to_ms);
    }
    None
}

/// A number since the epoch in seconds, milliseconds, microseconds or
/// nanoseconds (told apart by size), as milliseconds.
pub fn epoch_to_ms(n: f64) -> Option<i64> {
    if !n.is_finite() {
        return None;
    }
    let a = n.abs();
    let ms = if a < 1e11 {
        n * 1000.0
    } else if a < 1e14 {
        n
    } else if a < 1e17 {
        n / 1000.0
    } else {
        n / 1_000_000.0
    };
    if ms.abs() > 8.64e15 {
        return None;
    }
    Some(ms.round() as i64)
}

/// Milliseconds since the epoch as RFC 3339, for records people read.
pub fn format_millis(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_else(|| ms.to_string())
}

/// The event that triggers a pipeline run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventDoc {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub trigger: TriggerDoc,
    /// The SLA's name (`sla-breached`) or the rejection reason (`rejected`).
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub changed: Vec<String>,
    #[serde(default)]
    pub at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TriggerDoc {
    #[default]
    Created,
    Updated,
    SlaBreached,
    Rejected,
}

/// A lead file: a bare lead, or `{ "lead": ..., "event": ... }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum LeadFile {
    WithEvent {
        lead: LeadDoc,
        event: Option<EventDoc>,
    },
    Bare(LeadDoc),
}

impl LeadFile {
    pub fn parse(text: &str) -> Result<(LeadDoc, Option<EventDoc>), LeadError> {
        let json: Json =
            serde_json::from_str(text).map_err(|e| lead_error("lead JSON", e.to_string()))?;
        LeadFile::from_json(json)
    }

    /// [`LeadFile::parse`] on JSON already parsed (a webhook body's item).
    pub fn from_json(json: Json) -> Result<(LeadDoc, Option<EventDoc>), LeadError> {
        // Decide the shape first so the error names the right place.
        if json.get("lead").is_some() {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Envelope {
                lead: LeadDoc,
                event: Option<EventDoc>,
            }
            let env: Envelope = serde_path_to_error::deserialize(json)
                .map_err(|e| lead_error(e.path().to_string(), e.inner().to_string()))?;
            Ok((env.lead, env.event))
        } else {
            let lead: LeadDoc = serde_path_to_error::deserialize(json)
                .map_err(|e| lead_error(e.path().to_string(), e.inner().to_string()))?;
            Ok((lead, None))
        }
    }
}

/// A JSON field value as a typed contract value.
pub fn to_value(at: &str, json: &Json) -> Result<Value, LeadError> {
    value_of(json.clone()).map_err(|m| lead_error(at, m))
}

/// The value, moved (no copies of its text); the error is the message only,
/// so the field's path is built only when something is wrong.
fn value_of(json: Json) -> Result<Value, String> {
    Ok(match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(b),
        Json::Number(n) => Value::Number(
            n.as_f64()
                .ok_or_else(|| format!("{n} is not a finite number"))?,
        ),
        Json::String(s) => Value::Text(s),
        Json::Array(items) => Value::List(
            items
                .into_iter()
                .map(|item| match item {
                    Json::String(s) => Ok(s),
                    Json::Number(n) => Ok(n.to_string()),
                    Json::Bool(b) => Ok(b.to_string()),
                    other => Err(format!(
                        "list items must be text, numbers or booleans, not {other}"
                    )),
                })
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(map) => match (map.len(), map.get("time")) {
            (1, Some(t)) => {
                let ts: Timestamp =
                    serde_json::from_value(t.clone()).map_err(|e| format!("bad time: {e}"))?;
                Value::Time(ts.millis())
            }
            _ => {
                return Err(
                    "an object is not a field value (write a time as {\"time\": \"2026-11-20T10:00:00Z\"})"
                        .into(),
                );
            }
        },
    })
}

/// A contract value as the lead JSON writes it (the inverse of [`value_of`]).
pub fn json_of(value: Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(b),
        Value::Number(n) => serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number),
        Value::Text(s) => Json::String(s),
        Value::List(items) => Json::Array(items.into_iter().map(Json::String).collect()),
        Value::Time(ms) => serde_json::json!({ "time": ms }),
    }
}

fn into_fields(at: &str, map: BTreeMap<String, Json>) -> Result<Vec<Field>, LeadError> {
    map.into_iter()
        .map(|(name, json)| match value_of(json) {
            Ok(value) => Ok(Field { name, value }),
            Err(message) => Err(lead_error(format!("{at}.{name}"), message)),
        })
        .collect()
}

impl LeadDoc {
    /// The lead as the contract's type; `source` fills in a missing source.
    pub fn to_lead(&self, source: &str) -> Result<Lead, LeadError> {
        self.clone().into_lead(source)
    }

    /// [`LeadDoc::to_lead`] without copying the lead's text (bulk runs).
    pub fn into_lead(self, source: &str) -> Result<Lead, LeadError> {
        if self.id.trim().is_empty() {
            return Err(lead_error("id", "a lead needs a non-empty id"));
        }
        let activities = self
            .activities
            .into_iter()
            .enumerate()
            .map(|(i, a)| {
                Ok(Activity {
                    kind: a.kind,
                    at: a.at.millis(),
                    properties: into_fields(&format!("activities[{i}].properties"), a.properties)?,
                })
            })
            .collect::<Result<_, LeadError>>()?;
        Ok(Lead {
            id: self.id,
            source: self.source.unwrap_or_else(|| source.to_string()),
            email: self.email,
            company_domain: self.company_domain,
            owner: self.owner,
            lifecycle_stage: self.lifecycle_stage,
            fields: into_fields("fields", self.fields)?,
            activities,
            created_at: self.created_at.map(Timestamp::millis),
        })
    }
}

impl EventDoc {
    /// The event as the contract's type; `now` is used when the event has no time.
    pub fn to_event(&self, lead_id: &str, now: i64) -> Result<Event, LeadError> {
        let reason = || self.reason.clone().unwrap_or_default();
        let trigger = match self.trigger {
            TriggerDoc::Created => Trigger::Created,
            TriggerDoc::Updated => Trigger::Updated,
            TriggerDoc::SlaBreached => Trigger::SlaBreached(reason()),
            TriggerDoc::Rejected => Trigger::Rejected(reason()),
        };
        let at = self.at.map(Timestamp::millis).unwrap_or(now);
        Ok(Event {
            id: self.id.clone().unwrap_or_else(|| format!("{lead_id}@{at}")),
            trigger,
            changed: self.changed.clone(),
            at,
        })
    }
}

pub fn trigger_name(trigger: &Trigger) -> &'static str {
    match trigger {
        Trigger::Created => "created",
        Trigger::Updated => "updated",
        Trigger::SlaBreached(_) => "sla-breached",
        Trigger::Rejected(_) => "rejected",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_of_is_the_inverse_of_value_of() {
        let values = [
            Value::Null,
            Value::Boolean(false),
            Value::Number(-2.5),
            Value::Text("VP".into()),
            Value::List(vec!["a".into(), "b c".into()]),
            Value::Time(1_793_491_200_000),
        ];
        for value in values {
            let json = json_of(value.clone());
            let back = value_of(json.clone()).map(|v| format!("{v:?}"));
            assert_eq!(back, Ok(format!("{value:?}")), "{json}");
        }
    }

    /// One parser for every input: what the adapters, CSV cells and the lead
    /// JSON read.
    #[test]
    fn every_time_form_reads_the_same_instant() {
        let ms = 1_715_678_153_000;
        for text in [
            "2024-05-14T09:15:53Z",
            "2024-05-14T11:15:53+02:00",
            "2024-05-14 09:15:53",
            "2024-05-14T09:15:53",
            "1715678153",
            "1715678153000",
            " 2024-05-14T09:15:53.000Z ",
            "/Date(1715678153000)/",
            "/Date(1715678153000+0000)/",
            "/Date(1715678153000-0700)/",
        ] {
            assert_eq!(parse_time(text), Some(ms), "{text}");
        }
        assert_eq!(parse_time("2024-05-14"), Some(1_715_644_800_000));
        assert_eq!(parse_time("soon"), None);
        assert_eq!(parse_time(""), None);
        assert_eq!(parse_time("/Date(soon)/"), None);
        let doc: ActivityDoc =
            serde_json::from_str(r#"{"kind": "call", "at": "2024-05-14 09:15:53"}"#).unwrap();
        assert_eq!(doc.at.millis(), ms);
    }
}

//! Pipedrive webhooks, v2 (`meta`, `data`, `previous`; create, change, delete)
//! and v1 (`meta`, `current`, `previous`; added, updated, merged, deleted), one
//! event per request. Only `person` and `lead` events become lead events; the
//! others (deals, organizations, …) are left out, and answered 2xx so Pipedrive
//! neither retries nor bans the webhook.
//!
//! Auth: HTTP Basic with the webhook's `http_auth_user` (option `username`) and
//! `http_auth_password` (the source's secret), compared in constant time.
//!
//! Fields are the object's own keys; v2 custom fields (under `custom_fields`) are
//! lifted to the top level under their keys, as in v1. Lists of
//! `{value, primary}` (emails, phones) become lists of values, primary first.
//! `emails`/`email` (primary) maps to the lead's email, `owner_id` to its owner,
//! `add_time` to its creation time.
//!
//! Dedup keys: v2 `pipedrive:{meta.id}` (the event's id); v1, whose `meta.id` is
//! the object's id, `pipedrive:v1:{object}:{id}:{action}:{meta.timestamp_micro}`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::sig::{ct_eq, decode_base64};
use super::{
    Adapter, AdapterError, EventKind, LeadEvent, WebhookRequest, bad, flatten_into, header,
    id_text, lead_with_id, need_secret, options, parse_json, req_id, require_json, time_of,
    type_name, unauthorized,
};
use crate::lead::{LeadDoc, Timestamp};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    username: String,
}

pub struct Pipedrive {
    username: String,
    password: String,
}

impl Pipedrive {
    pub fn new(table: &toml::Table, secret: Option<String>) -> Result<Pipedrive, String> {
        let o: Options = options("pipedrive", table).map_err(|e| {
            if e.contains("username") {
                format!("{e} (the webhook's HTTP auth username, http_auth_user)")
            } else {
                e
            }
        })?;
        if o.username.is_empty() || o.username.contains(':') {
            return Err(
                "pipedrive adapter options: username must be non-empty and contain no `:`".into(),
            );
        }
        let password = need_secret(
            "pipedrive",
            secret,
            "the webhook's HTTP auth password, http_auth_password",
        )?;
        Ok(Pipedrive {
            username: o.username,
            password,
        })
    }
}

impl Adapter for Pipedrive {
    fn verify(&self, req: &WebhookRequest) -> Result<(), AdapterError> {
        require_json(req.headers)?;
        let Some(auth) = header(req.headers, "authorization")? else {
            return Err(unauthorized(
                "missing Authorization header: set the Pipedrive webhook's HTTP auth username and \
                 password (http_auth_user, http_auth_password)",
            ));
        };
        let (scheme, encoded) = auth.split_once(' ').unwrap_or((auth, ""));
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(unauthorized(format!(
                "Authorization uses the `{scheme}` scheme; expected Basic"
            )));
        }
        let decoded = decode_base64(encoded)
            .ok_or_else(|| unauthorized("Authorization: Basic credentials are not base64"))?;
        let colon = decoded.iter().position(|b| *b == b':').ok_or_else(|| {
            unauthorized("Authorization: Basic credentials are not of the form user:password")
        })?;
        let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
        let user_ok = ct_eq(user, self.username.as_bytes());
        let password_ok = ct_eq(password, self.password.as_bytes());
        if user_ok & password_ok {
            Ok(())
        } else {
            Err(unauthorized("Basic auth: wrong username or password"))
        }
    }

    fn parse(&self, req: &WebhookRequest) -> Result<Vec<LeadEvent>, AdapterError> {
        let body = parse_json(req.body)?;
        let Some(obj) = body.as_object() else {
            return Err(bad(format!(
                "body: expected a Pipedrive webhook object, found {}",
                type_name(&body)
            )));
        };
        let meta = match obj.get("meta") {
            Some(Json::Object(m)) => m,
            None | Some(Json::Null) => return Err(bad("body.meta: missing")),
            Some(v) => {
                return Err(bad(format!(
                    "body.meta: expected an object, found {}",
                    type_name(v)
                )));
            }
        };
        let version = meta.get("version").and_then(Json::as_str).unwrap_or("");
        let v1 = obj
            .get("v")
            .or_else(|| meta.get("v"))
            .and_then(Json::as_i64)
            == Some(1);
        let event = if version.starts_with('2') || (!v1 && obj.contains_key("data")) {
            parse_v2(obj, meta, req.now_ms)?
        } else if v1 || obj.contains_key("current") || obj.contains_key("event") {
            parse_v1(obj, meta, req.now_ms)?
        } else {
            return Err(bad(
                "body: neither a webhooks v2 body (meta.version \"2.0\", data, previous) nor a v1 \
                 body (v 1, current, previous)",
            ));
        };
        Ok(event.into_iter().collect())
    }
}

fn str_at<'a>(obj: &'a Map<String, Json>, key: &str, at: &str) -> Result<&'a str, AdapterError> {
    match obj.get(key) {
        Some(Json::String(s)) if !s.is_empty() => Ok(s),
        None | Some(Json::Null) => Err(bad(format!("{at}.{key}: missing"))),
        Some(v) => Err(bad(format!(
            "{at}.{key}: expected a string, found {}",
            type_name(v)
        ))),
    }
}

/// `body.{key}` as an object, or None when null or absent.
fn object_at<'a>(
    obj: &'a Map<String, Json>,
    key: &str,
) -> Result<Option<&'a Map<String, Json>>, AdapterError> {
    match obj.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Object(m)) => Ok(Some(m)),
        // v1's `user` object comes as a one-element list.
        Some(Json::Array(items)) if items.len() == 1 && items[0].is_object() => {
            Ok(items[0].as_object())
        }
        Some(v) => Err(bad(format!(
            "body.{key}: expected an object, found {}",
            type_name(v)
        ))),
    }
}

/// A record's fields: its keys, custom fields lifted, values flattened.
fn fields_of(record: &Map<String, Json>) -> BTreeMap<String, Json> {
    let mut fields = BTreeMap::new();
    for (k, v) in record {
        match (k.as_str(), v) {
            ("custom_fields", Json::Object(custom)) => {
                for (ck, cv) in custom {
                    match cv {
                        // v2 custom fields may be {"type": …, "value": …, …}.
                        Json::Object(o) if o.contains_key("value") => {
                            let mut o = o.clone();
                            o.remove("type");
                            flatten_into(&mut fields, ck, &Json::Object(o));
                        }
                        _ => flatten_into(&mut fields, ck, cv),
                    }
                }
            }
            _ => flatten_into(&mut fields, k, v),
        }
    }
    fields
}

/// The primary email of `emails` (v2) or `email` (v1).
fn primary_email(record: &Map<String, Json>) -> Option<String> {
    let v = record.get("emails").or_else(|| record.get("email"))?;
    match v {
        Json::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Json::Array(items) => {
            let value = |i: &Json| {
                i.get("value")
                    .and_then(Json::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            items
                .iter()
                .filter(|i| i.get("primary").and_then(Json::as_bool) == Some(true))
                .find_map(value)
                .or_else(|| items.iter().find_map(value))
        }
        _ => None,
    }
}

fn owner_of(record: &Map<String, Json>) -> Option<String> {
    match record.get("owner_id")? {
        Json::Object(o) => o.get("id").or_else(|| o.get("value")).and_then(id_text),
        v => id_text(v),
    }
}

/// A person record (from an event, or read over the API) as a lead.
pub fn lead_of(id: String, record: Option<&Map<String, Json>>) -> LeadDoc {
    let mut lead = lead_with_id(id);
    if let Some(record) = record {
        lead.email = primary_email(record);
        lead.owner = owner_of(record);
        lead.created_at = record
            .get("add_time")
            .and_then(time_of)
            .map(Timestamp::Millis);
        lead.fields = fields_of(record);
    }
    lead
}

fn parse_v2(
    obj: &Map<String, Json>,
    meta: &Map<String, Json>,
    now_ms: i64,
) -> Result<Option<LeadEvent>, AdapterError> {
    let action = str_at(meta, "action", "body.meta")?;
    let entity = str_at(meta, "entity", "body.meta")?;
    if !matches!(entity, "person" | "lead") {
        return Ok(None);
    }
    let kind = match action {
        "create" => EventKind::Created,
        "change" => EventKind::Updated,
        "delete" => EventKind::Deleted,
        _ => return Ok(None),
    };
    let event_id = req_id(meta, "id", "body.meta")?;
    let data = object_at(obj, "data")?;
    let previous = object_at(obj, "previous")?;
    let record = match kind {
        EventKind::Deleted => previous,
        _ => Some(data.ok_or_else(|| {
            bad(format!(
                "body.data: missing (a {action} event carries the {entity})"
            ))
        })?),
    };
    let id = match meta.get("entity_id").and_then(id_text) {
        Some(id) => id,
        None => record
            .and_then(|r| r.get("id"))
            .and_then(id_text)
            .ok_or_else(|| bad("body.meta.entity_id: missing (nor has the record an id)"))?,
    };
    let at = match meta.get("timestamp") {
        None | Some(Json::Null) => record
            .and_then(|r| r.get("update_time"))
            .and_then(time_of)
            .unwrap_or(now_ms),
        Some(v) => {
            time_of(v).ok_or_else(|| bad(format!("body.meta.timestamp: `{v}` is not a time")))?
        }
    };
    let changed = match (&kind, previous) {
        (EventKind::Updated, Some(p)) => fields_of(p).into_keys().collect(),
        _ => Vec::new(),
    };
    Ok(Some(LeadEvent {
        dedup_key: format!("pipedrive:{event_id}"),
        kind,
        at,
        lead: lead_of(id, record),
        changed,
        complete: true,
    }))
}

fn parse_v1(
    obj: &Map<String, Json>,
    meta: &Map<String, Json>,
    now_ms: i64,
) -> Result<Option<LeadEvent>, AdapterError> {
    // `event` is "action.object"; meta says the same in two fields.
    let (action, object) = match obj.get("event").and_then(Json::as_str) {
        Some(e) => e.split_once('.').ok_or_else(|| {
            bad(format!(
                "body.event: `{e}` is not of the form action.object (e.g. updated.person)"
            ))
        })?,
        None => (
            str_at(meta, "action", "body.meta")?,
            str_at(meta, "object", "body.meta")?,
        ),
    };
    if !matches!(object, "person" | "lead") {
        return Ok(None);
    }
    let kind = match action {
        "added" => EventKind::Created,
        "updated" | "merged" => EventKind::Updated,
        "deleted" => EventKind::Deleted,
        _ => return Ok(None),
    };
    let current = object_at(obj, "current")?;
    let previous = object_at(obj, "previous")?;
    let record = match kind {
        EventKind::Deleted => previous.or(current),
        _ => Some(current.ok_or_else(|| {
            bad(format!(
                "body.current: missing (an {action}.{object} event carries the {object})"
            ))
        })?),
    };
    let id = match meta.get("id").and_then(id_text) {
        Some(id) => id,
        None => record
            .and_then(|r| r.get("id"))
            .and_then(id_text)
            .ok_or_else(|| bad("body.meta.id: missing (nor has the record an id)"))?,
    };
    let micro = meta.get("timestamp_micro").and_then(Json::as_i64);
    let seconds = meta.get("timestamp").and_then(Json::as_i64);
    let (at, stamp) = match (micro, seconds) {
        (Some(us), _) => (us / 1000, us.to_string()),
        (None, Some(s)) => (s.saturating_mul(1000), s.to_string()),
        (None, None) => {
            return Err(bad(
                "body.meta.timestamp: missing (nor is there a timestamp_micro)",
            ));
        }
    };
    let _ = now_ms;
    let changed = match (&kind, current, previous) {
        (EventKind::Updated, Some(c), Some(p)) => {
            let (c, p) = (fields_of(c), fields_of(p));
            let mut names: Vec<String> = c
                .iter()
                .filter(|(k, v)| p.get(*k) != Some(*v))
                .map(|(k, _)| k.clone())
                .collect();
            names.extend(p.keys().filter(|k| !c.contains_key(*k)).cloned());
            names.sort();
            names
        }
        _ => Vec::new(),
    };
    Ok(Some(LeadEvent {
        dedup_key: format!("pipedrive:v1:{object}:{id}:{action}:{stamp}"),
        kind,
        at,
        lead: lead_of(id, record),
        changed,
        complete: true,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const V1: &[u8] =
        include_bytes!("../../../tests/fixtures/webhooks/pipedrive-v1-person-updated.json");
    const V2: &[u8] =
        include_bytes!("../../../tests/fixtures/webhooks/pipedrive-v2-person-create.json");
    const URL: &str = "https://leads.example.com/hooks/pipedrive";
    const NOW: i64 = 1_715_678_300_000;
    // crm-webhooks.md's worked example (RFC 7617).
    const AUTH: &str = "Basic cGlwZWRyaXZlLWhvb2s6czNjcjN0LVBhc3N3MHJk";

    fn adapter() -> Pipedrive {
        Pipedrive::new(
            &table("username = \"pipedrive-hook\""),
            Some("s3cr3t-Passw0rd".into()),
        )
        .expect("valid options")
    }

    fn authed() -> http::HeaderMap {
        headers(&[
            ("content-type", "application/json"),
            ("authorization", AUTH),
        ])
    }

    #[test]
    fn v2_fixture_authenticates_and_parses() {
        let a = adapter();
        let h = authed();
        let req = request("POST", URL, &h, V2, NOW);
        a.verify(&req).unwrap();
        let events = a.parse(&req).unwrap();
        assert_eq!(events.len(), 1);
        converts(&events);
        let e = &events[0];
        assert_eq!(
            e.dedup_key,
            "pipedrive:b3d1f0a2-8c4e-4f5a-9d6b-7e8f9a0b1c2d"
        );
        assert_eq!(e.kind, EventKind::Created);
        assert_eq!(e.at, 1_715_678_153_456);
        assert!(e.complete);
        assert!(e.changed.is_empty());
        assert_eq!(e.lead.id, "1187");
        assert_eq!(e.lead.email.as_deref(), Some("ada@example.com"));
        assert_eq!(e.lead.owner.as_deref(), Some("12345678"));
        assert_eq!(
            e.lead.created_at,
            Some(Timestamp::Millis(1_715_678_153_000))
        );
        assert_eq!(
            e.lead.fields["emails"],
            serde_json::json!(["ada@example.com"])
        );
        assert_eq!(
            e.lead.fields["phones"],
            serde_json::json!(["+442079460018"])
        );
        assert_eq!(e.lead.fields["org_id"], 402);
        assert_eq!(e.lead.fields["name"], "Ada Lovelace");
        assert!(!e.lead.fields.contains_key("custom_fields"));
    }

    #[test]
    fn v1_fixture_authenticates_and_parses() {
        let a = adapter();
        let h = authed();
        let req = request("POST", URL, &h, V1, NOW);
        a.verify(&req).unwrap();
        let events = a.parse(&req).unwrap();
        assert_eq!(events.len(), 1);
        converts(&events);
        let e = &events[0];
        assert_eq!(
            e.dedup_key,
            "pipedrive:v1:person:1187:updated:1715678263595189"
        );
        assert_eq!(e.kind, EventKind::Updated);
        assert_eq!(e.at, 1_715_678_263_595);
        assert_eq!(e.lead.id, "1187");
        assert_eq!(e.lead.email.as_deref(), Some("ada.lovelace@example.com"));
        assert_eq!(e.lead.owner.as_deref(), Some("12345678"));
        assert_eq!(
            e.lead.created_at,
            Some(Timestamp::Millis(1_715_678_153_000))
        );
        assert_eq!(
            e.changed,
            vec!["email", "label", "label_ids", "update_time"]
        );
        assert_eq!(e.lead.fields["label_ids"], serde_json::json!([14]));
        assert_eq!(e.lead.fields["im"], serde_json::json!([]));
    }

    #[test]
    fn v2_change_delete_custom_fields_and_skips() {
        let a = adapter();
        let h = authed();
        let parse = |b: &str| a.parse(&request("POST", URL, &h, b.as_bytes(), NOW));
        let change = r#"{"meta":{"action":"change","entity":"person","entity_id":7,"id":"e2","timestamp":"2024-05-14T10:00:00Z","version":"2.0"},
            "data":{"id":7,"name":"Bo","emails":[{"value":"bo@x.com","primary":true}],"owner_id":{"id":3,"name":"Al"},
                    "custom_fields":{"a1b2":{"type":"varchar","value":"Gold"},"c3d4":{"type":"monetary","value":100,"currency":"EUR"},"e5":null}},
            "previous":{"custom_fields":{"a1b2":{"type":"varchar","value":"Silver"}},"update_time":"2024-05-14T09:00:00Z"}}"#;
        let e = &parse(change).unwrap()[0];
        assert_eq!(e.kind, EventKind::Updated);
        assert_eq!(e.changed, vec!["a1b2", "update_time"]);
        assert_eq!(e.lead.fields["a1b2"], "Gold");
        assert_eq!(e.lead.fields["c3d4"], 100);
        assert_eq!(e.lead.fields["c3d4.currency"], "EUR");
        assert_eq!(e.lead.fields["e5"], Json::Null);
        assert_eq!(e.lead.owner.as_deref(), Some("3"));
        converts(std::slice::from_ref(e));

        let delete = r#"{"meta":{"action":"delete","entity":"lead","entity_id":"adf21080-0e10-11eb-879b-05d71fb426ec","id":"e3","timestamp":"2024-05-14T10:00:00Z","version":"2.0"},
            "data":null,"previous":{"id":"adf21080-0e10-11eb-879b-05d71fb426ec","title":"Deal?","value":{"amount":5,"currency":"EUR"}}}"#;
        let e = &parse(delete).unwrap()[0];
        assert_eq!(e.kind, EventKind::Deleted);
        assert_eq!(e.lead.id, "adf21080-0e10-11eb-879b-05d71fb426ec");
        assert_eq!(e.lead.fields["value.amount"], 5);

        let deal = r#"{"meta":{"action":"create","entity":"deal","entity_id":"1","id":"e4","timestamp":"2024-05-14T10:00:00Z","version":"2.0"},"data":{"id":1},"previous":null}"#;
        assert!(parse(deal).unwrap().is_empty());
        let v1_org = r#"{"v":1,"event":"added.organization","meta":{"id":4,"timestamp":1},"current":{"id":4},"previous":null}"#;
        assert!(parse(v1_org).unwrap().is_empty());
    }

    #[test]
    fn bad_basic_auth_is_unauthorized() {
        let a = adapter();
        let check = |auth: Option<&str>, needle: &str| {
            let mut pairs = vec![("content-type", "application/json")];
            if let Some(auth) = auth {
                pairs.push(("authorization", auth));
            }
            let h = headers(&pairs);
            is_unauthorized(a.verify(&request("POST", URL, &h, V2, NOW)), needle);
        };
        check(None, "missing Authorization");
        check(Some("Bearer abc"), "Basic");
        check(Some("Basic !!!"), "not base64");
        check(Some("Basic dXNlcg=="), "user:password");
        // pipedrive-hook:wrong
        check(
            Some("Basic cGlwZWRyaXZlLWhvb2s6d3Jvbmc="),
            "wrong username or password",
        );
        // someone:s3cr3t-Passw0rd
        check(
            Some("Basic c29tZW9uZTpzM2NyM3QtUGFzc3cwcmQ="),
            "wrong username or password",
        );
        // Scheme is case-insensitive.
        let h = headers(&[
            ("content-type", "application/json"),
            (
                "authorization",
                "basic cGlwZWRyaXZlLWhvb2s6czNjcjN0LVBhc3N3MHJk",
            ),
        ]);
        a.verify(&request("POST", URL, &h, V2, NOW)).unwrap();
    }

    #[test]
    fn malformed_bodies_name_the_problem() {
        let a = adapter();
        let h = authed();
        let parse = |b: &str| a.parse(&request("POST", URL, &h, b.as_bytes(), NOW));
        bad_request(parse("[]"), "expected a Pipedrive webhook object");
        bad_request(parse("{}"), "body.meta: missing");
        bad_request(parse(r#"{"meta":1}"#), "body.meta: expected an object");
        bad_request(parse(r#"{"meta":{}}"#), "neither a webhooks v2 body");
        bad_request(
            parse(r#"{"meta":{"version":"2.0"},"data":{}}"#),
            "body.meta.action: missing",
        );
        bad_request(
            parse(r#"{"meta":{"version":"2.0","action":"create","entity":"person"},"data":{}}"#),
            "body.meta.id: missing",
        );
        bad_request(
            parse(
                r#"{"meta":{"version":"2.0","action":"create","entity":"person","id":"x"},"data":null}"#,
            ),
            "body.data: missing",
        );
        bad_request(
            parse(
                r#"{"meta":{"version":"2.0","action":"create","entity":"person","id":"x"},"data":{"name":"a"}}"#,
            ),
            "body.meta.entity_id: missing",
        );
        bad_request(
            parse(
                r#"{"meta":{"version":"2.0","action":"create","entity":"person","id":"x","entity_id":1,"timestamp":"later"},"data":{}}"#,
            ),
            "body.meta.timestamp",
        );
        bad_request(
            parse(
                r#"{"meta":{"version":"2.0","action":"create","entity":"person","id":"x","entity_id":1},"data":[1,2]}"#,
            ),
            "body.data: expected an object",
        );
        bad_request(
            parse(r#"{"v":1,"event":"updatedperson","meta":{}}"#),
            "body.event",
        );
        bad_request(
            parse(r#"{"v":1,"event":"updated.person","meta":{"id":1,"timestamp":1}}"#),
            "body.current: missing",
        );
        bad_request(
            parse(r#"{"v":1,"event":"updated.person","meta":{"id":1},"current":{}}"#),
            "body.meta.timestamp: missing",
        );
    }

    #[test]
    fn options_are_checked() {
        let err = Pipedrive::new(&table(""), Some("p".into())).err().unwrap();
        assert!(err.contains("username"), "{err}");
        let err = Pipedrive::new(&table("username = \"u\""), None)
            .err()
            .unwrap();
        assert!(err.contains("http_auth_password"), "{err}");
        let err = Pipedrive::new(&table("username = \"a:b\""), Some("p".into()))
            .err()
            .unwrap();
        assert!(err.contains("no `:`"), "{err}");
    }
}

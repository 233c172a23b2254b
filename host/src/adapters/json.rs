//! A declarative adapter for any CRM that posts JSON (Zoho, Twenty, EspoCRM,
//! Close, Attio, …): the source's options say where things are, with JSON
//! pointers (RFC 6901: `/data/id`, `/items/0/email`; `~1` for `/` in a key), and
//! how the request is authenticated.
//!
//! Where things are (each pointer is relative to one event):
//! - `events`: the array of events in the body; without it the body is one event.
//! - `record_id` (required): the lead's id.
//! - `event_id`: the CRM's event id (the dedup key). Without it the dedup key is
//!   `{record id}@{occurred_at}` when `occurred_at` is set, else a SHA-256 of the
//!   event's JSON.
//! - `trigger` + `triggers`: the CRM's value for what happened, and a table from
//!   those values to `created`, `updated`, `deleted`, `rejected` or `skip` (an
//!   event to leave out). Without `triggers` the values must be those names.
//!   Without `trigger`, every event is `default_trigger` (default `updated`).
//! - `reason`: the rejection reason, for `rejected`.
//! - `occurred_at`: when it happened: ms or s since the epoch, or RFC 3339 (else now).
//! - `fields`: an object of the record's fields (`""` for the whole event);
//!   `complete` (default true) says whether it is the whole record or a delta.
//! - `changed`: an array of the changed fields' names.
//! - `email`, `owner`, `company_domain`, `lifecycle_stage`, `created_at`.
//!
//! Authentication, one of:
//! - HMAC-SHA256 with the source's secret: `signature_header`; `signed = "body"`
//!   (default) or `"timestamp.body"` (timestamp, `separator` (default `.`),
//!   body) with `timestamp_header` (seconds or ms since the epoch, or RFC 3339;
//!   checked to `tolerance_seconds`, default 300); `encoding = "hex"` (default)
//!   or `"base64"`; `prefix` before the signature (e.g. `sha256=`);
//!   `secret_encoding = "text"` (default), `"hex"` or `"base64"` for CRMs whose
//!   signing key is given encoded.
//! - a shared token: `token_header`, whose value must be `prefix` + the secret
//!   (e.g. `prefix = "Bearer "`), for CRMs that cannot sign but can add a header.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value as Json;

use super::sig::{check_fresh, ct_eq, decode_base64, decode_hex, hmac_sha256, sha256};
use super::{
    Adapter, AdapterError, EventKind, LeadEvent, WebhookRequest, bad, domain_of, flatten_into,
    header, id_text, lead_with_id, need_secret, options, parse_json, parse_time, require_json,
    scalar_text, time_of, type_name, unauthorized,
};
use crate::lead::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum TriggerTo {
    Created,
    Updated,
    Deleted,
    Rejected,
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum Signed {
    #[serde(rename = "body")]
    Body,
    #[serde(rename = "timestamp.body")]
    TimestampBody,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Encoding {
    Hex,
    Base64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum SecretEncoding {
    Text,
    Hex,
    Base64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    events: Option<String>,
    record_id: String,
    event_id: Option<String>,
    trigger: Option<String>,
    #[serde(default)]
    triggers: BTreeMap<String, TriggerTo>,
    default_trigger: Option<TriggerTo>,
    reason: Option<String>,
    occurred_at: Option<String>,
    fields: Option<String>,
    complete: Option<bool>,
    changed: Option<String>,
    email: Option<String>,
    owner: Option<String>,
    company_domain: Option<String>,
    lifecycle_stage: Option<String>,
    created_at: Option<String>,

    signature_header: Option<String>,
    timestamp_header: Option<String>,
    signed: Option<Signed>,
    separator: Option<String>,
    encoding: Option<Encoding>,
    prefix: Option<String>,
    secret_encoding: Option<SecretEncoding>,
    tolerance_seconds: Option<u64>,
    token_header: Option<String>,
}

enum Auth {
    Hmac {
        header: String,
        timestamp_header: Option<String>,
        signed: Signed,
        separator: String,
        encoding: Encoding,
        prefix: String,
        key: Vec<u8>,
        tolerance_seconds: u64,
    },
    Token {
        header: String,
        expected: String,
    },
}

pub struct JsonAdapter {
    events: Option<String>,
    record_id: String,
    event_id: Option<String>,
    trigger: Option<String>,
    triggers: BTreeMap<String, TriggerTo>,
    default_trigger: TriggerTo,
    reason: Option<String>,
    occurred_at: Option<String>,
    fields: Option<String>,
    complete: bool,
    changed: Option<String>,
    email: Option<String>,
    owner: Option<String>,
    company_domain: Option<String>,
    lifecycle_stage: Option<String>,
    created_at: Option<String>,
    auth: Auth,
}

fn check_pointer(name: &str, p: &Option<String>) -> Result<(), String> {
    match p {
        Some(p) if !p.is_empty() && !p.starts_with('/') => {
            let suggestion = format!(
                "/{}",
                p.trim_start_matches('$')
                    .trim_start_matches('.')
                    .replace('.', "/")
            );
            Err(format!(
                "json adapter options: {name} = \"{p}\" is not a JSON pointer (RFC 6901): write \
                 it like \"{suggestion}\" (\"\" is the whole event)"
            ))
        }
        _ => Ok(()),
    }
}

fn check_header(name: &str, h: &Option<String>) -> Result<Option<String>, String> {
    match h {
        None => Ok(None),
        Some(h) => http::HeaderName::from_bytes(h.trim().as_bytes())
            .map(|n| Some(n.as_str().to_string()))
            .map_err(|_| format!("json adapter options: {name} = \"{h}\" is not a header name")),
    }
}

impl JsonAdapter {
    pub fn new(table: &toml::Table, secret: Option<String>) -> Result<JsonAdapter, String> {
        let o: Options = options("json", table)?;
        for (name, p) in [
            ("events", &o.events),
            ("event_id", &o.event_id),
            ("trigger", &o.trigger),
            ("reason", &o.reason),
            ("occurred_at", &o.occurred_at),
            ("fields", &o.fields),
            ("changed", &o.changed),
            ("email", &o.email),
            ("owner", &o.owner),
            ("company_domain", &o.company_domain),
            ("lifecycle_stage", &o.lifecycle_stage),
            ("created_at", &o.created_at),
        ] {
            check_pointer(name, p)?;
        }
        check_pointer("record_id", &Some(o.record_id.clone()))?;
        if !o.triggers.is_empty() && o.trigger.is_none() {
            return Err(
                "json adapter options: triggers is set but trigger (the pointer to the CRM's \
                 value) is not"
                    .into(),
            );
        }
        if o.default_trigger.is_some() && o.trigger.is_some() {
            return Err(
                "json adapter options: default_trigger applies only when no trigger pointer is set"
                    .into(),
            );
        }
        if o.default_trigger == Some(TriggerTo::Skip) {
            return Err(
                "json adapter options: default_trigger = \"skip\" would skip every event".into(),
            );
        }

        let signature_header = check_header("signature_header", &o.signature_header)?;
        let token_header = check_header("token_header", &o.token_header)?;
        let timestamp_header = check_header("timestamp_header", &o.timestamp_header)?;
        let auth = match (signature_header, token_header) {
            (Some(_), Some(_)) => {
                return Err(
                    "json adapter options: set signature_header (HMAC) or token_header (a shared \
                     token), not both"
                        .into(),
                );
            }
            (None, None) => {
                return Err(
                    "json adapter options: set signature_header (the CRM signs its requests with \
                     HMAC-SHA256) or token_header (it sends a shared token in a header); without \
                     one, anyone could post leads to this source"
                        .into(),
                );
            }
            (Some(header), None) => {
                let secret = need_secret("json", secret, "the key the CRM signs webhooks with")?;
                let key = match o.secret_encoding.unwrap_or(SecretEncoding::Text) {
                    SecretEncoding::Text => secret.into_bytes(),
                    SecretEncoding::Hex => decode_hex(&secret).ok_or(
                        "json adapter: secret_encoding = \"hex\" but the secret is not hex",
                    )?,
                    SecretEncoding::Base64 => decode_base64(&secret).ok_or(
                        "json adapter: secret_encoding = \"base64\" but the secret is not base64",
                    )?,
                };
                let signed = o.signed.unwrap_or(Signed::Body);
                if signed == Signed::TimestampBody && timestamp_header.is_none() {
                    return Err(
                        "json adapter options: signed = \"timestamp.body\" needs timestamp_header"
                            .into(),
                    );
                }
                if o.separator.is_some() && signed != Signed::TimestampBody {
                    return Err(
                        "json adapter options: separator applies only to signed = \"timestamp.body\""
                            .into(),
                    );
                }
                if o.tolerance_seconds.is_some() && timestamp_header.is_none() {
                    return Err(
                        "json adapter options: tolerance_seconds needs timestamp_header".into(),
                    );
                }
                Auth::Hmac {
                    header,
                    timestamp_header,
                    signed,
                    separator: o.separator.unwrap_or_else(|| ".".into()),
                    encoding: o.encoding.unwrap_or(Encoding::Hex),
                    prefix: o.prefix.unwrap_or_default(),
                    key,
                    tolerance_seconds: o.tolerance_seconds.unwrap_or(300),
                }
            }
            (None, Some(header)) => {
                let misplaced = [
                    ("timestamp_header", timestamp_header.is_some()),
                    ("signed", o.signed.is_some()),
                    ("separator", o.separator.is_some()),
                    ("encoding", o.encoding.is_some()),
                    ("secret_encoding", o.secret_encoding.is_some()),
                    ("tolerance_seconds", o.tolerance_seconds.is_some()),
                ];
                if let Some((name, _)) = misplaced.iter().find(|(_, set)| *set) {
                    return Err(format!(
                        "json adapter options: {name} applies to signature_header (HMAC), not to \
                         token_header"
                    ));
                }
                let secret = need_secret("json", secret, "the token the CRM sends")?;
                Auth::Token {
                    header,
                    expected: format!("{}{secret}", o.prefix.unwrap_or_default()),
                }
            }
        };
        Ok(JsonAdapter {
            events: o.events,
            record_id: o.record_id,
            event_id: o.event_id,
            trigger: o.trigger,
            triggers: o.triggers,
            default_trigger: o.default_trigger.unwrap_or(TriggerTo::Updated),
            reason: o.reason,
            occurred_at: o.occurred_at,
            fields: o.fields,
            complete: o.complete.unwrap_or(true),
            changed: o.changed,
            email: o.email,
            owner: o.owner,
            company_domain: o.company_domain,
            lifecycle_stage: o.lifecycle_stage,
            created_at: o.created_at,
            auth,
        })
    }

    fn event(
        &self,
        event: &Json,
        base: &str,
        now_ms: i64,
    ) -> Result<Option<LeadEvent>, AdapterError> {
        // A value at an optional pointer: None when unset, absent or null.
        let get = |p: &Option<String>| -> Option<&Json> {
            p.as_deref()
                .and_then(|p| event.pointer(p))
                .filter(|v| !v.is_null())
        };
        let missing = |option: &str, p: &str| bad(format!("{base}{p}: missing (options.{option})"));

        let kind = match &self.trigger {
            None => self.default_trigger,
            Some(p) => {
                let v = event
                    .pointer(p)
                    .filter(|v| !v.is_null())
                    .ok_or_else(|| missing("trigger", p))?;
                let text = match v {
                    Json::String(s) => s.clone(),
                    Json::Number(_) | Json::Bool(_) => v.to_string(),
                    other => {
                        return Err(bad(format!(
                            "{base}{p}: expected the CRM's event name, found {} (options.trigger)",
                            type_name(other)
                        )));
                    }
                };
                if self.triggers.is_empty() {
                    match text.to_ascii_lowercase().as_str() {
                        "created" => TriggerTo::Created,
                        "updated" => TriggerTo::Updated,
                        "deleted" => TriggerTo::Deleted,
                        "rejected" => TriggerTo::Rejected,
                        _ => {
                            return Err(bad(format!(
                                "{base}{p}: `{text}` is not created, updated, deleted or rejected: \
                                 map the CRM's values with options.triggers"
                            )));
                        }
                    }
                } else {
                    *self.triggers.get(&text).ok_or_else(|| {
                        let known: Vec<&str> = self.triggers.keys().map(String::as_str).collect();
                        bad(format!(
                            "{base}{p}: `{text}` is not in options.triggers (known: {}); map it \
                             to \"skip\" to leave such events out",
                            known.join(", ")
                        ))
                    })?
                }
            }
        };
        let kind = match kind {
            TriggerTo::Skip => return Ok(None),
            TriggerTo::Created => EventKind::Created,
            TriggerTo::Updated => EventKind::Updated,
            TriggerTo::Deleted => EventKind::Deleted,
            TriggerTo::Rejected => {
                EventKind::Rejected(get(&self.reason).and_then(scalar_text).unwrap_or_default())
            }
        };

        let p = &self.record_id;
        let v = event
            .pointer(p)
            .filter(|v| !v.is_null())
            .ok_or_else(|| missing("record_id", p))?;
        let record_id = id_text(v).ok_or_else(|| {
            bad(format!(
                "{base}{p}: expected the record's id (a non-empty string or an integer), found {} \
                 (options.record_id)",
                type_name(v)
            ))
        })?;

        let at = match &self.occurred_at {
            None => None,
            Some(p) => {
                let v = event
                    .pointer(p)
                    .filter(|v| !v.is_null())
                    .ok_or_else(|| missing("occurred_at", p))?;
                Some(time_of(v).ok_or_else(|| {
                    bad(format!(
                        "{base}{p}: {v} is not a time (expected seconds or ms since the epoch, or \
                         RFC 3339) (options.occurred_at)"
                    ))
                })?)
            }
        };

        let event_id = match &self.event_id {
            None => None,
            Some(p) => {
                let v = event
                    .pointer(p)
                    .filter(|v| !v.is_null())
                    .ok_or_else(|| missing("event_id", p))?;
                Some(id_text(v).ok_or_else(|| {
                    bad(format!(
                        "{base}{p}: expected an event id (a non-empty string or an integer), found \
                         {} (options.event_id)",
                        type_name(v)
                    ))
                })?)
            }
        };
        let dedup_key = match (event_id, at) {
            (Some(id), _) => format!("json:{id}"),
            (None, Some(ms)) => format!("json:{record_id}@{ms}:{}", kind.name()),
            (None, None) => format!(
                "json:{record_id}:sha256:{}",
                hex::encode(sha256(&[event.to_string().as_bytes()]))
            ),
        };

        let mut lead = lead_with_id(record_id);
        if let Some(p) = &self.fields {
            match event.pointer(p) {
                None | Some(Json::Null) => {}
                Some(Json::Object(map)) => {
                    for (k, v) in map {
                        flatten_into(&mut lead.fields, k, v);
                    }
                }
                Some(v) => {
                    return Err(bad(format!(
                        "{base}{p}: expected an object of fields, found {} (options.fields)",
                        type_name(v)
                    )));
                }
            }
        }
        let changed = match &self.changed {
            None => Vec::new(),
            Some(p) => match event.pointer(p) {
                None | Some(Json::Null) => Vec::new(),
                Some(Json::Array(items)) => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        item.as_str().map(str::to_string).ok_or_else(|| {
                            bad(format!(
                                "{base}{p}/{i}: expected a field name, found {} (options.changed)",
                                type_name(item)
                            ))
                        })
                    })
                    .collect::<Result<_, _>>()?,
                Some(v) => {
                    return Err(bad(format!(
                        "{base}{p}: expected an array of field names, found {} (options.changed)",
                        type_name(v)
                    )));
                }
            },
        };
        lead.email = get(&self.email).and_then(scalar_text);
        lead.owner = get(&self.owner).and_then(scalar_text);
        lead.lifecycle_stage = get(&self.lifecycle_stage).and_then(scalar_text);
        lead.company_domain = get(&self.company_domain)
            .and_then(scalar_text)
            .and_then(|s| domain_of(&s));
        lead.created_at = get(&self.created_at)
            .and_then(time_of)
            .map(Timestamp::Millis);

        Ok(Some(LeadEvent {
            dedup_key,
            kind,
            at: at.unwrap_or(now_ms),
            lead,
            changed,
            complete: self.complete,
        }))
    }
}

impl Adapter for JsonAdapter {
    fn verify(&self, req: &WebhookRequest) -> Result<(), AdapterError> {
        require_json(req.headers)?;
        match &self.auth {
            Auth::Token {
                header: name,
                expected,
            } => {
                let Some(given) = header(req.headers, name)? else {
                    return Err(unauthorized(format!("missing {name} header")));
                };
                if ct_eq(given.as_bytes(), expected.as_bytes()) {
                    Ok(())
                } else {
                    Err(unauthorized(format!("wrong token in {name}")))
                }
            }
            Auth::Hmac {
                header: name,
                timestamp_header,
                signed,
                separator,
                encoding,
                prefix,
                key,
                tolerance_seconds,
            } => {
                let Some(given) = header(req.headers, name)? else {
                    return Err(unauthorized(format!("missing {name} header")));
                };
                let given = if prefix.is_empty() {
                    given
                } else {
                    match given.get(..prefix.len()) {
                        Some(p) if p.eq_ignore_ascii_case(prefix) => &given[prefix.len()..],
                        _ => {
                            return Err(unauthorized(format!(
                                "{name} does not start with `{prefix}`"
                            )));
                        }
                    }
                };
                let timestamp = match timestamp_header {
                    None => None,
                    Some(t) => {
                        let Some(text) = header(req.headers, t)? else {
                            return Err(unauthorized(format!("missing {t} header")));
                        };
                        let ms = parse_time(text)
                            .ok_or_else(|| unauthorized(format!("{t} `{text}` is not a time")))?;
                        Some((t, text, ms))
                    }
                };
                let mac = match (signed, &timestamp) {
                    (Signed::TimestampBody, Some((_, text, _))) => {
                        hmac_sha256(key, &[text.as_bytes(), separator.as_bytes(), req.body])
                    }
                    _ => hmac_sha256(key, &[req.body]),
                };
                let decoded = match encoding {
                    Encoding::Hex => decode_hex(given),
                    Encoding::Base64 => decode_base64(given),
                };
                if !decoded.is_some_and(|g| ct_eq(&g, &mac)) {
                    let over = match signed {
                        Signed::Body => "the raw body".to_string(),
                        Signed::TimestampBody => {
                            format!("timestamp + \"{separator}\" + the raw body")
                        }
                    };
                    return Err(unauthorized(format!(
                        "{name} does not match (HMAC-SHA256 over {over}, {} encoded): check the \
                         secret and the signature options",
                        match encoding {
                            Encoding::Hex => "hex",
                            Encoding::Base64 => "base64",
                        }
                    )));
                }
                if let Some((t, _, ms)) = timestamp {
                    check_fresh(t, ms, req.now_ms, *tolerance_seconds)?;
                }
                Ok(())
            }
        }
    }

    fn parse(&self, req: &WebhookRequest) -> Result<Vec<LeadEvent>, AdapterError> {
        let body = parse_json(req.body)?;
        let mut out = Vec::new();
        match &self.events {
            None => out.extend(self.event(&body, "body", req.now_ms)?),
            Some(p) => {
                let items = match body.pointer(p) {
                    Some(Json::Array(items)) => items,
                    None | Some(Json::Null) => {
                        return Err(bad(format!("body{p}: missing (options.events)")));
                    }
                    Some(v) => {
                        return Err(bad(format!(
                            "body{p}: expected an array of events, found {} (options.events)",
                            type_name(v)
                        )));
                    }
                };
                for (i, item) in items.iter().enumerate() {
                    out.extend(self.event(item, &format!("body{p}/{i}"), req.now_ms)?);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use base64::Engine as _;
    use hmac::{Hmac, Mac};

    const URL: &str = "https://leads.example.com/hooks/twenty";
    const NOW: i64 = 1_715_678_200_000;

    fn mac(key: &[u8], msg: &[u8]) -> Vec<u8> {
        let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        m.update(msg);
        m.finalize().into_bytes().to_vec()
    }

    fn json_headers(extra: &[(&str, &str)]) -> http::HeaderMap {
        let mut pairs = vec![("content-type", "application/json")];
        pairs.extend_from_slice(extra);
        headers(&pairs)
    }

    /// Headers of a delivery signed as Twenty signs: hex HMAC of `{ts}:{body}`.
    fn twenty_signed(key: &[u8], ts: &str, body: &[u8]) -> http::HeaderMap {
        let sig = hex::encode(mac(key, &[ts.as_bytes(), b":", body].concat()));
        json_headers(&[
            ("X-Twenty-Webhook-Signature", &sig),
            ("X-Twenty-Webhook-Timestamp", ts),
        ])
    }

    /// Twenty-like: one event per request, `{timestamp}:{body}` signed, hex.
    const TWENTY: &str = r#"
        record_id = "/record/id"
        event_id = "/eventId"
        trigger = "/eventName"
        triggers = { "person.created" = "created", "person.updated" = "updated", "person.deleted" = "deleted", "company.created" = "skip" }
        occurred_at = "/eventDate"
        fields = "/record"
        changed = "/updatedFields"
        email = "/record/emails/primaryEmail"
        owner = "/record/accountOwnerId"
        signature_header = "X-Twenty-Webhook-Signature"
        timestamp_header = "X-Twenty-Webhook-Timestamp"
        signed = "timestamp.body"
        separator = ":"
    "#;

    /// The README's Twenty example on a delivery shaped as Twenty's webhook
    /// job builds it (tests/fixtures/webhooks/SOURCES.md): no event id, so the
    /// dedup key is the record and its eventDate.
    #[test]
    fn the_readme_twenty_example_takes_a_twenty_delivery() {
        let readme = include_str!("../../../README.md");
        let marker = "[sources.twenty.options]\n";
        let start = readme.find(marker).expect("the Twenty example") + marker.len();
        let options = &readme[start..start + readme[start..].find("```").unwrap()];
        let a = JsonAdapter::new(&table(options), Some("leadwire-test-secret".into())).unwrap();
        let body = include_bytes!("../../../tests/fixtures/webhooks/twenty-person-updated.json");
        let h = twenty_signed(b"leadwire-test-secret", &NOW.to_string(), body);
        let req = request("POST", URL, &h, body, NOW);
        a.verify(&req).unwrap();
        let events = a.parse(&req).unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.kind, EventKind::Updated);
        assert_eq!(e.lead.id, "3f6b1c2a-8d4e-4b71-9a05-6e2d7c1f8b34");
        assert_eq!(
            e.lead.email.as_deref(),
            Some("ada.lovelace@analytical-engines.example")
        );
        assert_eq!(e.changed, vec!["jobTitle", "leadStatus"]);
        let at = chrono::DateTime::parse_from_rfc3339("2024-05-14T10:02:11.391Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(e.at, at);
        assert!(
            e.dedup_key.contains("3f6b1c2a-8d4e-4b71-9a05-6e2d7c1f8b34"),
            "{}",
            e.dedup_key
        );
        assert!(e.dedup_key.contains(&at.to_string()), "{}", e.dedup_key);
    }

    #[test]
    fn twenty_like_timestamp_body_hex() {
        let a = JsonAdapter::new(&table(TWENTY), Some("twenty-secret".into())).unwrap();
        let body = br#"{"eventName":"person.updated","eventId":"ev-1","eventDate":"2024-05-14T09:16:00.000Z","updatedFields":["jobTitle"],"record":{"id":"p-1","jobTitle":"CTO","emails":{"primaryEmail":"ada@example.com","additionalEmails":[]},"accountOwnerId":"wm-7","name":{"firstName":"Ada","lastName":"Lovelace"}}}"#;
        let ts = (NOW - 2_000).to_string();
        let sig = hex::encode(mac(b"twenty-secret", &[ts.as_bytes(), b":", body].concat()));
        let h = twenty_signed(b"twenty-secret", &ts, body);
        let req = request("POST", URL, &h, body, NOW);
        a.verify(&req).unwrap();
        let events = a.parse(&req).unwrap();
        assert_eq!(events.len(), 1);
        converts(&events);
        let e = &events[0];
        assert_eq!(e.dedup_key, "json:ev-1");
        assert_eq!(e.kind, EventKind::Updated);
        assert_eq!(e.at, 1_715_678_160_000);
        assert_eq!(e.lead.id, "p-1");
        assert_eq!(e.lead.email.as_deref(), Some("ada@example.com"));
        assert_eq!(e.lead.owner.as_deref(), Some("wm-7"));
        assert_eq!(e.changed, vec!["jobTitle"]);
        assert_eq!(e.lead.fields["name.firstName"], "Ada");
        assert_eq!(
            e.lead.fields["emails.additionalEmails"],
            serde_json::json!([])
        );
        assert!(e.complete);

        // Stale; wrong secret; tampered body; missing headers.
        let old = (NOW - 400_000).to_string();
        let h = twenty_signed(b"twenty-secret", &old, body);
        is_unauthorized(
            a.verify(&request("POST", URL, &h, body, NOW)),
            "stale timestamp",
        );
        let h = twenty_signed(b"other", &ts, body);
        is_unauthorized(
            a.verify(&request("POST", URL, &h, body, NOW)),
            "does not match",
        );
        let h = json_headers(&[("X-Twenty-Webhook-Signature", &sig)]);
        is_unauthorized(
            a.verify(&request("POST", URL, &h, body, NOW)),
            "missing x-twenty-webhook-timestamp",
        );

        // Skipped and unknown triggers.
        let h = json_headers(&[]);
        let skip = br#"{"eventName":"company.created","eventId":"ev-2","eventDate":1715678160,"record":{"id":"c-1"}}"#;
        assert!(
            a.parse(&request("POST", URL, &h, skip, NOW))
                .unwrap()
                .is_empty()
        );
        let unknown = br#"{"eventName":"note.created","eventId":"ev-3","eventDate":1715678160,"record":{"id":"n-1"}}"#;
        bad_request(
            a.parse(&request("POST", URL, &h, unknown, NOW)),
            "body/eventName: `note.created` is not in options.triggers",
        );
    }

    #[test]
    fn batch_base64_prefixed_body_signature() {
        let opts = r#"
            events = "/events"
            record_id = "/objectId"
            trigger = "/type"
            occurred_at = "/ts"
            fields = "/data"
            company_domain = "/data/website"
            signature_header = "X-Signature"
            encoding = "base64"
            prefix = "sha256="
            secret_encoding = "hex"
        "#;
        let a = JsonAdapter::new(&table(opts), Some("6b6579".into())).unwrap();
        let body = br#"{"events":[{"type":"created","objectId":17,"ts":1715678160123,"data":{"website":"https://www.acme.com","employees":250}},{"type":"Rejected","objectId":18,"ts":1715678161}]}"#;
        let sig = format!(
            "sha256={}",
            base64::engine::general_purpose::STANDARD.encode(mac(b"key", body))
        );
        let h = json_headers(&[("X-Signature", &sig)]);
        let req = request("POST", URL, &h, body, NOW);
        a.verify(&req).unwrap();
        let events = a.parse(&req).unwrap();
        assert_eq!(events.len(), 2);
        converts(&events);
        assert_eq!(events[0].kind, EventKind::Created);
        assert_eq!(events[0].lead.id, "17");
        assert_eq!(events[0].at, 1_715_678_160_123);
        assert_eq!(events[0].lead.company_domain.as_deref(), Some("acme.com"));
        assert_eq!(events[0].dedup_key, "json:17@1715678160123:created");
        assert_eq!(events[1].kind, EventKind::Rejected(String::new()));
        assert_eq!(events[1].at, 1_715_678_161_000);

        let h = json_headers(&[("X-Signature", sig.trim_start_matches("sha256="))]);
        is_unauthorized(
            a.verify(&request("POST", URL, &h, body, NOW)),
            "does not start with `sha256=`",
        );
        let h = json_headers(&[]);
        is_unauthorized(
            a.verify(&request("POST", URL, &h, body, NOW)),
            "missing x-signature",
        );

        let parse = |b: &[u8]| a.parse(&request("POST", URL, &h, b, NOW));
        bad_request(parse(b"{}"), "body/events: missing (options.events)");
        bad_request(parse(br#"{"events":{}}"#), "body/events: expected an array");
        bad_request(
            parse(br#"{"events":[{"type":"created","ts":1}]}"#),
            "body/events/0/objectId: missing (options.record_id)",
        );
        bad_request(
            parse(br#"{"events":[{"type":"created","objectId":[1],"ts":1}]}"#),
            "body/events/0/objectId: expected the record's id",
        );
        bad_request(
            parse(br#"{"events":[{"type":"created","objectId":1,"ts":"soon"}]}"#),
            "body/events/0/ts",
        );
        bad_request(
            parse(br#"{"events":[{"type":"made","objectId":1,"ts":1}]}"#),
            "`made` is not created",
        );
        bad_request(
            parse(br#"{"events":[{"type":"created","objectId":1,"ts":1,"data":[1]}]}"#),
            "body/events/0/data: expected an object of fields",
        );
        bad_request(
            parse(br#"{"events":[{"objectId":1,"ts":1}]}"#),
            "body/events/0/type: missing (options.trigger)",
        );
    }

    #[test]
    fn token_header_and_defaults() {
        let opts = r#"
            record_id = "/id"
            fields = ""
            token_header = "Authorization"
            prefix = "Bearer "
            default_trigger = "created"
        "#;
        let a = JsonAdapter::new(&table(opts), Some("tok-123".into())).unwrap();
        let body = br#"{"id":"z1","Email":"a@b.co","nested":{"x":{"y":1}}}"#;
        let h = json_headers(&[("authorization", "Bearer tok-123")]);
        let req = request("POST", URL, &h, body, NOW);
        a.verify(&req).unwrap();
        let e = &a.parse(&req).unwrap()[0];
        assert_eq!(e.kind, EventKind::Created);
        assert_eq!(e.at, NOW);
        assert!(e.dedup_key.starts_with("json:z1:sha256:"));
        assert_eq!(e.lead.fields["nested.x.y"], 1);
        let h = json_headers(&[("authorization", "Bearer tok-124")]);
        is_unauthorized(
            a.verify(&request("POST", URL, &h, body, NOW)),
            "wrong token",
        );
        let h = headers(&[
            ("content-type", "text/plain"),
            ("authorization", "Bearer tok-123"),
        ]);
        assert!(matches!(
            a.verify(&request("POST", URL, &h, body, NOW)),
            Err(AdapterError::UnsupportedMediaType(_))
        ));
    }

    #[test]
    fn options_are_checked() {
        let s = || Some("s".to_string());
        let err = |opts: &str| JsonAdapter::new(&table(opts), s()).err().unwrap();
        assert!(err("").contains("record_id"));
        assert!(err("record_id = \"/id\"").contains("anyone could post"));
        assert!(err("record_id = \"data.id\"\ntoken_header = \"X\"").contains("\"/data/id\""));
        assert!(
            err("record_id = \"/id\"\ntoken_header = \"X\"\nsignature_header = \"Y\"")
                .contains("not both")
        );
        assert!(
            err("record_id = \"/id\"\nsignature_header = \"Y\"\nsigned = \"timestamp.body\"")
                .contains("needs timestamp_header")
        );
        assert!(
            err("record_id = \"/id\"\nsignature_header = \"Y\"\nsigned = \"headers\"")
                .contains("headers")
        );
        assert!(
            err("record_id = \"/id\"\ntoken_header = \"X\"\nencoding = \"hex\"")
                .contains("encoding applies")
        );
        assert!(
            err("record_id = \"/id\"\ntoken_header = \"X\"\ntriggers = { a = \"created\" }")
                .contains("trigger")
        );
        assert!(err("record_id = \"/id\"\ntoken_header = \"X\"\ntrigger = \"/t\"\ntriggers = { a = \"made\" }").contains("made"));
        assert!(
            err("record_id = \"/id\"\ntoken_header = \"bad header\"").contains("not a header name")
        );
        assert!(
            err("record_id = \"/id\"\ntoken_header = \"X\"\nwhatever = 1")
                .contains("unknown field")
        );
        assert!(
            err("record_id = \"/id\"\nsignature_header = \"X\"\nsecret_encoding = \"hex\"")
                .contains("not hex")
        );
        let none = JsonAdapter::new(&table("record_id = \"/id\"\ntoken_header = \"X\""), None)
            .err()
            .unwrap();
        assert!(none.contains("secret_env"), "{none}");
    }
}

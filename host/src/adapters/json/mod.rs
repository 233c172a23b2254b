//! A declarative adapter for any CRM that posts JSON (Zoho, Dataverse, Twenty,
//! EspoCRM, Close, Attio, …): the source's options say where things are, with
//! JSON pointers ([`pointer`]), and how the request is authenticated. The
//! README's "Any other CRM: the json adapter" lists every option, with a worked
//! example per CRM (each tested in [`tests`] on a fixture).
//!
//! A request holds events (`events`, else the body is one event); an event
//! holds records (`records`, else the event is one record). The event says what
//! happened and when; each record becomes one lead event.

mod pointer;
#[cfg(test)]
mod tests;

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
use pointer::{Pointer, is_key_value_list, plain_dotnet};

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

/// How the signature header carries the HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Encoding {
    Hex,
    Base64,
    /// EspoCRM's `Signature`: base64 of `{webhook id}:{hex HMAC}`.
    Espocrm,
    /// EspoCRM's legacy `X-Signature`: base64 of `{webhook id}:` + the raw HMAC.
    EspocrmLegacy,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Hex => "hex",
            Encoding::Base64 => "base64",
            Encoding::Espocrm => "base64 of `{webhook id}:{hex}` (espocrm)",
            Encoding::EspocrmLegacy => "base64 of `{webhook id}:{raw}` (espocrm-legacy)",
        }
    }

    /// The HMAC bytes a header value carries, if it is well formed.
    fn decode(self, given: &str) -> Option<Vec<u8>> {
        let after_id = |decoded: Vec<u8>| -> Option<Vec<u8>> {
            let colon = decoded.iter().position(|b| *b == b':')?;
            Some(decoded[colon + 1..].to_vec())
        };
        match self {
            Encoding::Hex => decode_hex(given),
            Encoding::Base64 => decode_base64(given),
            Encoding::Espocrm => {
                let hex = after_id(decode_base64(given)?)?;
                decode_hex(std::str::from_utf8(&hex).ok()?)
            }
            Encoding::EspocrmLegacy => after_id(decode_base64(given)?),
        }
    }
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
    records: Option<String>,
    record_id: String,
    event_id: Option<String>,
    idempotency_header: Option<String>,
    trigger: Option<String>,
    trigger_query: Option<String>,
    #[serde(default)]
    triggers: BTreeMap<String, TriggerTo>,
    default_trigger: Option<TriggerTo>,
    object_type: Option<String>,
    objects: Option<Vec<String>>,
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
    token_query: Option<String>,
    token_pointer: Option<String>,
}

/// Where the shared token is.
enum TokenAt {
    Header(String),
    Query(String),
    Body(Pointer),
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
        at: TokenAt,
        expected: String,
    },
}

/// Where an event's trigger comes from.
enum Trigger {
    Fixed(TriggerTo),
    Body(Pointer),
    /// A query parameter of the URL the CRM calls (one webhook per event type).
    Query(String),
}

pub struct JsonAdapter {
    events: Option<Pointer>,
    records: Option<Pointer>,
    record_id: Pointer,
    event_id: Option<Pointer>,
    idempotency_header: Option<String>,
    trigger: Trigger,
    triggers: BTreeMap<String, TriggerTo>,
    object: Option<(Pointer, Vec<String>)>,
    reason: Option<Pointer>,
    occurred_at: Option<Pointer>,
    fields: Option<Pointer>,
    complete: bool,
    changed: Option<Pointer>,
    email: Option<Pointer>,
    owner: Option<Pointer>,
    company_domain: Option<Pointer>,
    lifecycle_stage: Option<Pointer>,
    created_at: Option<Pointer>,
    auth: Auth,
}

fn check_header(name: &str, h: &Option<String>) -> Result<Option<String>, String> {
    match h {
        None => Ok(None),
        Some(h) => http::HeaderName::from_bytes(h.trim().as_bytes())
            .map(|n| Some(n.as_str().to_string()))
            .map_err(|_| format!("json adapter options: {name} = \"{h}\" is not a header name")),
    }
}

fn pointer(name: &str, p: Option<String>) -> Result<Option<Pointer>, String> {
    p.map(|p| Pointer::parse(name, &p)).transpose()
}

fn error(message: &str) -> Result<JsonAdapter, String> {
    Err(format!("json adapter options: {message}"))
}

/// The first query parameter `name` of a URL, decoded.
fn query_value(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or_default();
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl JsonAdapter {
    pub fn new(table: &toml::Table, secret: Option<String>) -> Result<JsonAdapter, String> {
        let o: Options = options("json", table)?;
        if !o.triggers.is_empty() && o.trigger.is_none() && o.trigger_query.is_none() {
            return error(
                "triggers is set but trigger (the pointer to the CRM's value) or trigger_query \
                 (the query parameter holding it) is not",
            );
        }
        let trigger = match (o.trigger, o.trigger_query, o.default_trigger) {
            (Some(_), Some(_), _) => return error("set trigger or trigger_query, not both"),
            (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
                return error(
                    "default_trigger applies only when neither trigger nor trigger_query is set",
                );
            }
            (Some(p), None, None) => Trigger::Body(Pointer::parse("trigger", &p)?),
            (None, Some(q), None) if q.is_empty() => {
                return error("trigger_query is empty: name the query parameter");
            }
            (None, Some(q), None) => Trigger::Query(q),
            (None, None, Some(TriggerTo::Skip)) => {
                return error("default_trigger = \"skip\" would skip every event");
            }
            (None, None, d) => Trigger::Fixed(d.unwrap_or(TriggerTo::Updated)),
        };
        let object = match (o.object_type, o.objects) {
            (None, None) => None,
            (Some(p), Some(objects)) if !objects.is_empty() => {
                Some((Pointer::parse("object_type", &p)?, objects))
            }
            (Some(_), _) => {
                return error(
                    "object_type needs objects, the object types to take (e.g. [\"lead\"])",
                );
            }
            (None, Some(_)) => {
                return error("objects needs object_type, the pointer to the event's object type");
            }
        };
        let idempotency_header = check_header("idempotency_header", &o.idempotency_header)?;
        if idempotency_header.is_some() && o.event_id.is_some() {
            return error("set event_id (in the body) or idempotency_header, not both");
        }

        let signature_header = check_header("signature_header", &o.signature_header)?;
        let token_header = check_header("token_header", &o.token_header)?;
        let timestamp_header = check_header("timestamp_header", &o.timestamp_header)?;
        let token_pointer = pointer("token_pointer", o.token_pointer)?;
        let schemes = [
            signature_header.is_some(),
            token_header.is_some(),
            o.token_query.is_some(),
            token_pointer.is_some(),
        ];
        let auth = match schemes.iter().filter(|set| **set).count() {
            0 => {
                return error(
                    "set signature_header (the CRM signs its requests with HMAC-SHA256), or \
                     token_header, token_query or token_pointer (it sends a shared token in a \
                     header, the URL's query or the body); without one, anyone could post leads \
                     to this source",
                );
            }
            2.. => {
                return error(
                    "set one of signature_header (HMAC), token_header, token_query or \
                     token_pointer, not both",
                );
            }
            _ => match signature_header {
                Some(header) => {
                    let secret =
                        need_secret("json", secret, "the key the CRM signs webhooks with")?;
                    let key = match o.secret_encoding.unwrap_or(SecretEncoding::Text) {
                        SecretEncoding::Text => secret.into_bytes(),
                        SecretEncoding::Hex => decode_hex(&secret).ok_or(
                            "json adapter: secret_encoding = \"hex\" but the secret is not hex",
                        )?,
                        SecretEncoding::Base64 => decode_base64(&secret).ok_or(
                            "json adapter: secret_encoding = \"base64\" but the secret is not \
                             base64",
                        )?,
                    };
                    let signed = o.signed.unwrap_or(Signed::Body);
                    if signed == Signed::TimestampBody && timestamp_header.is_none() {
                        return error("signed = \"timestamp.body\" needs timestamp_header");
                    }
                    if o.separator.is_some() && signed != Signed::TimestampBody {
                        return error("separator applies only to signed = \"timestamp.body\"");
                    }
                    if o.tolerance_seconds.is_some() && timestamp_header.is_none() {
                        return error("tolerance_seconds needs timestamp_header");
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
                None => {
                    let misplaced = [
                        ("timestamp_header", timestamp_header.is_some()),
                        ("signed", o.signed.is_some()),
                        ("separator", o.separator.is_some()),
                        ("encoding", o.encoding.is_some()),
                        ("secret_encoding", o.secret_encoding.is_some()),
                        ("tolerance_seconds", o.tolerance_seconds.is_some()),
                    ];
                    if let Some((name, _)) = misplaced.iter().find(|(_, set)| *set) {
                        return error(&format!(
                            "{name} applies to signature_header (HMAC), not to a shared token"
                        ));
                    }
                    let (at, what) = match (token_header, o.token_query, token_pointer) {
                        (Some(h), _, _) => (TokenAt::Header(h), "the token the CRM sends"),
                        (_, Some(q), _) => {
                            (TokenAt::Query(q), "the token in the URL the CRM calls")
                        }
                        (_, _, Some(p)) => (TokenAt::Body(p), "the token the CRM puts in its body"),
                        (None, None, None) => unreachable!("one scheme is set"),
                    };
                    if o.prefix.is_some() && !matches!(at, TokenAt::Header(_)) {
                        return error(
                            "prefix applies to signature_header and token_header, not to \
                             token_query or token_pointer",
                        );
                    }
                    let secret = need_secret("json", secret, what)?;
                    Auth::Token {
                        at,
                        expected: format!("{}{secret}", o.prefix.unwrap_or_default()),
                    }
                }
            },
        };
        Ok(JsonAdapter {
            events: pointer("events", o.events)?,
            records: pointer("records", o.records)?,
            record_id: Pointer::parse("record_id", &o.record_id)?,
            event_id: pointer("event_id", o.event_id)?,
            idempotency_header,
            trigger,
            triggers: o.triggers,
            object,
            reason: pointer("reason", o.reason)?,
            occurred_at: pointer("occurred_at", o.occurred_at)?,
            fields: pointer("fields", o.fields)?,
            complete: o.complete.unwrap_or(true),
            changed: pointer("changed", o.changed)?,
            email: pointer("email", o.email)?,
            owner: pointer("owner", o.owner)?,
            company_domain: pointer("company_domain", o.company_domain)?,
            lifecycle_stage: pointer("lifecycle_stage", o.lifecycle_stage)?,
            created_at: pointer("created_at", o.created_at)?,
            auth,
        })
    }

    /// The CRM's value for what happened, mapped; `whence` names it in errors.
    fn trigger_of(&self, v: &Json, whence: &str, option: &str) -> Result<TriggerTo, AdapterError> {
        let text = match v {
            Json::String(s) => s.clone(),
            Json::Number(_) | Json::Bool(_) => v.to_string(),
            other => {
                return Err(bad(format!(
                    "{whence}: expected the CRM's event name, found {} (options.{option})",
                    type_name(other)
                )));
            }
        };
        if self.triggers.is_empty() {
            return match text.to_ascii_lowercase().as_str() {
                "created" => Ok(TriggerTo::Created),
                "updated" => Ok(TriggerTo::Updated),
                "deleted" => Ok(TriggerTo::Deleted),
                "rejected" => Ok(TriggerTo::Rejected),
                _ => Err(bad(format!(
                    "{whence}: `{text}` is not created, updated, deleted or rejected: map the \
                     CRM's values with options.triggers"
                ))),
            };
        }
        self.triggers.get(&text).copied().ok_or_else(|| {
            let known: Vec<&str> = self.triggers.keys().map(String::as_str).collect();
            bad(format!(
                "{whence}: `{text}` is not in options.triggers (known: {}); map it to \"skip\" \
                 to leave such events out",
                known.join(", ")
            ))
        })
    }

    /// The lead events of one event (one per record), appended to `out`.
    /// `dedup_base` is the delivery's idempotency key and the event's index
    /// in it, when the CRM sends one in a header.
    fn event(
        &self,
        event: &Json,
        base: &str,
        from_url: Option<TriggerTo>,
        dedup_base: Option<String>,
        now_ms: i64,
        out: &mut Vec<LeadEvent>,
    ) -> Result<(), AdapterError> {
        let missing = |option: &str, p: &Pointer| {
            bad(format!("{base}{}: missing (options.{option})", p.as_str()))
        };

        if let Some((p, objects)) = &self.object {
            let v = p.get(event).ok_or_else(|| missing("object_type", p))?;
            let Some(kind) = scalar_text(v) else {
                return Err(bad(format!(
                    "{base}{}: expected the object's type, found {} (options.object_type)",
                    p.as_str(),
                    type_name(v)
                )));
            };
            if !objects.contains(&kind) {
                return Ok(());
            }
        }

        let to = match (&self.trigger, from_url) {
            (Trigger::Fixed(to), _) => *to,
            (Trigger::Query(_), Some(to)) => to,
            (Trigger::Query(_), None) => unreachable!("parse reads the query's trigger"),
            (Trigger::Body(p), _) => {
                let v = p.get(event).ok_or_else(|| missing("trigger", p))?;
                self.trigger_of(v, &format!("{base}{}", p.as_str()), "trigger")?
            }
        };
        let kind = match to {
            TriggerTo::Skip => return Ok(()),
            TriggerTo::Created => EventKind::Created,
            TriggerTo::Updated => EventKind::Updated,
            TriggerTo::Deleted => EventKind::Deleted,
            TriggerTo::Rejected => EventKind::Rejected(
                self.reason
                    .as_ref()
                    .and_then(|p| p.get(event))
                    .and_then(scalar_text)
                    .unwrap_or_default(),
            ),
        };

        let at = match &self.occurred_at {
            None => None,
            Some(p) => {
                let v = p.get(event).ok_or_else(|| missing("occurred_at", p))?;
                Some(time_of(v).ok_or_else(|| {
                    bad(format!(
                        "{base}{}: {v} is not a time (expected seconds or ms since the epoch, \
                         RFC 3339 or /Date(ms)/) (options.occurred_at)",
                        p.as_str()
                    ))
                })?)
            }
        };

        // The dedup key: the CRM's event id (with its time, as Close updates
        // an event in place), else its idempotency header, else the event's
        // content: never the record id alone, which would collapse real updates.
        let dedup_base = match &self.event_id {
            None => dedup_base,
            Some(p) => {
                let v = p.get(event).ok_or_else(|| missing("event_id", p))?;
                let id = id_text(v).ok_or_else(|| {
                    bad(format!(
                        "{base}{}: expected an event id (a non-empty string or an integer), \
                         found {} (options.event_id)",
                        p.as_str(),
                        type_name(v)
                    ))
                })?;
                Some(match at {
                    Some(ms) => format!("{id}@{ms}"),
                    None => id,
                })
            }
        };
        let content = dedup_base
            .is_none()
            .then(|| hex::encode(sha256(&[event.to_string().as_bytes()])));

        let records: Vec<(String, &Json)> = match &self.records {
            None => vec![(base.to_string(), event)],
            Some(p) => match p.find(event) {
                Some(Json::Array(items)) => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| (format!("{base}{}/{i}", p.as_str()), item))
                    .collect(),
                None | Some(Json::Null) => return Err(missing("records", p)),
                Some(v) => {
                    return Err(bad(format!(
                        "{base}{}: expected an array of records, found {} (options.records)",
                        p.as_str(),
                        type_name(v)
                    )));
                }
            },
        };
        for (base, record) in records {
            let lead = self.lead(record, &base)?;
            let changed = self.changed(record, &base)?;
            let dedup_key = match (&dedup_base, &content) {
                (Some(key), _) if self.records.is_some() => format!("json:{key}/{}", lead.id),
                (Some(key), _) => format!("json:{key}"),
                (None, Some(hash)) => format!("json:{}:sha256:{hash}", lead.id),
                (None, None) => unreachable!("a content hash is made without another key"),
            };
            out.push(LeadEvent {
                dedup_key,
                kind: kind.clone(),
                at: at.unwrap_or(now_ms),
                lead,
                changed,
                complete: self.complete,
            });
        }
        Ok(())
    }

    /// One record's lead: its id, fields and mapped properties.
    fn lead(&self, record: &Json, base: &str) -> Result<crate::lead::LeadDoc, AdapterError> {
        let p = &self.record_id;
        let v = p
            .get(record)
            .ok_or_else(|| bad(format!("{base}{}: missing (options.record_id)", p.as_str())))?;
        let record_id = id_text(v).ok_or_else(|| {
            bad(format!(
                "{base}{}: expected the record's id (a non-empty string or an integer), found {} \
                 (options.record_id)",
                p.as_str(),
                type_name(v)
            ))
        })?;
        let mut lead = lead_with_id(record_id);
        if let Some(p) = &self.fields {
            match p.find(record) {
                None | Some(Json::Null) => {}
                Some(Json::Object(map)) => {
                    for (k, v) in map {
                        flatten_into(&mut lead.fields, k, v);
                    }
                }
                // Dataverse's Attributes: [{"key": name, "value": typed value}].
                Some(list) if is_key_value_list(list) => {
                    for entry in list.as_array().into_iter().flatten() {
                        let name = entry["key"].as_str().unwrap_or_default();
                        flatten_into(&mut lead.fields, name, &plain_dotnet(&entry["value"]));
                    }
                }
                Some(v) => {
                    return Err(bad(format!(
                        "{base}{}: expected an object of fields or a list of {{key, value}}, \
                         found {} (options.fields)",
                        p.as_str(),
                        type_name(v)
                    )));
                }
            }
        }
        let text = |p: &Option<Pointer>| {
            p.as_ref()
                .and_then(|p| p.get(record))
                .map(plain_dotnet)
                .as_ref()
                .and_then(scalar_text)
        };
        lead.email = text(&self.email);
        lead.owner = text(&self.owner);
        lead.lifecycle_stage = text(&self.lifecycle_stage);
        lead.company_domain = text(&self.company_domain).and_then(|s| domain_of(&s));
        lead.created_at = self
            .created_at
            .as_ref()
            .and_then(|p| p.get(record))
            .and_then(time_of)
            .map(Timestamp::Millis);
        Ok(lead)
    }

    fn changed(&self, record: &Json, base: &str) -> Result<Vec<String>, AdapterError> {
        let Some(p) = &self.changed else {
            return Ok(Vec::new());
        };
        match p.find(record) {
            None | Some(Json::Null) => Ok(Vec::new()),
            Some(Json::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    item.as_str().map(str::to_string).ok_or_else(|| {
                        bad(format!(
                            "{base}{}/{i}: expected a field name, found {} (options.changed)",
                            p.as_str(),
                            type_name(item)
                        ))
                    })
                })
                .collect(),
            Some(v) => Err(bad(format!(
                "{base}{}: expected an array of field names, found {} (options.changed)",
                p.as_str(),
                type_name(v)
            ))),
        }
    }

    fn verify_hmac(&self, req: &WebhookRequest) -> Result<(), AdapterError> {
        let Auth::Hmac {
            header: name,
            timestamp_header,
            signed,
            separator,
            encoding,
            prefix,
            key,
            tolerance_seconds,
        } = &self.auth
        else {
            unreachable!("called for HMAC sources")
        };
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
        if !encoding.decode(given).is_some_and(|g| ct_eq(&g, &mac)) {
            let over = match signed {
                Signed::Body => "the raw body".to_string(),
                Signed::TimestampBody => format!("timestamp + \"{separator}\" + the raw body"),
            };
            return Err(unauthorized(format!(
                "{name} does not match (HMAC-SHA256 over {over}, {}): check the secret and the \
                 signature options",
                encoding.name()
            )));
        }
        if let Some((t, _, ms)) = timestamp {
            check_fresh(t, ms, req.now_ms, *tolerance_seconds)?;
        }
        Ok(())
    }
}

impl Adapter for JsonAdapter {
    fn verify(&self, req: &WebhookRequest) -> Result<(), AdapterError> {
        require_json(req.headers)?;
        let Auth::Token { at, expected } = &self.auth else {
            return self.verify_hmac(req);
        };
        let (given, whence) = match at {
            TokenAt::Header(name) => (
                header(req.headers, name)?.map(str::to_string),
                format!("the {name} header"),
            ),
            TokenAt::Query(name) => (
                query_value(req.url, name),
                format!("the URL's `{name}` query parameter"),
            ),
            TokenAt::Body(p) => {
                let body = parse_json(req.body)?;
                let token = p.get(&body).and_then(Json::as_str).map(str::to_string);
                (token, format!("body{}", p.as_str()))
            }
        };
        match given {
            None => Err(unauthorized(format!("missing token: {whence} is not set"))),
            Some(given) if ct_eq(given.as_bytes(), expected.as_bytes()) => Ok(()),
            Some(_) => Err(unauthorized(format!("wrong token in {whence}"))),
        }
    }

    fn parse(&self, req: &WebhookRequest) -> Result<Vec<LeadEvent>, AdapterError> {
        let body = parse_json(req.body)?;
        let from_url = match &self.trigger {
            Trigger::Query(name) => {
                let v = query_value(req.url, name).ok_or_else(|| {
                    bad(format!(
                        "the URL has no `{name}` query parameter (options.trigger_query): \
                         register the webhook as …?{name}=EVENT"
                    ))
                })?;
                Some(self.trigger_of(&Json::String(v), &format!("?{name}"), "trigger_query")?)
            }
            _ => None,
        };
        let key = match &self.idempotency_header {
            None => None,
            Some(name) => Some(
                header(req.headers, name)?
                    .filter(|v| !v.trim().is_empty())
                    .ok_or_else(|| {
                        bad(format!(
                            "missing {name} header (options.idempotency_header)"
                        ))
                    })?
                    .trim()
                    .to_string(),
            ),
        };
        let with_index = |i: usize| key.as_ref().map(|k| format!("{k}#{i}"));
        let mut out = Vec::new();
        match &self.events {
            None => self.event(&body, "body", from_url, with_index(0), req.now_ms, &mut out)?,
            Some(p) => {
                let items = match p.find(&body) {
                    Some(Json::Array(items)) => items,
                    None | Some(Json::Null) => {
                        return Err(bad(format!("body{}: missing (options.events)", p.as_str())));
                    }
                    Some(v) => {
                        return Err(bad(format!(
                            "body{}: expected an array of events, found {} (options.events)",
                            p.as_str(),
                            type_name(v)
                        )));
                    }
                };
                for (i, item) in items.iter().enumerate() {
                    let base = format!("body{}/{i}", p.as_str());
                    self.event(item, &base, from_url, with_index(i), req.now_ms, &mut out)?;
                }
            }
        }
        Ok(out)
    }
}

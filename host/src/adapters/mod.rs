//! CRM webhook adapters: check that a request comes from the CRM, turn the CRM's
//! body into canonical [`LeadEvent`]s, and render the answer the CRM expects.
//!
//! One module per CRM ([`hubspot`], [`salesforce`], [`pipedrive`]), the signed
//! canonical lead JSON ([`generic`]), and a declarative adapter for any other CRM
//! that posts JSON ([`json`]). Everything here is pure and synchronous: no I/O, no
//! clock (the server passes `now_ms`), so the HTTP server just calls
//! [`Adapter::verify`], [`Adapter::parse`], then [`Adapter::accepted`] or
//! [`Adapter::failed`].
//!
//! Field values keep the CRM's own property names. They are JSON scalars (text,
//! numbers, booleans, null) or lists of scalars, so that every lead an adapter
//! makes converts with [`crate::lead::LeadDoc::to_lead`]: nested CRM structures are
//! flattened (see [`flatten_into`]).

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::decision::Decision;
use crate::lead::{EventDoc, LeadDoc, Timestamp, TriggerDoc};
pub(crate) use crate::lead::{epoch_to_ms, parse_time};

pub mod generic;
pub mod hubspot;
pub mod json;
pub mod pipedrive;
pub mod salesforce;
pub(crate) mod sig;

/// One HTTP request as the CRM sent it.
pub struct WebhookRequest<'a> {
    pub method: &'a str,
    /// The URL as the CRM called it (public scheme://host/path?query, from the
    /// source's configured public_url + the request's path and query): HubSpot
    /// v2/v3 sign it.
    pub url: &'a str,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
    /// Now, ms since epoch (tests pass a fixed value).
    pub now_ms: i64,
}

/// What happened to the lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    Created,
    Updated,
    Deleted,
    /// Sales rejected the lead, with the reason they gave (the contract's
    /// `rejected` trigger; the `generic` and `json` adapters can carry it).
    Rejected(String),
    /// The owner did not act within SLA policy NAME (fired by the SLA
    /// worker, never sent by a CRM).
    SlaBreached(String),
}

impl EventKind {
    /// The stable name: `created`, `updated`, `deleted`, `rejected`, `sla-breached`.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Updated => "updated",
            EventKind::Deleted => "deleted",
            EventKind::Rejected(_) => "rejected",
            EventKind::SlaBreached(_) => "sla-breached",
        }
    }

    /// The pipeline trigger for this kind; `None` for a deletion (there is
    /// nothing left to decide about).
    pub fn trigger(&self) -> Option<TriggerDoc> {
        match self {
            EventKind::Created => Some(TriggerDoc::Created),
            EventKind::Updated => Some(TriggerDoc::Updated),
            EventKind::Deleted => None,
            EventKind::Rejected(_) => Some(TriggerDoc::Rejected),
            EventKind::SlaBreached(_) => Some(TriggerDoc::SlaBreached),
        }
    }
}

/// One lead event in canonical form; a request may carry many.
#[derive(Debug, Clone, Serialize)]
pub struct LeadEvent {
    /// Idempotency key, unique per real event (see each adapter for its parts).
    pub dedup_key: String,
    pub kind: EventKind,
    /// When it happened in the CRM (ms); orders updates (older never overwrites newer).
    pub at: i64,
    /// What this event says about the lead: `id` always; email, company_domain,
    /// owner, lifecycle_stage and created_at when this event tells them
    /// (mapped from the CRM's own properties); `fields` with the CRM's own
    /// property names. A mapped value is `Some` only when known and non-empty:
    /// for a delta, a cleared property shows in `fields` (as `""` or null), not as
    /// `None` here.
    pub lead: LeadDoc,
    /// Property names this event changed (empty when created, or when the CRM
    /// sends the whole record without saying what changed).
    pub changed: Vec<String>,
    /// true when `lead.fields` is the whole record, false when it is only a delta.
    pub complete: bool,
}

impl LeadEvent {
    /// The event as the pipeline reads it (`id` is the dedup key), or `None` for
    /// a deletion.
    pub fn event_doc(&self) -> Option<EventDoc> {
        let trigger = self.kind.trigger()?;
        Some(EventDoc {
            id: Some(self.dedup_key.clone()),
            trigger,
            reason: match &self.kind {
                EventKind::Rejected(reason) | EventKind::SlaBreached(reason) => {
                    Some(reason.clone())
                }
                _ => None,
            },
            changed: self.changed.clone(),
            at: Some(Timestamp::Millis(self.at)),
        })
    }
}

/// An HTTP answer in the CRM's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, value: &Json) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    /// 401: missing or wrong signature, stale timestamp, wrong org id, bad Basic auth.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 400: the body is malformed; the message names the problem and where.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 415: the content type is not one this adapter reads.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
}

impl AdapterError {
    pub fn status(&self) -> u16 {
        match self {
            AdapterError::Unauthorized(_) => 401,
            AdapterError::BadRequest(_) => 400,
            AdapterError::UnsupportedMediaType(_) => 415,
        }
    }

    /// The message without the kind prefix.
    pub fn message(&self) -> &str {
        match self {
            AdapterError::Unauthorized(m)
            | AdapterError::BadRequest(m)
            | AdapterError::UnsupportedMediaType(m) => m,
        }
    }
}

pub(crate) fn bad(message: impl Into<String>) -> AdapterError {
    AdapterError::BadRequest(message.into())
}

pub(crate) fn unauthorized(message: impl Into<String>) -> AdapterError {
    AdapterError::Unauthorized(message.into())
}

pub trait Adapter: Send + Sync {
    /// Check the request is from the CRM (and is a content type this adapter
    /// reads). Called before parse.
    fn verify(&self, req: &WebhookRequest) -> Result<(), AdapterError>;

    /// The request's lead events, in body order. Events the adapter does not
    /// handle (other object types, say) are left out.
    fn parse(&self, req: &WebhookRequest) -> Result<Vec<LeadEvent>, AdapterError>;

    /// The answer once every event is recorded (decisions made or recalled as
    /// duplicates): 200 JSON `{"accepted": n, "decisions": [ids]}`.
    fn accepted(&self, decisions: &[Decision]) -> Reply {
        let ids: Vec<&str> = decisions.iter().map(|d| d.id.as_str()).collect();
        Reply::json(
            200,
            &serde_json::json!({ "accepted": decisions.len(), "decisions": ids }),
        )
    }

    /// The answer to a failure, so the CRM retries when it should: JSON
    /// `{"error": message}` with the status.
    fn failed(&self, status: u16, message: &str) -> Reply {
        Reply::json(status, &serde_json::json!({ "error": message }))
    }
}

/// The adapter kinds `build` knows.
pub const KINDS: &[&str] = &["hubspot", "salesforce", "pipedrive", "generic", "json"];

/// Build an adapter from a source's config: `kind` = hubspot|salesforce|
/// pipedrive|generic|json, `options` = the source's adapter options table
/// (unknown keys are rejected), `secret` = the secret read from the environment
/// variable the config names (None if the config names none).
pub fn build(
    kind: &str,
    options: &toml::Table,
    secret: Option<String>,
) -> Result<Box<dyn Adapter>, String> {
    let secret = secret.filter(|s| !s.is_empty());
    Ok(match kind {
        "hubspot" => Box::new(hubspot::HubSpot::new(options, secret)?),
        "salesforce" => Box::new(salesforce::Salesforce::new(options, secret)?),
        "pipedrive" => Box::new(pipedrive::Pipedrive::new(options, secret)?),
        "generic" => Box::new(generic::Generic::new(options, secret)?),
        "json" => Box::new(json::JsonAdapter::new(options, secret)?),
        other => {
            return Err(format!(
                "unknown adapter `{other}` (expected one of {})",
                KINDS.join(", ")
            ));
        }
    })
}

/// The adapter of `[sources.NAME]`: its secret read from the environment
/// variable the source names, its options checked (unknown keys, values that
/// are not JSON pointers...). `serve` and `validate` both build sources here.
pub fn for_source(
    name: &str,
    source: &crate::config::SourceConfig,
) -> Result<Box<dyn Adapter>, String> {
    let secret = match &source.secret_env {
        Some(var) => Some(std::env::var(var).map_err(|_| {
            format!(
                "sources.{name}.secret_env: the environment variable `{var}` is not set (it holds \
                 the source's secret)"
            )
        })?),
        None => None,
    };
    build(source.adapter.get_ref(), &source.options, secret)
        .map_err(|e| format!("sources.{name}: {e}"))
}

/// Deserialize an adapter's options table; unknown keys are refused.
pub(crate) fn options<T: DeserializeOwned>(kind: &str, table: &toml::Table) -> Result<T, String> {
    toml::Value::Table(table.clone())
        .try_into()
        .map_err(|e: toml::de::Error| format!("{kind} adapter options: {}", e.message().trim_end()))
}

/// The secret, or a message saying which secret is missing.
pub(crate) fn need_secret(
    kind: &str,
    secret: Option<String>,
    what: &str,
) -> Result<String, String> {
    secret.ok_or_else(|| {
        format!(
            "the {kind} adapter needs a secret ({what}): set `secret_env` to the name of an \
             environment variable that holds it, and set that variable"
        )
    })
}

// ---------------------------------------------------------------------------
// Request helpers

/// A header's value as text; `None` when absent.
pub(crate) fn header<'h>(
    headers: &'h http::HeaderMap,
    name: &str,
) -> Result<Option<&'h str>, AdapterError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| bad(format!("header {name}: not visible ASCII text"))),
    }
}

/// Check the request's media type (parameters such as charset are allowed).
pub(crate) fn require_content_type(
    headers: &http::HeaderMap,
    accepted: &[&str],
) -> Result<(), AdapterError> {
    let expected = accepted.join(" or ");
    let Some(value) = headers.get(http::header::CONTENT_TYPE) else {
        return Err(AdapterError::UnsupportedMediaType(format!(
            "no Content-Type header: expected {expected}"
        )));
    };
    let text = value.to_str().unwrap_or("");
    let media = text.split(';').next().unwrap_or("").trim();
    if accepted.iter().any(|a| media.eq_ignore_ascii_case(a)) {
        Ok(())
    } else {
        Err(AdapterError::UnsupportedMediaType(format!(
            "Content-Type `{text}`: expected {expected}"
        )))
    }
}

pub(crate) fn require_json(headers: &http::HeaderMap) -> Result<(), AdapterError> {
    require_content_type(headers, &["application/json"])
}

/// The body as JSON, or a 400 that says where it stops being JSON.
pub(crate) fn parse_json(body: &[u8]) -> Result<Json, AdapterError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(bad("body: empty (expected JSON)"));
    }
    serde_json::from_slice(body).map_err(|e| bad(format!("body: not valid JSON: {e}")))
}

/// The JSON type's name, for messages.
pub(crate) fn type_name(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// An id: a non-empty string, or an integer (as text).
pub(crate) fn id_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Json::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// A required id at `obj[key]`; the error names `at.key`.
pub(crate) fn req_id(
    obj: &serde_json::Map<String, Json>,
    key: &str,
    at: &str,
) -> Result<String, AdapterError> {
    match obj.get(key) {
        None | Some(Json::Null) => Err(bad(format!("{at}.{key}: missing"))),
        Some(v) => id_text(v).ok_or_else(|| {
            bad(format!(
                "{at}.{key}: expected an id (a non-empty string or an integer), found {}",
                type_name(v)
            ))
        }),
    }
}

/// Text for a mapped lead property: non-empty strings, and numbers as text.
pub(crate) fn scalar_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Times

/// A time in a JSON value as milliseconds: a number (or digits) since the
/// epoch, or any text [`parse_time`] reads.
pub(crate) fn time_of(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_f64().and_then(epoch_to_ms),
        Json::String(s) => parse_time(s),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Lead values

/// A company's web domain from a website or domain property:
/// `https://www.Acme.com/about` → `acme.com`.
pub(crate) fn domain_of(website: &str) -> Option<String> {
    let mut s = website.trim().to_ascii_lowercase();
    if let Some(i) = s.find("://") {
        s = s[i + 3..].to_string();
    }
    let end = s.find(['/', '?', '#']).unwrap_or(s.len());
    s.truncate(end);
    if let Some(i) = s.rfind('@') {
        s = s[i + 1..].to_string();
    }
    if let Some(i) = s.find(':') {
        s.truncate(i);
    }
    let s = s.trim_end_matches('.');
    let s = s.strip_prefix("www.").unwrap_or(s);
    let ok = s.contains('.')
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    ok.then(|| s.to_string())
}

fn is_scalar(v: &Json) -> bool {
    !matches!(v, Json::Array(_) | Json::Object(_))
}

/// Put `value` into `fields` under `name` as a value the contract can carry:
/// - scalars as they are; lists of scalars as they are;
/// - a list of objects with a `value` (Pipedrive's emails and phones:
///   `[{"value": "a@b.c", "primary": true}]`) as the list of those values, primary first;
/// - an object with a scalar `value` (Pipedrive v1's `org_id: {"value": 402, "name": …}`)
///   as that value, its other scalar members as `name.member`;
/// - any other object member by member, as `name.member`;
/// - anything else (lists of lists, say) as JSON text.
pub fn flatten_into(fields: &mut BTreeMap<String, Json>, name: &str, value: &Json) {
    flatten_depth(fields, name, value, 0);
}

fn flatten_depth(fields: &mut BTreeMap<String, Json>, name: &str, value: &Json, depth: usize) {
    match value {
        Json::Array(items) if items.iter().all(is_scalar) => {
            fields.insert(name.to_string(), value.clone());
        }
        Json::Array(items)
            if items.iter().all(|i| {
                i.as_object()
                    .and_then(|o| o.get("value"))
                    .is_some_and(is_scalar)
            }) =>
        {
            let mut values: Vec<(bool, Json)> = items
                .iter()
                .filter_map(|i| {
                    let o = i.as_object()?;
                    let v = o.get("value")?;
                    if v.is_null() || v.as_str().is_some_and(|s| s.is_empty()) {
                        return None;
                    }
                    let primary = o.get("primary").and_then(Json::as_bool).unwrap_or(false);
                    Some((primary, v.clone()))
                })
                .collect();
            values.sort_by_key(|(primary, _)| !*primary);
            fields.insert(
                name.to_string(),
                Json::Array(values.into_iter().map(|(_, v)| v).collect()),
            );
        }
        Json::Object(map) if depth < 4 => {
            if let Some(v) = map.get("value").filter(|v| is_scalar(v)) {
                fields.insert(name.to_string(), v.clone());
                for (k, v) in map {
                    if k != "value" && is_scalar(v) {
                        fields.insert(format!("{name}.{k}"), v.clone());
                    }
                }
            } else {
                for (k, v) in map {
                    flatten_depth(fields, &format!("{name}.{k}"), v, depth + 1);
                }
            }
        }
        Json::Array(_) | Json::Object(_) => {
            fields.insert(name.to_string(), Json::String(value.to_string()));
        }
        _ => {
            fields.insert(name.to_string(), value.clone());
        }
    }
}

/// A lead with only its id.
pub(crate) fn lead_with_id(id: String) -> LeadDoc {
    LeadDoc {
        id,
        ..LeadDoc::default()
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the adapters' tests.

    use super::*;

    pub fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                http::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                http::HeaderValue::from_str(v).expect("header value"),
            );
        }
        map
    }

    pub fn request<'a>(
        method: &'a str,
        url: &'a str,
        headers: &'a http::HeaderMap,
        body: &'a [u8],
        now_ms: i64,
    ) -> WebhookRequest<'a> {
        WebhookRequest {
            method,
            url,
            headers,
            body,
            now_ms,
        }
    }

    pub fn table(text: &str) -> toml::Table {
        text.parse().expect("test options are TOML")
    }

    pub fn is_unauthorized(r: Result<(), AdapterError>, needle: &str) {
        match r {
            Err(AdapterError::Unauthorized(m)) => {
                assert!(
                    m.contains(needle),
                    "message `{m}` should mention `{needle}`"
                )
            }
            other => panic!("expected Unauthorized mentioning `{needle}`, got {other:?}"),
        }
    }

    pub fn bad_request<T: std::fmt::Debug>(r: Result<T, AdapterError>, needle: &str) {
        match r {
            Err(AdapterError::BadRequest(m)) => {
                assert!(
                    m.contains(needle),
                    "message `{m}` should mention `{needle}`"
                )
            }
            other => panic!("expected BadRequest mentioning `{needle}`, got {other:?}"),
        }
    }

    /// Every lead an adapter makes must convert to the contract's type.
    pub fn converts(events: &[LeadEvent]) {
        for e in events {
            e.lead
                .to_lead("test")
                .unwrap_or_else(|err| panic!("{}: lead does not convert: {err}", e.dedup_key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn build_rejects_unknown_kind_and_options() {
        let err = build("zoho", &toml::Table::new(), None).err().unwrap();
        assert!(err.contains("unknown adapter `zoho`"), "{err}");
        let err = build(
            "pipedrive",
            &table("username = \"u\"\npasword = \"x\""),
            Some("p".into()),
        )
        .err()
        .unwrap();
        assert!(err.contains("pasword"), "{err}");
        let err = build("generic", &toml::Table::new(), None).err().unwrap();
        assert!(err.contains("secret_env"), "{err}");
        for kind in KINDS {
            let _ = build(kind, &toml::Table::new(), Some("s".into()));
        }
    }

    #[test]
    fn content_type_checks_allow_parameters() {
        let h = headers(&[("content-type", "application/json; charset=utf-8")]);
        assert!(require_json(&h).is_ok());
        let h = headers(&[("content-type", "Application/JSON")]);
        assert!(require_json(&h).is_ok());
        let h = headers(&[("content-type", "text/plain")]);
        assert!(matches!(
            require_json(&h),
            Err(AdapterError::UnsupportedMediaType(_))
        ));
        assert!(matches!(
            require_json(&http::HeaderMap::new()),
            Err(AdapterError::UnsupportedMediaType(_))
        ));
    }

    #[test]
    fn times_and_domains() {
        assert_eq!(parse_time("1715678263"), Some(1_715_678_263_000));
        assert_eq!(parse_time("1715678160456"), Some(1_715_678_160_456));
        assert_eq!(parse_time("1715678263595189"), Some(1_715_678_263_595));
        assert_eq!(
            parse_time("2024-05-14T09:15:53.456Z"),
            Some(1_715_678_153_456)
        );
        assert_eq!(parse_time("2024-05-14 09:15:53"), Some(1_715_678_153_000));
        assert_eq!(parse_time("soon"), None);
        assert_eq!(time_of(&Json::Bool(true)), None);
        assert_eq!(
            domain_of("https://www.Acme.com/about?x=1").as_deref(),
            Some("acme.com")
        );
        assert_eq!(domain_of("acme.co.uk").as_deref(), Some("acme.co.uk"));
        assert_eq!(
            domain_of("http://acme.com:8080").as_deref(),
            Some("acme.com")
        );
        assert_eq!(domain_of("n/a"), None);
        assert_eq!(domain_of(""), None);
    }

    #[test]
    fn flatten_makes_contract_values() {
        let mut f = BTreeMap::new();
        let v: Json = serde_json::json!({
            "emails": [{"value": "b@x.com", "primary": false}, {"value": "a@x.com", "primary": true}],
            "org_id": {"value": 402, "name": "Acme", "people_count": 3},
            "custom_fields": {"abc": {"type": "varchar", "value": "x"}, "def": 5},
            "grid": [[1, 2]],
            "tags": ["a", "b"]
        });
        for (k, val) in v.as_object().unwrap() {
            flatten_into(&mut f, k, val);
        }
        assert_eq!(f["emails"], serde_json::json!(["a@x.com", "b@x.com"]));
        assert_eq!(f["org_id"], serde_json::json!(402));
        assert_eq!(f["org_id.name"], serde_json::json!("Acme"));
        assert_eq!(f["custom_fields.abc"], serde_json::json!("x"));
        assert_eq!(f["custom_fields.def"], serde_json::json!(5));
        assert_eq!(f["grid"], serde_json::json!("[[1,2]]"));
        assert_eq!(f["tags"], serde_json::json!(["a", "b"]));
        let lead = LeadDoc {
            id: "1".into(),
            fields: f,
            ..LeadDoc::default()
        };
        lead.to_lead("t").unwrap();
    }

    /// No input panics an adapter: every fixture, cut short at every byte and
    /// with bytes changed, through every adapter's verify and parse.
    #[test]
    fn mangled_fixtures_never_panic() {
        const FIXTURES: &[&[u8]] = &[
            include_bytes!("../../../tests/fixtures/webhooks/hubspot-app-batch-docs-example.json"),
            include_bytes!("../../../tests/fixtures/webhooks/hubspot-workflow-contact.json"),
            include_bytes!("../../../tests/fixtures/webhooks/pipedrive-v1-person-updated.json"),
            include_bytes!("../../../tests/fixtures/webhooks/pipedrive-v2-person-create.json"),
            include_bytes!("../../../tests/fixtures/webhooks/salesforce-outbound-lead.xml"),
        ];
        let adapters: Vec<Box<dyn Adapter>> = vec![
            build("hubspot", &table(""), Some("s".into())).unwrap(),
            build("hubspot", &table("signature = \"v1\""), Some("s".into())).unwrap(),
            build(
                "salesforce",
                &table("organization_id = \"00D5g000004SGHn\""),
                None,
            )
            .unwrap(),
            build("pipedrive", &table("username = \"u\""), Some("p".into())).unwrap(),
            build("generic", &table(""), Some("s".into())).unwrap(),
            build(
                "json",
                &table(
                    "events = \"/events\"\nrecord_id = \"/meta/id\"\nevent_id = \"/0/eventId\"\n\
                     occurred_at = \"/meta/timestamp\"\nfields = \"/current\"\nchanged = \"/x\"\n\
                     trigger = \"/meta/action\"\ntriggers = { updated = \"updated\" }\n\
                     signature_header = \"X-Sig\"\ntimestamp_header = \"X-Ts\"\n\
                     signed = \"timestamp.body\"",
                ),
                Some("s".into()),
            )
            .unwrap(),
        ];
        let header_sets = [
            headers(&[
                ("content-type", "application/json"),
                ("x-hubspot-signature-v3", "%%%"),
                ("x-hubspot-request-timestamp", "-99999999999999999999"),
                ("x-hubspot-signature", "zz"),
                ("authorization", "Basic Og=="),
                ("x-leadwire-timestamp", "9223372036854775807"),
                ("x-leadwire-signature", "sha256=é"),
                ("x-sig", "00"),
                ("x-ts", "1e400"),
            ]),
            headers(&[("content-type", "text/xml")]),
        ];
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for fixture in FIXTURES {
            let mut bodies: Vec<Vec<u8>> =
                (0..=fixture.len()).map(|n| fixture[..n].to_vec()).collect();
            for _ in 0..300 {
                let mut b = fixture.to_vec();
                for _ in 0..1 + next() % 4 {
                    let i = (next() as usize) % b.len();
                    b[i] = [b'"', b'{', b']', b'<', b'/', b'0', b'\\', 0xff, b':']
                        [next() as usize % 9];
                }
                bodies.push(b);
            }
            for body in &bodies {
                for h in &header_sets {
                    for a in &adapters {
                        let req = WebhookRequest {
                            method: "POST",
                            url: "https://x.example/h%3F%",
                            headers: h,
                            body,
                            now_ms: i64::MAX,
                        };
                        let _ = a.verify(&req);
                        if let Ok(events) = a.parse(&req) {
                            for e in events {
                                let _ = e.lead.to_lead("t");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn default_replies() {
        struct A;
        impl Adapter for A {
            fn verify(&self, _: &WebhookRequest) -> Result<(), AdapterError> {
                Ok(())
            }
            fn parse(&self, _: &WebhookRequest) -> Result<Vec<LeadEvent>, AdapterError> {
                Ok(vec![])
            }
        }
        let r = A.accepted(&[]);
        assert_eq!(r.status, 200);
        assert_eq!(r.body, br#"{"accepted":0,"decisions":[]}"#);
        let r = A.failed(400, "body[0].objectId: missing");
        assert_eq!(r.status, 400);
        assert_eq!(r.content_type, "application/json");
        assert_eq!(r.body, br#"{"error":"body[0].objectId: missing"}"#);
    }
}

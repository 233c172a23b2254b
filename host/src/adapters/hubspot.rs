//! HubSpot: app webhooks (a JSON array of events) and the workflow "Send a
//! webhook" action (one contact object).
//!
//! Signatures (options `signature`):
//! - `v3` (default): `X-HubSpot-Signature-v3` = base64 HMAC-SHA256(client secret,
//!   method + URI + body + `X-HubSpot-Request-Timestamp`), the URI with HubSpot's
//!   %-escapes decoded; the timestamp (ms) must be within `tolerance_seconds`
//!   (default 300) of now.
//! - `v2`: `X-HubSpot-Signature` = hex SHA-256(secret + method + URL + body)
//!   (workflow webhooks, CRM cards).
//! - `v1`: `X-HubSpot-Signature` = hex SHA-256(secret + body) (app webhooks,
//!   private apps).
//!
//! App events: `contact.creation`, `contact.propertyChange`, `contact.deletion`,
//! `contact.privacyDeletion`, and the generic `object.*` form with `objectTypeId`
//! `0-1`. Other object types (companies, deals, …) and other contact events
//! (merge, restore, association changes) are left out of the result: they are not
//! lead events, and answering 2xx keeps HubSpot from retrying them.
//!
//! Dedup key of an app event: `hubspot:{portalId}:{subscriptionId}:{eventId}:
//! {objectId}:{occurredAt}:{propertyName}` (HubSpot's eventId alone is not
//! unique). Of a workflow delivery: `hubspot-workflow:{portal-id}:{vid}:
//! {lastmodifieddate}`.

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::sig::{base64, ct_eq, decode_base64, decode_hex, hmac_sha256, sha256};
use super::{
    Adapter, AdapterError, EventKind, LeadEvent, WebhookRequest, bad, domain_of, header, id_text,
    lead_with_id, need_secret, options, parse_json, require_json, scalar_text, time_of, type_name,
    unauthorized,
};
use crate::lead::{LeadDoc, Timestamp};

const SIGNATURE: &str = "x-hubspot-signature";
const SIGNATURE_VERSION: &str = "x-hubspot-signature-version";
const SIGNATURE_V3: &str = "x-hubspot-signature-v3";
const TIMESTAMP: &str = "x-hubspot-request-timestamp";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Version {
    V1,
    V2,
    V3,
}

impl Version {
    fn name(self) -> &'static str {
        match self {
            Version::V1 => "v1",
            Version::V2 => "v2",
            Version::V3 => "v3",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    /// App webhooks: a JSON array of events.
    App,
    /// The workflow "Send a webhook" action: one contact object.
    Workflow,
    /// An array is app webhooks, an object a workflow delivery.
    Auto,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    signature: Option<Version>,
    format: Option<Delivery>,
    tolerance_seconds: Option<u64>,
}

pub struct HubSpot {
    secret: String,
    signature: Version,
    format: Delivery,
    tolerance_seconds: u64,
}

impl HubSpot {
    pub fn new(table: &toml::Table, secret: Option<String>) -> Result<HubSpot, String> {
        let o: Options = options("hubspot", table)?;
        let secret = need_secret(
            "hubspot",
            secret,
            "the HubSpot app's client secret, which signs every request",
        )?;
        let format = o.format.unwrap_or(Delivery::Auto);
        let signature = o.signature.unwrap_or(match format {
            Delivery::Workflow => Version::V2,
            Delivery::App | Delivery::Auto => Version::V3,
        });
        if o.tolerance_seconds.is_some() && signature != Version::V3 {
            return Err(format!(
                "hubspot adapter options: tolerance_seconds applies to signature v3 only \
                 (this source uses {}, which carries no timestamp)",
                signature.name()
            ));
        }
        Ok(HubSpot {
            secret,
            signature,
            format,
            tolerance_seconds: o.tolerance_seconds.unwrap_or(300),
        })
    }

    fn verify_v1_v2(&self, req: &WebhookRequest) -> Result<(), AdapterError> {
        let version = self.signature.name();
        let Some(given) = header(req.headers, SIGNATURE)? else {
            return Err(unauthorized(format!(
                "missing X-HubSpot-Signature header (this source checks HubSpot signature {version})"
            )));
        };
        let expected = match self.signature {
            Version::V1 => sha256(&[self.secret.as_bytes(), req.body]),
            _ => sha256(&[
                self.secret.as_bytes(),
                req.method.as_bytes(),
                req.url.as_bytes(),
                req.body,
            ]),
        };
        let ok = decode_hex(given).is_some_and(|g| ct_eq(&g, &expected));
        if ok {
            return Ok(());
        }
        let mut message = format!("X-HubSpot-Signature does not match (signature {version}");
        if self.signature == Version::V2 {
            message.push_str(&format!(", over {} {}", req.method, req.url));
        }
        message.push(')');
        let sent =
            header(req.headers, SIGNATURE_VERSION)?.filter(|s| !s.eq_ignore_ascii_case(version));
        if let Some(sent) = sent {
            message.push_str(&format!(
                ": HubSpot says it signed with {sent} (X-HubSpot-Signature-Version): set the \
                 source's options.signature to match"
            ));
        } else {
            message.push_str(": check the secret is the app's client secret");
            if self.signature == Version::V2 {
                message.push_str(" and that the source's public_url is the URL HubSpot calls");
            }
        }
        Err(unauthorized(message))
    }

    fn verify_v3(&self, req: &WebhookRequest) -> Result<(), AdapterError> {
        let Some(given) = header(req.headers, SIGNATURE_V3)? else {
            let hint = match header(req.headers, SIGNATURE_VERSION)? {
                Some(v) => format!(
                    " (the request is signed with {v} only: set the source's options.signature = \"{}\")",
                    v.to_ascii_lowercase()
                ),
                None => String::new(),
            };
            return Err(unauthorized(format!(
                "missing X-HubSpot-Signature-v3 header{hint}"
            )));
        };
        let Some(ts_text) = header(req.headers, TIMESTAMP)? else {
            return Err(unauthorized("missing X-HubSpot-Request-Timestamp header"));
        };
        let ts: i64 = ts_text.parse().map_err(|_| {
            unauthorized(format!(
                "X-HubSpot-Request-Timestamp `{ts_text}` is not milliseconds since the epoch"
            ))
        })?;
        let uri = decode_v3_uri(req.url);
        let expected = hmac_sha256(
            self.secret.as_bytes(),
            &[
                req.method.as_bytes(),
                uri.as_bytes(),
                req.body,
                ts_text.as_bytes(),
            ],
        );
        let ok = decode_base64(given).is_some_and(|g| ct_eq(&g, &expected));
        if !ok {
            return Err(unauthorized(format!(
                "X-HubSpot-Signature-v3 does not match (signed over {} {uri}): check the secret is \
                 the app's client secret and that the source's public_url is the URL HubSpot calls",
                req.method
            )));
        }
        super::sig::check_fresh(
            "X-HubSpot-Request-Timestamp",
            ts,
            req.now_ms,
            self.tolerance_seconds,
        )
    }

    fn format_of(&self, body: &Json) -> Delivery {
        match self.format {
            Delivery::Auto if body.is_object() => Delivery::Workflow,
            Delivery::Auto => Delivery::App,
            f => f,
        }
    }
}

/// The URI HubSpot signs for v3: the URL with these %-escapes decoded (either
/// case of hex digit); every other byte as it is.
pub fn decode_v3_uri(url: &str) -> String {
    const TABLE: &[(&[u8; 2], char)] = &[
        (b"3A", ':'),
        (b"2F", '/'),
        (b"3F", '?'),
        (b"40", '@'),
        (b"21", '!'),
        (b"24", '$'),
        (b"27", '\''),
        (b"28", '('),
        (b"29", ')'),
        (b"2A", '*'),
        (b"2C", ','),
        (b"3B", ';'),
    ];
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let after = &rest.as_bytes()[i + 1..];
        let decoded = after.get(..2).and_then(|pair| {
            let upper = [pair[0].to_ascii_uppercase(), pair[1].to_ascii_uppercase()];
            TABLE.iter().find(|(k, _)| **k == upper).map(|(_, c)| *c)
        });
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[i + 3..];
            }
            None => {
                out.push('%');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

impl Adapter for HubSpot {
    fn verify(&self, req: &WebhookRequest) -> Result<(), AdapterError> {
        require_json(req.headers)?;
        match self.signature {
            Version::V3 => self.verify_v3(req),
            Version::V1 | Version::V2 => self.verify_v1_v2(req),
        }
    }

    fn parse(&self, req: &WebhookRequest) -> Result<Vec<LeadEvent>, AdapterError> {
        let body = parse_json(req.body)?;
        match self.format_of(&body) {
            Delivery::App => parse_app(&body),
            _ => parse_workflow(&body, req.now_ms).map(|e| vec![e]),
        }
    }
}

// ---------------------------------------------------------------------------
// App webhooks

fn parse_app(body: &Json) -> Result<Vec<LeadEvent>, AdapterError> {
    let Some(items) = body.as_array() else {
        return Err(bad(format!(
            "body: expected a JSON array of HubSpot webhook events, found {} (a workflow \
             webhook sends one object: set options.format = \"workflow\" or \"auto\")",
            type_name(body)
        )));
    };
    let mut events = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("body[{i}]");
        let Some(obj) = item.as_object() else {
            return Err(bad(format!(
                "{at}: expected an event object, found {}",
                type_name(item)
            )));
        };
        if let Some(event) = parse_app_event(obj, &at)? {
            events.push(event);
        }
    }
    Ok(events)
}

/// One app event, or `None` when it is not a contact event this adapter handles.
fn parse_app_event(obj: &Map<String, Json>, at: &str) -> Result<Option<LeadEvent>, AdapterError> {
    let (key, kind_value) = match (obj.get("subscriptionType"), obj.get("eventType")) {
        (Some(v), _) => ("subscriptionType", v),
        (None, Some(v)) => ("eventType", v),
        (None, None) => {
            return Err(bad(format!(
                "{at}.subscriptionType: missing (nor is there a legacy eventType)"
            )));
        }
    };
    let Some(subscription) = kind_value.as_str() else {
        return Err(bad(format!(
            "{at}.{key}: expected a string such as \"contact.creation\", found {}",
            type_name(kind_value)
        )));
    };
    let Some((object, action)) = subscription.split_once('.') else {
        return Err(bad(format!(
            "{at}.{key}: `{subscription}` is not of the form object.action (e.g. contact.propertyChange)"
        )));
    };
    match object {
        "contact" => {}
        "object" => match obj.get("objectTypeId") {
            None | Some(Json::Null) => {
                return Err(bad(format!(
                    "{at}.objectTypeId: missing (a generic `{subscription}` event names its object type)"
                )));
            }
            Some(t) if t.as_str() == Some("0-1") => {}
            Some(_) => return Ok(None),
        },
        _ => return Ok(None),
    }
    let kind = match action {
        "creation" => EventKind::Created,
        "propertyChange" => EventKind::Updated,
        "deletion" | "privacyDeletion" => EventKind::Deleted,
        _ => return Ok(None),
    };

    let object_id = super::req_id(obj, "objectId", at)?;
    let portal = super::req_id(obj, "portalId", at)?;
    let subscription_id = super::req_id(obj, "subscriptionId", at)?;
    let event_id = super::req_id(obj, "eventId", at)?;
    let occurred_at = match obj.get("occurredAt") {
        None | Some(Json::Null) => return Err(bad(format!("{at}.occurredAt: missing"))),
        Some(v) => v.as_i64().ok_or_else(|| {
            bad(format!(
                "{at}.occurredAt: expected milliseconds since the epoch, found {}",
                type_name(v)
            ))
        })?,
    };

    let mut lead = lead_with_id(object_id.clone());
    let mut changed = Vec::new();
    let mut property = String::new();
    if kind == EventKind::Updated {
        property = match obj.get("propertyName") {
            Some(Json::String(s)) if !s.is_empty() => s.clone(),
            None | Some(Json::Null) => {
                return Err(bad(format!(
                    "{at}.propertyName: missing (a {subscription} event names the property)"
                )));
            }
            Some(v) => {
                return Err(bad(format!(
                    "{at}.propertyName: expected a property name, found {}",
                    type_name(v)
                )));
            }
        };
        let value = match obj.get("propertyValue") {
            None => Json::Null,
            Some(v @ (Json::Null | Json::String(_) | Json::Number(_) | Json::Bool(_))) => v.clone(),
            Some(v) => {
                return Err(bad(format!(
                    "{at}.propertyValue: expected a string, found {}",
                    type_name(v)
                )));
            }
        };
        apply_property(&mut lead, &property, &value);
        lead.fields.insert(property.clone(), value);
        changed.push(property.clone());
    }
    if kind == EventKind::Created {
        lead.created_at = Some(Timestamp::Millis(occurred_at));
    }
    Ok(Some(LeadEvent {
        dedup_key: format!(
            "hubspot:{portal}:{subscription_id}:{event_id}:{object_id}:{occurred_at}:{property}"
        ),
        kind,
        at: occurred_at,
        lead,
        changed,
        complete: false,
    }))
}

/// Map a HubSpot contact property onto the lead's canonical members.
fn apply_property(lead: &mut LeadDoc, name: &str, value: &Json) {
    let text = scalar_text(value);
    match name {
        "email" => lead.email = text,
        "hubspot_owner_id" => lead.owner = text,
        "lifecyclestage" => lead.lifecycle_stage = text,
        "website" => {
            if let Some(d) = text.as_deref().and_then(domain_of) {
                lead.company_domain = Some(d);
            }
        }
        "domain" if lead.company_domain.is_none() => {
            lead.company_domain = text.as_deref().and_then(domain_of);
        }
        "createdate" => {
            if let Some(ms) = time_of(value) {
                lead.created_at = Some(Timestamp::Millis(ms));
            }
        }
        _ => {}
    }
}

/// A contact's properties (a workflow body's, or the CRM API's `GET
/// /crm/v3/objects/contacts/{id}`) as a lead: every property in `fields`, the
/// canonical members mapped from theirs.
pub fn contact_lead(id: String, properties: &Map<String, Json>) -> LeadDoc {
    let mut lead = lead_with_id(id);
    for (name, prop) in properties {
        // Legacy: {"value": "...", "versions": [...]}; v3 objects: the value itself.
        let value = match prop {
            Json::Object(p) => p.get("value").cloned().unwrap_or(Json::Null),
            v => v.clone(),
        };
        let value = match value {
            v @ (Json::Null | Json::Bool(_) | Json::Number(_) | Json::String(_)) => v,
            other => Json::String(other.to_string()),
        };
        lead.fields.insert(name.clone(), value);
    }
    // Website before domain, so website wins.
    for name in [
        "website",
        "domain",
        "email",
        "hubspot_owner_id",
        "lifecyclestage",
        "createdate",
    ] {
        if let Some(v) = lead.fields.get(name).cloned() {
            apply_property(&mut lead, name, &v);
        }
    }
    lead
}

// ---------------------------------------------------------------------------
// Workflow "Send a webhook"

fn parse_workflow(body: &Json, now_ms: i64) -> Result<LeadEvent, AdapterError> {
    let Some(obj) = body.as_object() else {
        return Err(bad(format!(
            "body: expected the contact object a HubSpot workflow webhook sends, found {} \
             (app webhooks send an array: set options.format = \"app\" or \"auto\")",
            type_name(body)
        )));
    };
    // Legacy contacts representation (`vid`), or the CRM v3 object (`id`).
    let id_key = ["vid", "canonical-vid", "objectId", "id"]
        .into_iter()
        .find(|k| obj.get(*k).is_some_and(|v| !v.is_null()));
    let Some(id_key) = id_key else {
        return Err(bad(
            "body.vid: missing (expected the contact's vid, or id, in the workflow webhook body)",
        ));
    };
    let id = super::req_id(obj, id_key, "body")?;
    let properties = match obj.get("properties") {
        Some(Json::Object(p)) => p,
        None | Some(Json::Null) => return Err(bad("body.properties: missing")),
        Some(v) => {
            return Err(bad(format!(
                "body.properties: expected an object, found {}",
                type_name(v)
            )));
        }
    };

    let mut lead = contact_lead(id.clone(), properties);
    if lead.created_at.is_none() {
        lead.created_at = obj
            .get("createdAt")
            .and_then(time_of)
            .map(Timestamp::Millis);
    }

    let modified = ["lastmodifieddate", "hs_lastmodifieddate"]
        .into_iter()
        .find_map(|k| {
            lead.fields
                .get(k)
                .and_then(|v| Some((v.clone(), time_of(v)?)))
        })
        .or_else(|| {
            let v = obj.get("updatedAt")?;
            Some((v.clone(), time_of(v)?))
        });
    let portal = obj
        .get("portal-id")
        .or_else(|| obj.get("portalId"))
        .and_then(id_text)
        .unwrap_or_default();
    let (at, dedup_key) = match modified {
        Some((raw, ms)) => {
            let raw = id_text(&raw).unwrap_or_else(|| ms.to_string());
            (ms, format!("hubspot-workflow:{portal}:{id}:{raw}"))
        }
        // No modification time: the same body is the same event.
        None => (
            now_ms,
            format!(
                "hubspot-workflow:{portal}:{id}:sha256:{}",
                hex::encode(sha256(&[body.to_string().as_bytes()]))
            ),
        ),
    };
    Ok(LeadEvent {
        dedup_key,
        kind: EventKind::Updated,
        at,
        lead,
        changed: Vec::new(),
        complete: true,
    })
}

/// Sign like HubSpot (for tests and for `leadwire` tooling that sends test events).
pub fn sign_v3(secret: &str, method: &str, url: &str, body: &[u8], timestamp: &str) -> String {
    base64(&hmac_sha256(
        secret.as_bytes(),
        &[
            method.as_bytes(),
            decode_v3_uri(url).as_bytes(),
            body,
            timestamp.as_bytes(),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const BATCH: &[u8] =
        include_bytes!("../../../tests/fixtures/webhooks/hubspot-app-batch-docs-example.json");
    const CHANGE: &[u8] =
        include_bytes!("../../../tests/fixtures/webhooks/hubspot-app-contact-propertychange.json");
    const V1_DOCS: &[u8] =
        include_bytes!("../../../tests/fixtures/webhooks/hubspot-app-v1-signature-docs-body.json");
    const WORKFLOW: &[u8] =
        include_bytes!("../../../tests/fixtures/webhooks/hubspot-workflow-contact.json");

    const DOCS_SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    const SECRET: &str = "test-client-secret";
    const URL: &str = "https://leads.example.com/hooks/hubspot?source=app";
    const NOW: i64 = 1_715_678_200_000;

    fn adapter(opts: &str, secret: &str) -> HubSpot {
        HubSpot::new(&table(opts), Some(secret.to_string())).expect("valid options")
    }

    fn v1(secret: &str, body: &[u8]) -> String {
        hex::encode(sha256(&[secret.as_bytes(), body]))
    }

    fn v2(secret: &str, method: &str, url: &str, body: &[u8]) -> String {
        hex::encode(sha256(&[
            secret.as_bytes(),
            method.as_bytes(),
            url.as_bytes(),
            body,
        ]))
    }

    fn v3_headers(body: &[u8], url: &str, ts: i64) -> http::HeaderMap {
        let ts = ts.to_string();
        let sig = sign_v3(SECRET, "POST", url, body, &ts);
        headers(&[
            ("content-type", "application/json"),
            ("X-HubSpot-Signature-v3", &sig),
            ("X-HubSpot-Request-Timestamp", &ts),
        ])
    }

    // -- HubSpot's published vectors (crm-webhooks.md) --

    #[test]
    fn published_v1_vectors() {
        assert_eq!(
            v1(DOCS_SECRET, V1_DOCS),
            "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
        );
        assert_eq!(
            v1(DOCS_SECRET, b"{'example_field':'example_value'}"),
            "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750"
        );
        // And through the adapter, with the docs' body and secret.
        let a = adapter("signature = \"v1\"", DOCS_SECRET);
        let h = headers(&[
            ("content-type", "application/json"),
            (
                "X-HubSpot-Signature",
                "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de",
            ),
            ("X-HubSpot-Signature-Version", "v1"),
        ]);
        let req = request("POST", URL, &h, V1_DOCS, NOW);
        a.verify(&req).unwrap();
        let events = a.parse(&req).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, EventKind::Created);
        assert_eq!(events[0].lead.id, "123");
        assert_eq!(events[0].at, 1_564_113_600_000);
    }

    #[test]
    fn published_v2_vectors() {
        let uri = "https://www.example.com/webhook_uri";
        assert_eq!(
            v2(DOCS_SECRET, "GET", uri, b""),
            "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"
        );
        assert_eq!(
            v2(
                DOCS_SECRET,
                "POST",
                uri,
                br#"{"example_field":"example_value"}"#
            ),
            "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900"
        );
        assert_eq!(
            v2(
                DOCS_SECRET,
                "POST",
                uri,
                b"{'example_field':'example_value'}"
            ),
            "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383"
        );
        let a = adapter("signature = \"v2\"", DOCS_SECRET);
        let h = headers(&[
            ("content-type", "application/json"),
            (
                "X-HubSpot-Signature",
                "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900",
            ),
        ]);
        let body = br#"{"example_field":"example_value"}"#;
        a.verify(&request("POST", uri, &h, body, NOW)).unwrap();
        // The same signature does not hold for another URL.
        is_unauthorized(
            a.verify(&request(
                "POST",
                "https://www.example.com/other",
                &h,
                body,
                NOW,
            )),
            "does not match",
        );
    }

    #[test]
    fn published_v3_vector() {
        let body = b"{'example_field':'example_value'}";
        let uri = "https://www.example.com/webhook_uri";
        assert_eq!(
            sign_v3(DOCS_SECRET, "POST", uri, body, "15000000"),
            "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="
        );
        let a = adapter("", DOCS_SECRET);
        let h = headers(&[
            ("content-type", "application/json"),
            (
                "X-HubSpot-Signature-V3",
                "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=",
            ),
            ("X-HubSpot-Request-Timestamp", "15000000"),
        ]);
        // Fresh at the vector's own time…
        a.verify(&request("POST", uri, &h, body, 15_000_000 + 1_000))
            .unwrap();
        // …and stale now.
        is_unauthorized(
            a.verify(&request("POST", uri, &h, body, NOW)),
            "stale timestamp",
        );
    }

    #[test]
    fn v3_uri_decoding() {
        assert_eq!(
            decode_v3_uri("https://h.example/hook%3Fa%2Fb?email=ada%40example.com&x=%3a%2C%20y%25"),
            "https://h.example/hook?a/b?email=ada@example.com&x=:,%20y%25"
        );
        assert_eq!(decode_v3_uri("https://h/%"), "https://h/%");
        assert_eq!(decode_v3_uri("https://h/%4"), "https://h/%4");
        assert_eq!(decode_v3_uri("https://h/é%21"), "https://h/é!");
        // A signature over an encoded query verifies against the decoded form.
        let url = "https://leads.example.com/hooks/hubspot?ref=a%40b%2Cc";
        let h = v3_headers(CHANGE, url, NOW - 1_000);
        adapter("", SECRET)
            .verify(&request("POST", url, &h, CHANGE, NOW))
            .unwrap();
    }

    // -- fixtures --

    #[test]
    fn batch_fixture_authenticates_and_parses() {
        for opts in [
            "",
            "signature = \"v3\"\nformat = \"app\"\ntolerance_seconds = 60",
        ] {
            let a = adapter(opts, SECRET);
            let h = v3_headers(BATCH, URL, NOW - 30_000);
            let req = request("POST", URL, &h, BATCH, NOW);
            a.verify(&req).unwrap();
            let events = a.parse(&req).unwrap();
            assert_eq!(events.len(), 2);
            converts(&events);
            let e = &events[0];
            assert_eq!(e.kind, EventKind::Updated);
            assert_eq!(e.lead.id, "1246965");
            assert_eq!(e.at, 1_462_216_307_945);
            assert_eq!(e.changed, vec!["lifecyclestage"]);
            assert_eq!(e.lead.lifecycle_stage.as_deref(), Some("subscriber"));
            assert_eq!(e.lead.fields["lifecyclestage"], "subscriber");
            assert!(!e.complete);
            assert_eq!(
                e.dedup_key,
                "hubspot:33:25:3816279340:1246965:1462216307945:lifecyclestage"
            );
            let e = &events[1];
            assert_eq!(e.kind, EventKind::Created);
            assert_eq!(e.lead.id, "1246978");
            assert!(e.changed.is_empty());
            assert_eq!(
                e.lead.created_at,
                Some(Timestamp::Millis(1_462_216_307_945))
            );
            assert_eq!(
                e.dedup_key,
                "hubspot:33:22:3816279480:1246978:1462216307945:"
            );
        }
    }

    #[test]
    fn property_change_fixture_v1_and_v3() {
        for (opts, h) in [
            (
                "signature = \"v1\"",
                headers(&[
                    ("content-type", "application/json; charset=utf-8"),
                    ("X-HubSpot-Signature", &v1(SECRET, CHANGE)),
                    ("X-HubSpot-Signature-Version", "v1"),
                ]),
            ),
            ("", v3_headers(CHANGE, URL, NOW)),
        ] {
            let a = adapter(opts, SECRET);
            let req = request("POST", URL, &h, CHANGE, NOW);
            a.verify(&req).unwrap();
            let events = a.parse(&req).unwrap();
            assert_eq!(events.len(), 1);
            let e = &events[0];
            assert_eq!(e.lead.id, "90121");
            assert_eq!(
                e.lead.lifecycle_stage.as_deref(),
                Some("marketingqualifiedlead")
            );
            assert_eq!(e.at, 1_715_678_160_456);
            assert_eq!(e.event_doc().unwrap().at, Some(Timestamp::Millis(e.at)));
        }
    }

    #[test]
    fn workflow_fixture_v2() {
        let a = adapter("format = \"workflow\"", SECRET);
        let h = headers(&[
            ("content-type", "application/json"),
            ("X-HubSpot-Signature", &v2(SECRET, "POST", URL, WORKFLOW)),
            ("X-HubSpot-Signature-Version", "v2"),
        ]);
        let req = request("POST", URL, &h, WORKFLOW, NOW);
        a.verify(&req).unwrap();
        let events = a.parse(&req).unwrap();
        assert_eq!(events.len(), 1);
        converts(&events);
        let e = &events[0];
        assert_eq!(e.kind, EventKind::Updated);
        assert!(e.complete);
        assert_eq!(e.lead.id, "90121");
        assert_eq!(e.lead.email.as_deref(), Some("ada@example.com"));
        assert_eq!(
            e.lead.lifecycle_stage.as_deref(),
            Some("marketingqualifiedlead")
        );
        assert_eq!(e.lead.fields["firstname"], "Ada");
        assert_eq!(e.lead.fields["company"], "Analytical Engines Ltd");
        assert_eq!(e.at, 1_715_678_160_456);
        assert_eq!(e.dedup_key, "hubspot-workflow:62515:90121:1715678160456");

        // Auto-detects the object form too; v2 covers the URL.
        let a = adapter("signature = \"v2\"", SECRET);
        assert_eq!(a.parse(&req).unwrap()[0].dedup_key, e.dedup_key);
        is_unauthorized(
            a.verify(&request(
                "POST",
                "https://evil.example/hooks/hubspot",
                &h,
                WORKFLOW,
                NOW,
            )),
            "does not match",
        );
    }

    #[test]
    fn workflow_v3_object_shape() {
        let body = br#"{"id":"512","properties":{"email":"bo@acme.io","website":"https://www.acme.io/","hs_lastmodifieddate":"2024-05-14T09:15:53.456Z","createdate":"2024-05-01T00:00:00Z"}}"#;
        let a = adapter("format = \"workflow\"", SECRET);
        let h = headers(&[("content-type", "application/json")]);
        let e = &a.parse(&request("POST", URL, &h, body, NOW)).unwrap()[0];
        assert_eq!(e.lead.id, "512");
        assert_eq!(e.lead.company_domain.as_deref(), Some("acme.io"));
        assert_eq!(e.at, 1_715_678_153_456);
        assert!(e.lead.created_at.is_some());
        assert_eq!(
            e.dedup_key,
            "hubspot-workflow::512:2024-05-14T09:15:53.456Z"
        );
    }

    #[test]
    fn dedup_keys_distinct_when_event_ids_repeat() {
        // HubSpot's eventId is not unique: same eventId, different object,
        // property or subscription.
        let body = br#"[
          {"eventId":7,"subscriptionId":1,"portalId":9,"occurredAt":1000,"subscriptionType":"contact.propertyChange","objectId":1,"propertyName":"email","propertyValue":"a@x.com"},
          {"eventId":7,"subscriptionId":1,"portalId":9,"occurredAt":1000,"subscriptionType":"contact.propertyChange","objectId":1,"propertyName":"lifecyclestage","propertyValue":"lead"},
          {"eventId":7,"subscriptionId":1,"portalId":9,"occurredAt":1000,"subscriptionType":"contact.propertyChange","objectId":2,"propertyName":"email","propertyValue":"b@x.com"},
          {"eventId":7,"subscriptionId":2,"portalId":9,"occurredAt":1000,"subscriptionType":"contact.creation","objectId":1},
          {"eventId":7,"subscriptionId":3,"portalId":9,"occurredAt":1000,"subscriptionType":"contact.deletion","objectId":1},
          {"eventId":7,"subscriptionId":1,"portalId":9,"occurredAt":1001,"subscriptionType":"contact.propertyChange","objectId":1,"propertyName":"email","propertyValue":"c@x.com"},
          {"eventId":7,"subscriptionId":1,"portalId":8,"occurredAt":1000,"subscriptionType":"contact.propertyChange","objectId":1,"propertyName":"email","propertyValue":"a@x.com"}
        ]"#;
        let h = headers(&[("content-type", "application/json")]);
        let events = adapter("", SECRET)
            .parse(&request("POST", URL, &h, body, NOW))
            .unwrap();
        assert_eq!(events.len(), 7);
        let keys: std::collections::BTreeSet<_> = events.iter().map(|e| &e.dedup_key).collect();
        assert_eq!(keys.len(), 7, "{keys:?}");
        assert_eq!(events[0].lead.email.as_deref(), Some("a@x.com"));
        assert_eq!(events[4].kind, EventKind::Deleted);
        assert!(events[4].event_doc().is_none());
    }

    #[test]
    fn generic_object_events_and_skips() {
        let body = br#"[
          {"eventId":1,"subscriptionId":1,"portalId":9,"occurredAt":1000,"subscriptionType":"object.propertyChange","objectTypeId":"0-1","objectId":5,"propertyName":"hubspot_owner_id","propertyValue":"77"},
          {"eventId":2,"subscriptionId":1,"portalId":9,"occurredAt":1000,"subscriptionType":"object.creation","objectTypeId":"0-2","objectId":6},
          {"eventId":3,"subscriptionId":1,"portalId":9,"occurredAt":1000,"subscriptionType":"deal.creation","objectId":7},
          {"eventId":4,"subscriptionId":1,"portalId":9,"occurredAt":1000,"subscriptionType":"contact.merge","objectId":8},
          {"eventId":5,"subscriptionId":1,"portalId":9,"occurredAt":1000,"eventType":"contact.creation","objectId":"9"}
        ]"#;
        let h = headers(&[("content-type", "application/json")]);
        let events = adapter("", SECRET)
            .parse(&request("POST", URL, &h, body, NOW))
            .unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].lead.owner.as_deref(), Some("77"));
        assert_eq!(events[1].lead.id, "9");
        assert_eq!(events[1].kind, EventKind::Created);
    }

    // -- refusals --

    #[test]
    fn wrong_missing_or_stale_signatures() {
        let a = adapter("", SECRET);
        // Wrong secret.
        let ts = (NOW - 1000).to_string();
        let sig = sign_v3("other-secret", "POST", URL, BATCH, &ts);
        let h = headers(&[
            ("content-type", "application/json"),
            ("X-HubSpot-Signature-v3", &sig),
            ("X-HubSpot-Request-Timestamp", &ts),
        ]);
        is_unauthorized(
            a.verify(&request("POST", URL, &h, BATCH, NOW)),
            "does not match",
        );
        // Body tampered with.
        let h = v3_headers(BATCH, URL, NOW);
        let mut tampered = BATCH.to_vec();
        tampered[20] ^= 1;
        is_unauthorized(
            a.verify(&request("POST", URL, &h, &tampered, NOW)),
            "does not match",
        );
        // Stale, and from the future.
        let h = v3_headers(BATCH, URL, NOW - 301_000);
        is_unauthorized(
            a.verify(&request("POST", URL, &h, BATCH, NOW)),
            "stale timestamp",
        );
        let h = v3_headers(BATCH, URL, NOW + 301_000);
        is_unauthorized(a.verify(&request("POST", URL, &h, BATCH, NOW)), "future");
        // Missing headers.
        let h = headers(&[
            ("content-type", "application/json"),
            ("X-HubSpot-Signature", &v1(SECRET, BATCH)),
            ("X-HubSpot-Signature-Version", "v1"),
        ]);
        is_unauthorized(
            a.verify(&request("POST", URL, &h, BATCH, NOW)),
            "options.signature = \"v1\"",
        );
        let h = headers(&[
            ("content-type", "application/json"),
            ("X-HubSpot-Signature-v3", "abc="),
        ]);
        is_unauthorized(a.verify(&request("POST", URL, &h, BATCH, NOW)), "Timestamp");
        let h = headers(&[
            ("content-type", "application/json"),
            ("X-HubSpot-Signature-v3", "abc="),
            ("X-HubSpot-Request-Timestamp", "yesterday"),
        ]);
        is_unauthorized(
            a.verify(&request("POST", URL, &h, BATCH, NOW)),
            "milliseconds",
        );
        // v1: wrong secret, garbage, version mismatch named.
        let a = adapter("signature = \"v1\"", SECRET);
        let h = headers(&[
            ("content-type", "application/json"),
            ("X-HubSpot-Signature", &v1("nope", BATCH)),
        ]);
        is_unauthorized(
            a.verify(&request("POST", URL, &h, BATCH, NOW)),
            "does not match",
        );
        let h = headers(&[
            ("content-type", "application/json"),
            ("X-HubSpot-Signature", "zz"),
            ("X-HubSpot-Signature-Version", "v2"),
        ]);
        is_unauthorized(
            a.verify(&request("POST", URL, &h, BATCH, NOW)),
            "signed with v2",
        );
        let h = headers(&[("content-type", "application/json")]);
        is_unauthorized(
            a.verify(&request("POST", URL, &h, BATCH, NOW)),
            "missing X-HubSpot-Signature",
        );
        // Content type.
        let h = headers(&[("content-type", "text/plain")]);
        assert!(matches!(
            a.verify(&request("POST", URL, &h, BATCH, NOW)),
            Err(AdapterError::UnsupportedMediaType(_))
        ));
    }

    #[test]
    fn malformed_bodies_name_the_problem() {
        let a = adapter("format = \"app\"", SECRET);
        let h = headers(&[("content-type", "application/json")]);
        let parse = |body: &[u8]| a.parse(&request("POST", URL, &h, body, NOW));
        bad_request(parse(b""), "body: empty");
        bad_request(parse(b"[{"), "not valid JSON");
        bad_request(parse(b"{}"), "expected a JSON array");
        bad_request(parse(b"[1]"), "body[0]: expected an event object");
        bad_request(
            parse(br#"[{"objectId":1}]"#),
            "body[0].subscriptionType: missing",
        );
        bad_request(
            parse(br#"[{"subscriptionType":5}]"#),
            "body[0].subscriptionType: expected a string",
        );
        bad_request(
            parse(br#"[{"subscriptionType":"contact"}]"#),
            "object.action",
        );
        let ok = r#"{"eventId":1,"subscriptionId":2,"portalId":3,"occurredAt":4,"subscriptionType":"contact.creation","objectId":5}"#;
        let body = format!(
            r#"[{ok},{ok},{{"eventId":1,"subscriptionId":2,"portalId":3,"occurredAt":4,"subscriptionType":"contact.creation"}}]"#
        );
        bad_request(parse(body.as_bytes()), "body[2].objectId: missing");
        bad_request(
            parse(br#"[{"eventId":1,"subscriptionId":2,"portalId":3,"occurredAt":"soon","subscriptionType":"contact.creation","objectId":5}]"#),
            "body[0].occurredAt: expected milliseconds",
        );
        bad_request(
            parse(br#"[{"eventId":1,"subscriptionId":2,"portalId":3,"occurredAt":4,"subscriptionType":"contact.propertyChange","objectId":5}]"#),
            "body[0].propertyName: missing",
        );
        bad_request(
            parse(br#"[{"eventId":1,"subscriptionId":2,"portalId":3,"occurredAt":4,"subscriptionType":"contact.creation","objectId":{"a":1}}]"#),
            "body[0].objectId: expected an id",
        );
        bad_request(
            parse(br#"[{"eventId":1,"subscriptionId":2,"portalId":3,"occurredAt":4,"subscriptionType":"object.creation","objectId":5}]"#),
            "body[0].objectTypeId: missing",
        );
        let a = adapter("format = \"workflow\"", SECRET);
        let parse = |body: &[u8]| a.parse(&request("POST", URL, &h, body, NOW));
        bad_request(parse(b"[]"), "expected the contact object");
        bad_request(parse(b"{}"), "body.vid: missing");
        bad_request(parse(br#"{"vid":1}"#), "body.properties: missing");
        bad_request(
            parse(br#"{"vid":1,"properties":[]}"#),
            "body.properties: expected an object",
        );
        // An empty batch is fine.
        let a = adapter("", SECRET);
        assert!(
            a.parse(&request("POST", URL, &h, b"[]", NOW))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn options_are_checked() {
        let err = HubSpot::new(&table("signature = \"v4\""), Some("s".into()))
            .err()
            .unwrap();
        assert!(err.contains("v4"), "{err}");
        let err = HubSpot::new(&table("sig = \"v1\""), Some("s".into()))
            .err()
            .unwrap();
        assert!(err.contains("unknown field"), "{err}");
        let err = HubSpot::new(&table(""), None).err().unwrap();
        assert!(err.contains("client secret"), "{err}");
        let err = HubSpot::new(
            &table("signature = \"v1\"\ntolerance_seconds = 5"),
            Some("s".into()),
        )
        .err()
        .unwrap();
        assert!(err.contains("v3 only"), "{err}");
    }
}

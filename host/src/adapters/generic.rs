//! The canonical lead JSON, signed: for a CRM's custom code, an integration
//! platform (Zapier, Make, n8n), or a script.
//!
//! Body: a lead (`{"id": …, "email": …, "fields": {…}}`), or
//! `{"lead": {…}, "event": {"id": …, "trigger": "updated", "changed": […], "at": …}}`
//! exactly as `leadwire run` reads them, or a JSON array of either.
//!
//! Signature:
//! ```text
//! X-Leadwire-Timestamp: <unix seconds>
//! X-Leadwire-Signature: sha256=<hex HMAC-SHA256(secret, "{timestamp}.{raw body}")>
//! ```
//! The timestamp must be within `tolerance_seconds` (default 300) of now.
//!
//! Dedup key: `event.id`, else the `X-Leadwire-Event-Id` header (for a request
//! with one lead), else `{lead id}@{event.at}`, else the SHA-256 of the lead's
//! JSON (so a redelivered body is recognised).

use serde::Deserialize;
use serde_json::Value as Json;

use super::sig::{check_fresh, ct_eq, decode_hex, hmac_sha256, sha256};
use super::{
    Adapter, AdapterError, EventKind, LeadEvent, WebhookRequest, bad, header, need_secret, options,
    parse_json, require_json, unauthorized,
};
use crate::lead::{LeadFile, TriggerDoc};

pub const TIMESTAMP_HEADER: &str = "x-leadwire-timestamp";
pub const SIGNATURE_HEADER: &str = "x-leadwire-signature";
pub const EVENT_ID_HEADER: &str = "x-leadwire-event-id";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    tolerance_seconds: Option<u64>,
}

pub struct Generic {
    secret: String,
    tolerance_seconds: u64,
}

impl Generic {
    pub fn new(table: &toml::Table, secret: Option<String>) -> Result<Generic, String> {
        let o: Options = options("generic", table)?;
        let secret = need_secret(
            "generic",
            secret,
            "the shared key the sender signs X-Leadwire-Signature with",
        )?;
        Ok(Generic {
            secret,
            tolerance_seconds: o.tolerance_seconds.unwrap_or(300),
        })
    }
}

/// The `X-Leadwire-Signature` value for a body sent at `timestamp` (unix seconds).
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(
            secret.as_bytes(),
            &[timestamp.as_bytes(), b".", body]
        ))
    )
}

impl Adapter for Generic {
    fn verify(&self, req: &WebhookRequest) -> Result<(), AdapterError> {
        require_json(req.headers)?;
        let Some(ts_text) = header(req.headers, TIMESTAMP_HEADER)? else {
            return Err(unauthorized(
                "missing X-Leadwire-Timestamp header (unix seconds)",
            ));
        };
        let Some(given) = header(req.headers, SIGNATURE_HEADER)? else {
            return Err(unauthorized(
                "missing X-Leadwire-Signature header (sha256=<hex HMAC-SHA256 of \"{timestamp}.{body}\">)",
            ));
        };
        let ts: i64 = ts_text.parse().map_err(|_| {
            unauthorized(format!(
                "X-Leadwire-Timestamp `{ts_text}` is not unix seconds"
            ))
        })?;
        let Some(hex_sig) = given.strip_prefix("sha256=") else {
            return Err(unauthorized(
                "X-Leadwire-Signature must start with `sha256=`",
            ));
        };
        let expected = hmac_sha256(
            self.secret.as_bytes(),
            &[ts_text.as_bytes(), b".", req.body],
        );
        if !decode_hex(hex_sig).is_some_and(|g| ct_eq(&g, &expected)) {
            return Err(unauthorized(
                "X-Leadwire-Signature does not match: sign \"{X-Leadwire-Timestamp}.{raw body}\" \
                 with HMAC-SHA256 and this source's secret, hex-encoded after `sha256=`",
            ));
        }
        check_fresh(
            "X-Leadwire-Timestamp",
            ts.saturating_mul(1000),
            req.now_ms,
            self.tolerance_seconds,
        )
    }

    fn parse(&self, req: &WebhookRequest) -> Result<Vec<LeadEvent>, AdapterError> {
        let body = parse_json(req.body)?;
        let header_id = header(req.headers, EVENT_ID_HEADER)?
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        match body {
            Json::Array(items) => {
                if header_id.is_some() && items.len() > 1 {
                    return Err(bad(
                        "header X-Leadwire-Event-Id: one id for several leads; give each its \
                         event.id instead",
                    ));
                }
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| {
                        one(item, &format!("body[{i}]"), header_id.clone(), req.now_ms)
                    })
                    .collect()
            }
            body => Ok(vec![one(body, "body", header_id, req.now_ms)?]),
        }
    }
}

fn one(
    json: Json,
    at: &str,
    header_id: Option<String>,
    now_ms: i64,
) -> Result<LeadEvent, AdapterError> {
    if !json.is_object() {
        return Err(bad(format!(
            "{at}: expected a lead object, or {{\"lead\": …, \"event\": …}}, found {}",
            super::type_name(&json)
        )));
    }
    // The item's text makes the dedup key only of an event with no id and no
    // time (below): written only then.
    let keyed = header_id.is_some()
        || json
            .pointer("/event/id")
            .and_then(Json::as_str)
            .is_some_and(|id| !id.is_empty())
        || json.pointer("/event/at").is_some_and(|t| !t.is_null());
    let text = (!keyed).then(|| json.to_string());
    let (lead, event) = LeadFile::from_json(json).map_err(|e| {
        let path = if e.at == "." || e.at.is_empty() {
            String::new()
        } else {
            format!(".{}", e.at.trim_start_matches('.'))
        };
        bad(format!("{at}{path}: {}", e.message))
    })?;
    if lead.id.trim().is_empty() {
        return Err(bad(format!("{at}.id: a lead needs a non-empty id")));
    }
    let event = event.unwrap_or_default();
    let kind = match event.trigger {
        TriggerDoc::Created => EventKind::Created,
        TriggerDoc::Updated => EventKind::Updated,
        TriggerDoc::Rejected => EventKind::Rejected(event.reason.clone().unwrap_or_default()),
        TriggerDoc::SlaBreached => {
            return Err(bad(format!(
                "{at}.event.trigger: sla-breached is raised by leadwire's own SLA timers, not by \
                 a webhook"
            )));
        }
    };
    let event_at = event.at.map(|t| t.millis());
    let dedup_key = match (event.id.filter(|s| !s.is_empty()), header_id, event_at) {
        (Some(id), _, _) | (None, Some(id), _) => format!("generic:{id}"),
        (None, None, Some(ms)) => format!("generic:{}@{ms}", lead.id),
        (None, None, None) => format!(
            "generic:{}:sha256:{}",
            lead.id,
            hex::encode(sha256(&[text.unwrap_or_default().as_bytes()]))
        ),
    };
    Ok(LeadEvent {
        dedup_key,
        kind,
        at: event_at.unwrap_or(now_ms),
        lead,
        changed: event.changed,
        complete: true,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::lead::Timestamp;

    const SECRET: &str = "generic-test-secret";
    const URL: &str = "https://leads.example.com/hooks/zapier";
    const NOW: i64 = 1_715_678_200_000;

    fn adapter() -> Generic {
        Generic::new(&table(""), Some(SECRET.into())).unwrap()
    }

    fn signed(body: &[u8], ts: i64) -> http::HeaderMap {
        let ts = ts.to_string();
        headers(&[
            ("content-type", "application/json"),
            ("X-Leadwire-Timestamp", &ts),
            ("X-Leadwire-Signature", &sign(SECRET, &ts, body)),
        ])
    }

    #[test]
    fn signature_computed_by_the_documented_algorithm() {
        // Independent of `sign`: HMAC-SHA256 over "{ts}.{body}".
        use hmac::{Hmac, Mac};
        let body = br#"{"id":"1"}"#;
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(b"1715678200.");
        mac.update(body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(sign(SECRET, "1715678200", body), expected);
        let h = headers(&[
            ("content-type", "application/json"),
            ("X-Leadwire-Timestamp", "1715678200"),
            (
                "X-Leadwire-Signature",
                &expected.to_uppercase().replace("SHA256=", "sha256="),
            ),
        ]);
        adapter()
            .verify(&request("POST", URL, &h, body, NOW))
            .unwrap();
    }

    #[test]
    fn bare_lead_and_envelope() {
        let a = adapter();
        let body = br#"{"id":"1001","email":"ana@acme.com","company_domain":"acme.com","fields":{"jobtitle":"VP Sales","numberofemployees":250}}"#;
        let h = signed(body, NOW / 1000);
        let req = request("POST", URL, &h, body, NOW);
        a.verify(&req).unwrap();
        let events = a.parse(&req).unwrap();
        converts(&events);
        let e = &events[0];
        assert_eq!(e.kind, EventKind::Created);
        assert_eq!(e.at, NOW);
        assert!(e.dedup_key.starts_with("generic:1001:sha256:"));
        assert_eq!(e.lead.fields["numberofemployees"], 250);
        // The same body again is the same event.
        assert_eq!(a.parse(&req).unwrap()[0].dedup_key, e.dedup_key);
        // Without an event id or time, the key is the item's JSON text's
        // hash: another value, or an event with neither, is another event.
        let key = |body: &[u8]| {
            let h = headers(&[("content-type", "application/json")]);
            a.parse(&request("POST", URL, &h, body, NOW)).unwrap()[0]
                .dedup_key
                .clone()
        };
        let keys = [
            key(br#"{"id":"1001","fields":{"jobtitle":"VP"}}"#),
            key(br#"{"id":"1001","fields":{"jobtitle":"CEO"}}"#),
            key(br#"{"lead":{"id":"1001"},"event":{"trigger":"updated"}}"#),
            key(br#"{"lead":{"id":"1001"},"event":{"id":"","at":null}}"#),
        ];
        for (i, k) in keys.iter().enumerate() {
            assert!(k.starts_with("generic:1001:sha256:") && k.len() > 40, "{k}");
            assert!(!keys[..i].contains(k), "{k} twice");
        }

        let body = br#"{"lead":{"id":"1001"},"event":{"id":"evt-9","trigger":"updated","changed":["jobtitle"],"at":"2026-11-20T10:00:00Z"}}"#;
        let h = signed(body, NOW / 1000);
        let e = &a.parse(&request("POST", URL, &h, body, NOW)).unwrap()[0];
        assert_eq!(e.dedup_key, "generic:evt-9");
        assert_eq!(e.kind, EventKind::Updated);
        assert_eq!(e.changed, vec!["jobtitle"]);
        assert_eq!(e.at, 1_795_168_800_000);
        assert_eq!(e.event_doc().unwrap().at, Some(Timestamp::Millis(e.at)));

        let body = br#"[{"lead":{"id":"1"},"event":{"trigger":"rejected","reason":"no budget","at":5}},{"id":"2"}]"#;
        let h = headers(&[
            ("content-type", "application/json"),
            ("x-leadwire-event-id", "h1"),
        ]);
        bad_request(
            a.parse(&request("POST", URL, &h, body, NOW)),
            "X-Leadwire-Event-Id",
        );
        let h = headers(&[("content-type", "application/json")]);
        let events = a.parse(&request("POST", URL, &h, body, NOW)).unwrap();
        assert_eq!(events[0].kind, EventKind::Rejected("no budget".into()));
        assert_eq!(events[0].dedup_key, "generic:1@5");
        assert_eq!(
            events[0].event_doc().unwrap().reason.as_deref(),
            Some("no budget")
        );
        let h = headers(&[
            ("content-type", "application/json"),
            ("x-leadwire-event-id", "h1"),
        ]);
        let e = &a
            .parse(&request("POST", URL, &h, br#"{"id":"3"}"#, NOW))
            .unwrap()[0];
        assert_eq!(e.dedup_key, "generic:h1");
    }

    #[test]
    fn refusals() {
        let a = adapter();
        let body = br#"{"id":"1"}"#;
        is_unauthorized(
            a.verify(&request(
                "POST",
                URL,
                &headers(&[("content-type", "application/json")]),
                body,
                NOW,
            )),
            "missing X-Leadwire-Timestamp",
        );
        let h = signed(body, NOW / 1000 - 301);
        is_unauthorized(
            a.verify(&request("POST", URL, &h, body, NOW)),
            "stale timestamp",
        );
        let h = signed(body, NOW / 1000);
        is_unauthorized(
            a.verify(&request("POST", URL, &h, br#"{"id":"2"}"#, NOW)),
            "does not match",
        );
        let ts = (NOW / 1000).to_string();
        let sig = sign("wrong", &ts, body);
        let h = headers(&[
            ("content-type", "application/json"),
            ("X-Leadwire-Timestamp", &ts),
            ("X-Leadwire-Signature", &sig),
        ]);
        is_unauthorized(
            a.verify(&request("POST", URL, &h, body, NOW)),
            "does not match",
        );
        let h = headers(&[
            ("content-type", "application/json"),
            ("X-Leadwire-Timestamp", &ts),
            ("X-Leadwire-Signature", sig.trim_start_matches("sha256=")),
        ]);
        is_unauthorized(a.verify(&request("POST", URL, &h, body, NOW)), "sha256=");
        let h = headers(&[
            ("content-type", "application/json"),
            ("X-Leadwire-Timestamp", "now"),
            ("X-Leadwire-Signature", &sig),
        ]);
        is_unauthorized(
            a.verify(&request("POST", URL, &h, body, NOW)),
            "unix seconds",
        );
        let h = headers(&[("content-type", "text/xml")]);
        assert!(matches!(
            a.verify(&request("POST", URL, &h, body, NOW)),
            Err(AdapterError::UnsupportedMediaType(_))
        ));

        let h = headers(&[("content-type", "application/json")]);
        let parse = |b: &[u8]| a.parse(&request("POST", URL, &h, b, NOW));
        bad_request(parse(b"{"), "not valid JSON");
        bad_request(parse(b"5"), "body: expected a lead object");
        bad_request(parse(br#"{"email":"a@b.c"}"#), "body");
        bad_request(
            parse(br#"{"id":""}"#),
            "body.id: a lead needs a non-empty id",
        );
        bad_request(parse(br#"{"id":"1","colour":"red"}"#), "colour");
        bad_request(
            parse(br#"[{"id":"1"},{"lead":{"id":"2"},"event":{"trigger":"sla-breached"}}]"#),
            "body[1].event.trigger",
        );
        bad_request(
            parse(br#"[{"id":"1"},{"id":"2","created_at":"yesterday"}]"#),
            "body[1].created_at",
        );
    }
}

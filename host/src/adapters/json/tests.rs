//! The json adapter's tests: options, signatures, shapes.

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
    let readme = include_str!("../../../../README.md");
    let marker = "[sources.twenty.options]\n";
    let start = readme.find(marker).expect("the Twenty example") + marker.len();
    let options = &readme[start..start + readme[start..].find("```").unwrap()];
    let a = JsonAdapter::new(&table(options), Some("leadwire-test-secret".into())).unwrap();
    let body = include_bytes!("../../../../tests/fixtures/webhooks/twenty-person-updated.json");
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
    // No event id: the key is the event's content (which holds eventDate), so
    // a retry (same job data) matches and another update does not.
    assert!(
        e.dedup_key
            .starts_with("json:3f6b1c2a-8d4e-4b71-9a05-6e2d7c1f8b34:sha256:"),
        "{}",
        e.dedup_key
    );
    assert_eq!(a.parse(&req).unwrap()[0].dedup_key, e.dedup_key);
    let created = include_bytes!("../../../../tests/fixtures/webhooks/twenty-person-created.json");
    let other = a.parse(&request("POST", URL, &h, created, NOW)).unwrap();
    assert_eq!(other[0].lead.id, e.lead.id);
    assert_ne!(other[0].dedup_key, e.dedup_key);
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
    assert_eq!(e.dedup_key, "json:ev-1@1715678160000");
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
    assert!(events[0].dedup_key.starts_with("json:17:sha256:"));
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
        err("record_id = \"/id\"\ntoken_header = \"X\"\nwhatever = 1").contains("unknown field")
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

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

/// The README's `[sources.NAME]` example (a json source), built with `secret`.
fn readme_adapter(name: &str, secret: &str) -> JsonAdapter {
    let readme = include_str!("../../../../README.md");
    let header = format!("[sources.{name}]\n");
    let at = readme
        .find(&header)
        .unwrap_or_else(|| panic!("README has no {header}"));
    let start = readme[..at].rfind("```toml\n").unwrap() + "```toml\n".len();
    let end = at + readme[at..].find("```").unwrap();
    let doc: toml::Table = readme[start..end]
        .parse()
        .unwrap_or_else(|e| panic!("README's {name} example: {e}"));
    let source = doc["sources"][name].as_table().unwrap();
    assert_eq!(source["adapter"].as_str(), Some("json"));
    JsonAdapter::new(source["options"].as_table().unwrap(), Some(secret.into()))
        .unwrap_or_else(|e| panic!("README's {name} example: {e}"))
}

/// A fixture of tests/fixtures/webhooks (see its SOURCES.md).
fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../tests/fixtures/webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Replace `from` (which must be there) by `to` in a fixture, everywhere.
fn edited(body: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = std::str::from_utf8(body).unwrap();
    assert!(text.contains(from), "{from}");
    text.replace(from, to).into_bytes()
}

const SECRET: &str = "leadwire-test-secret";

#[test]
fn the_readme_zoho_example_takes_a_notification_about_two_records() {
    let a = readme_adapter("zoho", SECRET);
    let url = "https://hooks.leadwire.example/hooks/zoho?tenant=acme";
    let body = fixture("zoho-notification-leads-edit.json");
    let h = json_headers(&[]);
    let req = request("POST", url, &h, &body, NOW);
    a.verify(&req).unwrap();
    let events = a.parse(&req).unwrap();
    converts(&events);
    let ids: Vec<_> = events.iter().map(|e| e.lead.id.as_str()).collect();
    assert_eq!(ids, ["5725767000001234001", "5725767000001234017"]);
    assert!(events.iter().all(|e| e.kind == EventKind::Updated));
    assert!(
        events
            .iter()
            .all(|e| e.at == 1_715_678_160_456 && !e.complete)
    );
    assert_eq!(events[0].lead.fields["Designation"], "Head of Engineering");
    assert_eq!(events[1].lead.lifecycle_stage.as_deref(), Some("Qualified"));
    assert_ne!(events[0].dedup_key, events[1].dedup_key);

    let wrong = edited(
        &body,
        "\"token\":\"leadwire-test-secret\"",
        "\"token\":\"guess\"",
    );
    is_unauthorized(
        a.verify(&request("POST", url, &h, &wrong, NOW)),
        "wrong token in body/token",
    );
    let none = edited(
        &body,
        "\"token\":\"leadwire-test-secret\"",
        "\"token\":null",
    );
    is_unauthorized(
        a.verify(&request("POST", url, &h, &none, NOW)),
        "missing token: body/token",
    );
    let deals = edited(&body, "\"module\":\"Leads\"", "\"module\":\"Deals\"");
    assert!(
        a.parse(&request("POST", url, &h, &deals, NOW))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_readme_dataverse_example_reads_key_value_attributes_and_net_dates() {
    let a = readme_adapter("dataverse", SECRET);
    let url = "https://hooks.leadwire.example/hooks/dataverse?code=leadwire-test-secret";
    let h = json_headers(&[("x-ms-dynamics-entity-name", "lead")]);
    let create = fixture("dataverse-lead-create.json");
    let req = request("POST", url, &h, &create, NOW);
    a.verify(&req).unwrap();
    let events = a.parse(&req).unwrap();
    converts(&events);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.kind, EventKind::Created);
    assert_eq!(e.lead.id, "8d3b6f21-6a11-ef11-9f89-000d3a5a54dc");
    assert_eq!(e.at, 1_715_678_153_456);
    assert_eq!(
        e.lead.email.as_deref(),
        Some("ada.lovelace@analytical-engines.example")
    );
    assert_eq!(
        e.lead.owner.as_deref(),
        Some("75c2dd85-e89e-ef11-8122-000d3aa2331c")
    );
    assert_eq!(
        e.lead.created_at.map(Timestamp::millis),
        Some(1_715_678_153_000)
    );
    assert_eq!(
        e.lead.fields["statuscode"], 1,
        "an OptionSetValue is its number"
    );
    assert_eq!(e.lead.fields["jobtitle"], "Head of Engineering");
    assert_eq!(e.lead.fields["createdon"], "2024-05-14T09:15:53.000Z");

    let update = fixture("dataverse-lead-update.json");
    let e = &a.parse(&request("POST", url, &h, &update, NOW)).unwrap()[0];
    assert_eq!(e.kind, EventKind::Updated);
    assert_eq!(e.at, 1_715_680_931_000, "/Date(ms+0000)/");
    assert_eq!(e.lead.fields["statuscode"], 2);
    assert!(!e.complete);

    for (url, needle) in [
        (
            "https://h/hooks/dataverse?code=guess",
            "wrong token in the URL's `code`",
        ),
        ("https://h/hooks/dataverse", "missing token"),
    ] {
        is_unauthorized(a.verify(&request("POST", url, &h, &create, NOW)), needle);
    }
    let contact = edited(
        &create,
        "\"PrimaryEntityName\":\"lead\"",
        "\"PrimaryEntityName\":\"contact\"",
    );
    assert!(
        a.parse(&request("POST", url, &h, &contact, NOW))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_readme_twenty_example_takes_a_twenty_delivery() {
    let a = readme_adapter("twenty", SECRET);
    let body = fixture("twenty-person-updated.json");
    let h = twenty_signed(SECRET.as_bytes(), &NOW.to_string(), &body);
    let req = request("POST", URL, &h, &body, NOW);
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
    let created = fixture("twenty-person-created.json");
    let other = a.parse(&request("POST", URL, &h, &created, NOW)).unwrap();
    assert_eq!(other[0].kind, EventKind::Created);
    assert_eq!(other[0].lead.id, e.lead.id);
    assert_ne!(other[0].dedup_key, e.dedup_key);
    // The published worked signature (SOURCES.md) verifies too.
    let h = json_headers(&[
        (
            "X-Twenty-Webhook-Signature",
            "1066c0a700881d6f7ceb369c188f93bb8348b059ad7e94a1ece87d267260e862",
        ),
        ("X-Twenty-Webhook-Timestamp", "1715678153600"),
    ]);
    a.verify(&request("POST", URL, &h, &created, 1_715_678_160_000))
        .unwrap();
    let company = edited(
        &created,
        "\"nameSingular\":\"person\"",
        "\"nameSingular\":\"company\"",
    );
    assert!(
        a.parse(&request("POST", URL, &h, &company, NOW))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_readme_espocrm_example_takes_batches_and_both_signatures() {
    let a = readme_adapter("espocrm", SECRET);
    let create = fixture("espocrm-lead-create.json");
    let url = "https://hooks.leadwire.example/hooks/espocrm?event=Lead.create";
    let signature = "NjY0M2EyYzE5ZThmN2IwMTI6MzlkYzMzYWZhMTQyNTdjMjliZWRiNzhiN2I2NTUxOGVjNTk4NDI2MzFlM2I1ZTdiZTJiMjkyMDBjN2RjZDU2MQ==";
    let h = json_headers(&[("Signature", signature)]);
    let req = request("POST", url, &h, &create, NOW);
    a.verify(&req).unwrap();
    let events = a.parse(&req).unwrap();
    converts(&events);
    let e = &events[0];
    assert_eq!((events.len(), &e.kind), (1, &EventKind::Created));
    assert_eq!(e.lead.id, "6643a1f0b2c4d5e67");
    assert_eq!(e.lead.owner.as_deref(), Some("6640f3c2a1b7d9e04"));
    assert_eq!(e.lead.lifecycle_stage.as_deref(), Some("New"));
    assert_eq!(
        e.lead.company_domain.as_deref(),
        Some("analytical-engines.example")
    );
    assert_eq!(
        e.lead.created_at.map(Timestamp::millis),
        Some(1_715_678_153_000)
    );
    assert_eq!(e.lead.fields["addressCity"], "Zürich");
    is_unauthorized(
        a.verify(&request("POST", url, &h, &create[..create.len() - 1], NOW)),
        "does not match",
    );

    // Two items of one batch, from the update webhook.
    let update = fixture("espocrm-lead-update.json");
    let url = "https://hooks.leadwire.example/hooks/espocrm?event=Lead.update";
    let events = a.parse(&request("POST", url, &h, &update, NOW)).unwrap();
    let ids: Vec<_> = events.iter().map(|e| e.lead.id.as_str()).collect();
    assert_eq!(ids, ["6643a1f0b2c4d5e67", "6643a20b7c1e9f3a8"]);
    assert!(
        events
            .iter()
            .all(|e| e.kind == EventKind::Updated && !e.complete)
    );
    let no_event = "https://hooks.leadwire.example/hooks/espocrm";
    bad_request(
        a.parse(&request("POST", no_event, &h, &update, NOW)),
        "no `event` query parameter",
    );
    bad_request(
        a.parse(&request(
            "POST",
            &format!("{no_event}?event=Lead.merge"),
            &h,
            &update,
            NOW,
        )),
        "`Lead.merge` is not in options.triggers",
    );

    // Before v9: the legacy header, base64 of "{id}:" + the raw digest.
    let legacy = table(
        "events = \"\"\ndefault_trigger = \"created\"\nrecord_id = \"/id\"\n\
         signature_header = \"X-Signature\"\nencoding = \"espocrm-legacy\"",
    );
    let a = JsonAdapter::new(&legacy, Some(SECRET.into())).unwrap();
    let h = json_headers(&[(
        "X-Signature",
        "NjY0M2EyYzE5ZThmN2IwMTI6Odwzr6FCV8Kb7beLe2VRjsWYQmMeO1574rKSAMfc1WE=",
    )]);
    a.verify(&request("POST", url, &h, &create, NOW)).unwrap();
    let h = json_headers(&[("X-Signature", signature)]);
    is_unauthorized(
        a.verify(&request("POST", url, &h, &create, NOW)),
        "espocrm-legacy",
    );
}

#[test]
fn the_readme_close_example_takes_leads_and_skips_other_objects() {
    let a = readme_adapter("close", "6c656164776972652d746573742d736563726574");
    let url = "https://hooks.leadwire.example/hooks/close";
    let signed =
        |sig: &str, ts: &str| json_headers(&[("close-sig-hash", sig), ("close-sig-timestamp", ts)]);
    let lead = fixture("close-lead-updated.json");
    let now = 1_715_680_940_000;
    let h = signed(
        "225c81101b3aa3a9a44914da0283217a9cd58049ef00d00cec76e12345d2d4f1",
        "1715680932",
    );
    let req = request("POST", url, &h, &lead, now);
    a.verify(&req).unwrap();
    let events = a.parse(&req).unwrap();
    converts(&events);
    let e = &events[0];
    assert_eq!((events.len(), &e.kind), (1, &EventKind::Updated));
    assert_eq!(
        e.lead.id,
        "lead_zwqYhEFwzPyfCErS8uQ77is2wFLvr9BgVi6cTfbFM68"
    );
    assert_eq!(e.lead.lifecycle_stage.as_deref(), Some("Qualified"));
    assert_eq!(e.changed, ["date_updated", "status_id", "status_label"]);
    assert_eq!(e.at, 1_715_680_931_395);
    assert_eq!(
        e.dedup_key, "json:ev_5TvQ8nLr2wXcYp7KjB3mHd@1715680931395",
        "the id with date_updated: an event Close updates in place is new"
    );
    // The hex key used undecoded gives another hash (SOURCES.md's negative).
    let h = signed(
        "d488bfa74dcfb0360c05326e06824c62b2c39e620b81204a1ae85903458d4f2f",
        "1715680932",
    );
    is_unauthorized(
        a.verify(&request("POST", url, &h, &lead, now)),
        "does not match",
    );

    for (file, sig, ts) in [
        (
            "close-opportunity-created.json",
            "4373bea0a4940b8bfa69317e0c55378eb83feaa9b93ad08ddbe507c77d904d1c",
            "1715681143",
        ),
        (
            "close-contact-created.json",
            "9ea68a3f6722f50089b131b27c2f1319b2bd1a8ac606c084d1ce7b734a63c268",
            "1715678154",
        ),
    ] {
        let body = fixture(file);
        let h = signed(sig, ts);
        let now = ts.parse::<i64>().unwrap() * 1000 + 5_000;
        let req = request("POST", url, &h, &body, now);
        a.verify(&req).unwrap();
        assert!(a.parse(&req).unwrap().is_empty(), "{file} is not a lead");
    }
}

#[test]
fn the_readme_attio_example_dedups_on_the_idempotency_key() {
    let a = readme_adapter("attio", SECRET);
    let url = "https://hooks.leadwire.example/hooks/attio";
    let body = fixture("attio-record-updated.json");
    let key = "9b1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";
    let sig = "f26ef00c0d6dfd0336c6b83dd0a8221bb0a60bed63ceaa4c5f067d1be03467b1";
    let h = json_headers(&[("Attio-Signature", sig), ("Idempotency-Key", key)]);
    let req = request("POST", url, &h, &body, NOW);
    a.verify(&req).unwrap();
    let events = a.parse(&req).unwrap();
    converts(&events);
    let e = &events[0];
    assert_eq!((events.len(), &e.kind), (1, &EventKind::Updated));
    assert_eq!(e.lead.id, "bf071e1f-6035-429d-b874-d83ea64ea13b");
    assert_eq!(e.dedup_key, format!("json:{key}#0"));
    // The same update of the same attribute later is another message.
    let h2 = json_headers(&[("Attio-Signature", sig), ("Idempotency-Key", "another")]);
    let later = a.parse(&request("POST", url, &h2, &body, NOW)).unwrap();
    assert_ne!(later[0].dedup_key, e.dedup_key);
    let h = json_headers(&[("Attio-Signature", sig)]);
    bad_request(
        a.parse(&request("POST", url, &h, &body, NOW)),
        "missing idempotency-key header",
    );
    let created = fixture("attio-record-created.json");
    let h = json_headers(&[
        (
            "Attio-Signature",
            "fbf94358ce3eecd8e2f7d6907c874cdd5fb4a30e65768c2bd5d41c99d18d79ea",
        ),
        ("Idempotency-Key", key),
    ]);
    let req = request("POST", url, &h, &created, NOW);
    a.verify(&req).unwrap();
    assert_eq!(a.parse(&req).unwrap()[0].kind, EventKind::Created);
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
    for (opts, needle) in [
        ("trigger = \"/t\"\ntrigger_query = \"e\"", "not both"),
        (
            "trigger_query = \"e\"\ndefault_trigger = \"created\"",
            "default_trigger applies",
        ),
        ("objects = [\"lead\"]", "objects needs object_type"),
        ("object_type = \"/o\"", "object_type needs objects"),
        (
            "object_type = \"/o\"\nobjects = []",
            "object_type needs objects",
        ),
        (
            "event_id = \"/e\"\nidempotency_header = \"Idempotency-Key\"",
            "not both",
        ),
        ("token_query = \"code\"", "not both"),
        ("records = \"items\"", "\"/items\""),
    ] {
        let e = err(&format!(
            "record_id = \"/id\"\ntoken_header = \"X\"\n{opts}"
        ));
        assert!(e.contains(needle), "{opts}: {e}");
    }
    let e = err("record_id = \"/id\"\ntoken_query = \"code\"\nprefix = \"Bearer \"");
    assert!(e.contains("prefix applies"), "{e}");
    let none = JsonAdapter::new(&table("record_id = \"/id\"\ntoken_header = \"X\""), None)
        .err()
        .unwrap();
    assert!(none.contains("secret_env"), "{none}");
}

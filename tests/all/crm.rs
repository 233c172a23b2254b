//! The CRM clients against the fake CRMs, one request at a time: batches and
//! their per-item answers, OAuth refreshes raced by many callers, the signed
//! webhook. (The server tests cover the whole path from a webhook to a
//! write; these pin what one request does.)

use std::sync::{Arc, Barrier};
use std::time::Duration;

use leadwire::crm::Delivery;
use leadwire::crm::hubspot::HubSpot;
use leadwire::crm::oauth::{ClientAuth, Credential, RefreshGrant};
use leadwire::crm::salesforce::Salesforce;
use leadwire::crm::webhook::Webhook;
use leadwire::store::OutboxRow;
use serde_json::{Value, json};

use crate::fake_hubspot::{FakeHubSpot, OAuthApp};
use crate::fake_salesforce::FakeSalesforce;

const TOKEN: &str = "pat-na1-11111111-2222-3333-4444-555555555555";
const OWNERS: [&str; 2] = ["101", "102"];
const PROPERTIES: [&str; 2] = ["hubspot_owner_id", "leadwire_score"];

fn row(id: i64, record: &str, payload: Value) -> OutboxRow {
    OutboxRow {
        id,
        connection: "crm".into(),
        record: record.into(),
        decision_id: format!("decision-{id}"),
        payload,
        status: "inflight".into(),
        attempts: 1,
        next_attempt_at: 0,
        last_error: None,
        created_at: 0,
    }
}

fn timeout() -> Duration {
    Duration::from_secs(10)
}

#[test]
fn a_hubspot_batch_update_maps_each_input_back_to_its_row() {
    let crm = FakeHubSpot::start_on("127.0.0.1:0", TOKEN, &OWNERS, &PROPERTIES, 0);
    let client = HubSpot::new(Some(&crm.url), Credential::Fixed(TOKEN.into()), timeout());
    let score = |s: &str| json!({"properties": {"leadwire_score": s}});
    // Contact "gone" does not exist: HubSpot answers 207 naming it.
    let rows = [
        row(1, "555", score("20")),
        row(2, "gone", score("5")),
        row(3, "556", score("0")),
    ];
    let got = client.update_contacts(&rows);
    assert_eq!(got[0], Delivery::Done);
    assert!(
        matches!(&got[1], Delivery::Refused(e) if e.contains("207") && e.contains("OBJECT_NOT_FOUND")),
        "{got:?}"
    );
    assert_eq!(got[2], Delivery::Done);
    assert_eq!(crm.batches(), 1);
    assert_eq!(crm.writes().len(), 2);

    // One bad owner fails a whole batch (400): each row is then written on
    // its own and gets its own answer.
    let rows = [
        row(4, "557", json!({"properties": {"hubspot_owner_id": "999"}})),
        row(5, "558", json!({"properties": {"hubspot_owner_id": "101"}})),
    ];
    let got = client.update_contacts(&rows);
    assert!(
        matches!(&got[0], Delivery::Refused(e) if e.contains("INVALID_OWNER_ID")),
        "{got:?}"
    );
    assert_eq!(got[1], Delivery::Done);
    assert_eq!(crm.batches(), 1, "the refused batch wrote nothing");
    let writes = crm.writes();
    assert_eq!(writes.last().unwrap().0, "558");
}

#[test]
fn an_oauth_refresh_raced_by_many_callers_is_one_refresh_and_renewed_before_expiry() {
    let app = OAuthApp {
        client_id: "5f2b7c1e-aaaa-bbbb-cccc-0123456789ab".into(),
        client_secret: "client-secret-0123".into(),
        refresh_token: "na1-refresh-6789".into(),
        expires_in: 3,
    };
    let crm = FakeHubSpot::start_on("127.0.0.1:0", TOKEN, &OWNERS, &PROPERTIES, 0)
        .with_oauth(app.clone());
    let grant = RefreshGrant::new(
        HubSpot::token_url(Some(&crm.url)),
        app.client_id.clone(),
        app.client_secret.clone(),
        app.refresh_token.clone(),
        ClientAuth::Form,
        timeout(),
    );
    let client = Arc::new(HubSpot::new(
        Some(&crm.url),
        Credential::Refreshed(grant),
        timeout(),
    ));
    // Eight workers need a token at once; the token endpoint takes 200 ms.
    let start = Arc::new(Barrier::new(8));
    let workers: Vec<_> = (0..8)
        .map(|i| {
            let (client, start) = (client.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                let payload = json!({"properties": {"leadwire_score": i.to_string()}});
                client.update_contact(&(600 + i).to_string(), &payload)
            })
        })
        .collect();
    for w in workers {
        assert_eq!(w.join().unwrap(), Delivery::Done);
    }
    assert_eq!(crm.refreshes(), 1, "one refresh for eight callers");
    // At 80% of expires_in the token is renewed before HubSpot refuses it.
    std::thread::sleep(Duration::from_millis(2_600));
    let payload = json!({"properties": {"leadwire_score": "9"}});
    assert_eq!(client.update_contact("700", &payload), Delivery::Done);
    assert_eq!(crm.refreshes(), 2);

    // A refresh token HubSpot does not know: the write fails with its answer.
    let bad = HubSpot::new(
        Some(&crm.url),
        Credential::Refreshed(RefreshGrant::new(
            HubSpot::token_url(Some(&crm.url)),
            app.client_id.clone(),
            app.client_secret.clone(),
            "revoked".into(),
            ClientAuth::Form,
            timeout(),
        )),
        timeout(),
    );
    match bad.update_contact("700", &payload) {
        Delivery::Failed(e) => assert!(e.contains("BAD_REFRESH_TOKEN"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_salesforce_collection_update_answers_per_record_and_reads_the_limit_info() {
    let org = FakeSalesforce::start("key", "secret", 1);
    let client = Salesforce::new(&org.url, "key".into(), "secret".into(), None, timeout());
    let rows = [
        row(
            1,
            "00Q5g00000Lk7ZqEAJ",
            json!({"OwnerId": "0055g00000AbCdEAA1", "Lead_Score__c": 20}),
        ),
        row(2, "00Q5g00000Lk7ZqEA2", json!({"OwnerId": "not-a-user"})),
        row(3, "00Q5g00000Lk7ZqEA3", json!({"Lead_Score__c": 5})),
    ];
    let got = client.update_leads(&rows);
    assert_eq!(got[0], Delivery::Done);
    assert!(
        matches!(&got[1], Delivery::Refused(e) if e.contains("MALFORMED_ID")),
        "{got:?}"
    );
    assert_eq!(got[2], Delivery::Done);
    assert_eq!(org.collections(), (1, 0), "one request, allOrNone false");
    let writes = org.wait_for_writes(2, 1);
    assert_eq!(
        writes[0].1["OwnerId"], "0055g00000AbCdEAA1",
        "sent without auto-assignment"
    );
    assert!(client.take_pause().is_none());
    // The session lasted one request: the next collection refreshes it once;
    // its answer says 95% of the allocation is used, so the client asks to
    // hold back.
    org.set_api_usage(14_250, 15_000);
    let got = client.update_leads(
        &rows[..1]
            .iter()
            .chain(&rows[2..])
            .cloned()
            .collect::<Vec<_>>(),
    );
    assert_eq!(got, [Delivery::Done, Delivery::Done]);
    assert_eq!(org.tokens_issued(), 2);
    let (after, why) = client.take_pause().expect("a pause");
    assert!(
        after >= Duration::from_secs(60) && why.contains("14251/15000"),
        "{why}"
    );
}

#[test]
fn a_webhook_connection_posts_signed_json_the_receiver_can_verify() {
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::Mutex;
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let received: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
    let books = received.clone();
    let served = crate::fake_crm::serve("127.0.0.1:0", move |_| {
        axum::Router::new()
            .route(
                "/hooks/leads",
                axum::routing::post(move |headers: HeaderMap, body: String| {
                    let books = books.clone();
                    async move {
                        books.lock().unwrap().push((headers, body));
                        StatusCode::NO_CONTENT
                    }
                }),
            )
            .route(
                "/hooks/gone",
                axum::routing::post(|| async { StatusCode::GONE }),
            )
    });
    let hook = Webhook::new(&format!("{}/hooks/leads", served.url), secret, timeout());
    let r = row(
        42,
        "lead-7",
        json!({"owner": "ana@example.com", "score": "20"}),
    );
    assert_eq!(hook.post(&r), Delivery::Done);
    let got = received.lock().unwrap().clone();
    let (headers, body) = &got[0];
    let header = |k: &str| headers.get(k).unwrap().to_str().unwrap().to_string();
    assert_eq!(header("webhook-id"), "lw_outbox_42");
    assert_eq!(header("content-type"), "application/json");
    let ts: i64 = header("webhook-timestamp").parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 300);
    // Verified as a receiver does: HMAC-SHA256 over "id.timestamp.body" with
    // the secret's base64-decoded bytes.
    use base64::Engine;
    use hmac::Mac;
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("lw_outbox_42.{ts}.{body}").as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(header("webhook-signature"), format!("v1,{expected}"));
    let doc: Value = serde_json::from_str(body).unwrap();
    assert_eq!(doc["record"], "lead-7");
    assert_eq!(doc["decision_id"], "decision-42");
    assert_eq!(doc["properties"]["score"], "20");

    let gone = Webhook::new(&format!("{}/hooks/gone", served.url), secret, timeout());
    assert!(matches!(gone.post(&r), Delivery::Refused(e) if e.contains("410")));
}

#[test]
fn salesforce_and_pipedrive_records_are_read_with_what_was_asked() {
    let org = FakeSalesforce::start("key", "secret", 100);
    org.put_lead("00Q5g00000Lk7ZqEAJ", json!({"Title": "VP of Sales"}));
    let sf = Salesforce::new(&org.url, "key".into(), "secret".into(), None, timeout());
    let fields = vec!["Title".to_string(), "Country".to_string()];
    let lead = sf
        .get_lead("00Q5g00000Lk7ZqEAJ", &fields, timeout())
        .unwrap()
        .expect("the lead");
    assert_eq!(lead["Title"], "VP of Sales");
    assert_eq!(lead["Country"], Value::Null);
    assert!(!lead.contains_key("attributes"));
    assert_eq!(
        sf.get_lead("00Q5g00000Lk7ZqXXX", &fields, timeout()),
        Ok(None)
    );
    let bad = sf.get_lead("00Q5g00000Lk7ZqEAJ", &["Nope".to_string()], timeout());
    assert!(
        matches!(&bad, Err(e) if e.contains("INVALID_FIELD")),
        "{bad:?}"
    );

    use crate::fake_pipedrive::FakePipedrive;
    use leadwire::crm::pipedrive::Pipedrive;
    let pd = FakePipedrive::start(TOKEN, &[101], &[], 0);
    pd.put_person(
        "1187",
        json!({"id": 1187, "name": "Ada", "owner_id": 101,
        "emails": [{"label": "work", "value": "ada@example.com", "primary": true}]}),
    );
    let client = Pipedrive::new(Some(&pd.url), Credential::Fixed(TOKEN.into()), timeout());
    let person = client
        .get_record("1187", timeout())
        .unwrap()
        .expect("the person");
    assert_eq!(person["name"], "Ada");
    assert_eq!(client.get_record("9", timeout()), Ok(None));
    let wrong = Pipedrive::new(Some(&pd.url), Credential::Fixed("wrong".into()), timeout());
    assert!(matches!(wrong.get_record("1187", timeout()), Err(e) if e.contains("401")));
}

#[test]
fn a_pipedrive_oauth_app_refreshes_with_basic_auth_and_writes_to_its_api_domain() {
    use crate::fake_pipedrive::FakePipedrive;
    use leadwire::crm::pipedrive::Pipedrive;
    let pd = FakePipedrive::start(TOKEN, &[101], &[], 0).with_oauth("app-id:app-secret", "r-123");
    let grant = RefreshGrant::new(
        format!("{}/oauth/token", pd.url),
        "app-id".into(),
        "app-secret".into(),
        "r-123".into(),
        ClientAuth::Basic,
        timeout(),
    );
    // No base_url: the token answer's api_domain says where the company is.
    let client = Pipedrive::new(None, Credential::Refreshed(grant), timeout());
    assert_eq!(
        client.update_record("1187", &json!({"owner_id": 101})),
        Delivery::Done
    );
    assert_eq!(
        client.update_record("1188", &json!({"owner_id": 101})),
        Delivery::Done
    );
    assert_eq!(pd.refreshes(), 1);
    assert_eq!(pd.wait_for_writes(2, 1).len(), 2);
}

#[test]
fn a_pipedrive_lead_is_written_through_api_v1_and_a_person_through_v2() {
    use crate::fake_pipedrive::FakePipedrive;
    use leadwire::crm::pipedrive::Pipedrive;
    const SCORE_KEY: &str = "d4de1c1518b4531717c676029a45911c340390a6";
    let pd = FakePipedrive::start(TOKEN, &[101], &[SCORE_KEY], 0);
    let client = Pipedrive::new(Some(&pd.url), Credential::Fixed(TOKEN.into()), timeout());
    let payload = json!({"owner_id": 101, "custom_fields": {SCORE_KEY: 20}});
    let lead = "adf21080-0e10-11eb-879b-05d71fb426ec";
    assert_eq!(client.update_record(lead, &payload), Delivery::Done);
    assert_eq!(client.update_record("1187", &payload), Delivery::Done);
    let writes = pd.wait_for_writes(2, 1);
    // The lead's custom field at the top level (v1); the person's under custom_fields (v2).
    assert_eq!(
        writes[0],
        (lead.to_string(), json!({"owner_id": 101, SCORE_KEY: 20}))
    );
    assert_eq!(writes[1], ("1187".to_string(), payload));
    let missing = client.update_record(
        "00000000-0000-0000-0000-00000000000x",
        &json!({"owner_id": 9}),
    );
    assert!(
        matches!(&missing, Delivery::Refused(e) if e.contains("owner_id")),
        "{missing:?}"
    );
}

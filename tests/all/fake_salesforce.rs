//! A fake Salesforce org on loopback, written from Salesforce's REST API and
//! OAuth documentation: `POST /services/oauth2/token` with
//! `grant_type=client_credentials` and the connected app's key and secret
//! (form-encoded) answers `{access_token, instance_url, id, token_type,
//! issued_at, signature}`; `PATCH /services/data/v60.0/sobjects/Lead/{id}`
//! with a bearer token answers 204, or `[{"message","errorCode","fields"}]`
//! errors: 401 INVALID_SESSION_ID for an expired session (each session here
//! lasts `session_uses` requests), 400 MALFORMED_ID for an OwnerId that is
//! not a user (005) or queue (00G), 404 NOT_FOUND. Without
//! `Sforce-Auto-Assign: FALSE` it runs the org's assignment rule, which
//! overwrites the owner (recorded, so a test can tell).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use serde_json::{Value, json};

use crate::fake_crm::{Served, serve, wait_for};

#[derive(Default)]
struct Org {
    url: String,
    client_id: String,
    client_secret: String,
    session_uses: usize,
    /// token → uses left
    sessions: BTreeMap<String, usize>,
    tokens_issued: usize,
    writes: Vec<(String, Value)>,
    /// Sforce-Limit-Info's api-usage: requests so far and the allocation.
    api_used: u64,
    api_allowed: u64,
    collections: usize,
    all_or_none_calls: usize,
    leads: BTreeMap<String, serde_json::Map<String, Value>>,
}

pub struct FakeSalesforce {
    pub url: String,
    org: Arc<Mutex<Org>>,
    _served: Served,
}

fn errors(status: StatusCode, code: &str, message: &str, fields: &[&str]) -> Response {
    (
        status,
        axum::Json(json!([{ "message": message, "errorCode": code, "fields": fields }])),
    )
        .into_response()
}

async fn token(State(org): State<Arc<Mutex<Org>>>, body: String) -> Response {
    let mut o = org.lock().unwrap();
    let form: BTreeMap<String, String> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if get("grant_type") != "client_credentials" {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "unsupported_grant_type", "error_description": "grant type not supported"})),
        )
            .into_response();
    }
    if get("client_id") != o.client_id || get("client_secret") != o.client_secret {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_client", "error_description": "invalid client credentials"})),
        )
            .into_response();
    }
    o.tokens_issued += 1;
    let token = format!("00D5g000004SGHn!AQ0AQ.session{}", o.tokens_issued);
    let uses = o.session_uses;
    o.sessions.insert(token.clone(), uses);
    axum::Json(json!({
        "access_token": token,
        "instance_url": o.url,
        "id": format!("{}/id/00D5g000004SGHnEAO/0055g00000AbCdEAAV", o.url),
        "token_type": "Bearer",
        "issued_at": "1763632800000",
        "signature": "c2lnbmF0dXJl",
    }))
    .into_response()
}

/// 401 INVALID_SESSION_ID when the request's session is expired or unknown;
/// else one use of it is spent.
fn refused_session(o: &mut Org, headers: &HeaderMap) -> Option<Response> {
    (!session_ok(o, headers)).then(|| {
        errors(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
            &[],
        )
    })
}

/// Spend one use of the request's session; false when it is expired or unknown.
fn session_ok(o: &mut Org, headers: &HeaderMap) -> bool {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match o.sessions.get_mut(token) {
        Some(left) if *left > 0 => {
            *left -= 1;
            true
        }
        _ => false,
    }
}

/// Update Lead `id` with `fields` as the org would: (status, errorCode,
/// message, fields) when it refuses.
fn apply(
    o: &mut Org,
    id: &str,
    mut fields: serde_json::Map<String, Value>,
    headers: &HeaderMap,
) -> Result<(), (StatusCode, &'static str, String, Vec<&'static str>)> {
    if !id.starts_with("00Q") || !(id.len() == 15 || id.len() == 18) {
        return Err((
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist".into(),
            vec![],
        ));
    }
    if let Some(owner) = fields.get("OwnerId").and_then(Value::as_str) {
        if !(owner.starts_with("005") || owner.starts_with("00G")) {
            return Err((
                StatusCode::BAD_REQUEST,
                "MALFORMED_ID",
                format!("Owner ID: id value of incorrect type: {owner}"),
                vec!["OwnerId"],
            ));
        }
    }
    let auto_assign = headers
        .get("sforce-auto-assign")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| !v.eq_ignore_ascii_case("false"));
    if auto_assign {
        // The org's active assignment rule runs and takes the lead.
        fields.insert("OwnerId".into(), json!("00G5g000001RuleQAA"));
    }
    o.writes.push((id.to_string(), Value::Object(fields)));
    Ok(())
}

/// Every answer says how much of the daily allocation is used.
fn with_limit_info(o: &mut Org, mut r: Response) -> Response {
    o.api_used += 1;
    let info = format!("api-usage={}/{}", o.api_used, o.api_allowed);
    r.headers_mut()
        .insert("Sforce-Limit-Info", info.parse().unwrap());
    r
}

/// `GET /services/data/v60.0/sobjects/Lead/{id}?fields=A,B`: the fields
/// asked for (null where empty) with `attributes`; 400 INVALID_FIELD for a
/// field the Lead object does not have; 404 NOT_FOUND for another id.
async fn read_lead(
    State(org): State<Arc<Mutex<Org>>>,
    Path(id): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut o = org.lock().unwrap();
    if let Some(expired) = refused_session(&mut o, &headers) {
        return expired;
    }
    let Some(lead) = o.leads.get(&id).cloned() else {
        return errors(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
            &[],
        );
    };
    let mut answer = serde_json::Map::new();
    answer.insert(
        "attributes".into(),
        json!({"type": "Lead", "url": format!("/services/data/v60.0/sobjects/Lead/{id}")}),
    );
    for field in q.get("fields").map(String::as_str).unwrap_or("").split(',') {
        const KNOWN: [&str; 6] = ["Id", "Title", "Country", "Email", "OwnerId", "Status"];
        if !KNOWN.contains(&field) && !field.ends_with("__c") {
            return errors(
                StatusCode::BAD_REQUEST,
                "INVALID_FIELD",
                &format!("No such column '{field}' on entity 'Lead'."),
                &[],
            );
        }
        answer.insert(
            field.into(),
            lead.get(field).cloned().unwrap_or(Value::Null),
        );
    }
    let answer = axum::Json(Value::Object(answer)).into_response();
    with_limit_info(&mut o, answer)
}

async fn update_lead(
    State(org): State<Arc<Mutex<Org>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut o = org.lock().unwrap();
    if let Some(expired) = refused_session(&mut o, &headers) {
        return expired;
    }
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&body) else {
        return errors(
            StatusCode::BAD_REQUEST,
            "JSON_PARSER_ERROR",
            "Unexpected character",
            &[],
        );
    };
    let answer = match apply(&mut o, &id, fields, &headers) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err((status, code, message, fields)) => errors(status, code, &message, &fields),
    };
    with_limit_info(&mut o, answer)
}

/// `PATCH /services/data/v60.0/composite/sobjects`: `{"allOrNone": false,
/// "records": [{"attributes": {"type": "Lead"}, "id", …fields}]}`, at most
/// 200; 200 with one `{id, success, errors: [{statusCode, message,
/// fields}]}` per record, in order.
async fn update_collection(
    State(org): State<Arc<Mutex<Org>>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut o = org.lock().unwrap();
    if let Some(expired) = refused_session(&mut o, &headers) {
        return expired;
    }
    let doc = serde_json::from_str::<Value>(&body).unwrap_or_default();
    let Some(records) = doc.get("records").and_then(Value::as_array).cloned() else {
        return errors(
            StatusCode::BAD_REQUEST,
            "JSON_PARSER_ERROR",
            "records is required",
            &[],
        );
    };
    if records.len() > 200 {
        return errors(
            StatusCode::BAD_REQUEST,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
            &[],
        );
    }
    if doc.get("allOrNone") != Some(&json!(false)) {
        o.all_or_none_calls += 1;
    }
    o.collections += 1;
    let mut results = Vec::new();
    for record in records {
        let Value::Object(mut fields) = record else {
            return errors(
                StatusCode::BAD_REQUEST,
                "JSON_PARSER_ERROR",
                "a record is an object",
                &[],
            );
        };
        let id = fields
            .remove("id")
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let typed = fields
            .remove("attributes")
            .and_then(|a| a.get("type").cloned());
        if typed != Some(json!("Lead")) {
            return errors(
                StatusCode::BAD_REQUEST,
                "INVALID_TYPE",
                "attributes.type is required",
                &[],
            );
        }
        results.push(match apply(&mut o, &id, fields, &headers) {
            Ok(()) => json!({"id": id, "success": true, "errors": []}),
            Err((_, code, message, fields)) => json!({"success": false, "errors": [
                {"statusCode": code, "message": message, "fields": fields}]}),
        });
    }
    let answer = axum::Json(Value::Array(results)).into_response();
    with_limit_info(&mut o, answer)
}

impl FakeSalesforce {
    pub fn start(client_id: &str, client_secret: &str, session_uses: usize) -> FakeSalesforce {
        let org = Arc::new(Mutex::new(Org {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            session_uses,
            api_allowed: 15_000,
            ..Org::default()
        }));
        let state = org.clone();
        let served = serve("127.0.0.1:0", move |url| {
            // The token answer names this server as the instance.
            state.lock().unwrap().url = url.to_string();
            axum::Router::new()
                .route("/services/oauth2/token", post(token))
                .route(
                    "/services/data/v60.0/sobjects/Lead/{id}",
                    axum::routing::get(read_lead).patch(update_lead),
                )
                .route(
                    "/services/data/v60.0/composite/sobjects",
                    patch(update_collection),
                )
                .with_state(state)
        });
        FakeSalesforce {
            url: served.url.clone(),
            org,
            _served: served,
        }
    }

    /// A Lead the API answers reads of.
    pub fn put_lead(&self, id: &str, fields: Value) {
        let Value::Object(f) = fields else {
            panic!("fields are an object")
        };
        self.org.lock().unwrap().leads.insert(id.into(), f);
    }

    /// sObject Collections requests accepted, and those without
    /// `allOrNone: false`.
    pub fn collections(&self) -> (usize, usize) {
        let o = self.org.lock().unwrap();
        (o.collections, o.all_or_none_calls)
    }

    /// Make the org's usage `used` of `allowed` (Sforce-Limit-Info).
    pub fn set_api_usage(&self, used: u64, allowed: u64) {
        let mut o = self.org.lock().unwrap();
        (o.api_used, o.api_allowed) = (used, allowed);
    }

    pub fn tokens_issued(&self) -> usize {
        self.org.lock().unwrap().tokens_issued
    }

    pub fn wait_for_writes(&self, n: usize, seconds: u64) -> Vec<(String, Value)> {
        wait_for(n, seconds, || self.org.lock().unwrap().writes.clone())
    }
}

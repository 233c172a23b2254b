//! A fake HubSpot CRM API on loopback, written from HubSpot's documentation
//! (developers.hubspot.com: update-contact, api-error-responses, usage
//! guidelines): `PATCH /crm/v3/objects/contacts/{id}` with a private app's
//! bearer token and `{"properties": {…}}` of known properties (string
//! values), `hubspot_owner_id` an existing owner's `id`. It answers as HubSpot
//! does: 200 with the object, 401 INVALID_AUTHENTICATION, 400
//! VALIDATION_ERROR, 404 OBJECT_NOT_FOUND, and 429 RATE_LIMIT
//! (TEN_SECONDLY_ROLLING, no Retry-After) for the first `throttle_first`
//! requests, to test pacing. `GET /crm/v3/objects/contacts/{id}?properties=a,b`
//! answers a contact the test put in (the properties asked for, null where
//! empty; unknown ones left out), 404 for another, 500 for one set failing.

use std::sync::{Arc, Mutex};

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::fake_crm::{Served, serve, wait_for};

#[derive(Default)]
struct Books {
    token: String,
    owners: Vec<String>,
    properties: Vec<String>,
    throttle_first: usize,
    requests: usize,
    throttled: usize,
    /// Every accepted update: (contact id, properties).
    writes: Vec<(String, Value)>,
    contacts: BTreeMap<String, serde_json::Map<String, Value>>,
    failing: Vec<String>,
    reads: usize,
    batches: usize,
    oauth: Option<OAuthApp>,
    refreshes: usize,
    access_tokens: Vec<(String, std::time::Instant)>,
}

/// A private app's token, or (with an OAuth app) an access token the token
/// endpoint issued that has not expired.
fn authorized(b: &Books, headers: &HeaderMap) -> bool {
    let Some(bearer) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.strip_prefix("Bearer "))
    else {
        return false;
    };
    if b.oauth.is_some() {
        let now = std::time::Instant::now();
        return b
            .access_tokens
            .iter()
            .any(|(t, until)| t == bearer && now < *until);
    }
    bearer == b.token
}

/// An OAuth app installed in the account.
#[derive(Clone)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    /// How long an access token lasts (HubSpot: 1800 s).
    pub expires_in: u64,
}

async fn read_contact(
    State(books): State<Arc<Mutex<Books>>>,
    Path(id): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut b = books.lock().unwrap();
    b.reads += 1;
    if !authorized(&b, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
        );
    }
    if b.failing.contains(&id) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "internal error",
        );
    }
    let Some(contact) = b.contacts.get(&id) else {
        return error(
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            "resource not found",
        );
    };
    let mut properties = serde_json::Map::new();
    for name in q
        .get("properties")
        .map(String::as_str)
        .unwrap_or("")
        .split(',')
    {
        if b.properties.iter().any(|p| p == name) || contact.contains_key(name) {
            properties.insert(
                name.into(),
                contact.get(name).cloned().unwrap_or(Value::Null),
            );
        }
    }
    properties.insert("hs_object_id".into(), Value::String(id.clone()));
    axum::Json(json!({
        "id": id,
        "properties": properties,
        "createdAt": "2026-11-20T10:00:00.000Z",
        "updatedAt": "2026-11-20T10:00:01.000Z",
        "archived": false,
    }))
    .into_response()
}

pub struct FakeHubSpot {
    pub url: String,
    books: Arc<Mutex<Books>>,
    _served: Served,
}

fn error(status: StatusCode, category: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "status": "error",
            "message": message,
            "correlationId": "4f3a9c2e-0b1d-4e5f-8a7b-6c5d4e3f2a1b",
            "category": category,
        })),
    )
        .into_response()
}

async fn update_contact(
    State(books): State<Arc<Mutex<Books>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut b = books.lock().unwrap();
    if let Some(refused) = gate(&mut b, &headers) {
        return refused;
    }
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "Invalid input JSON",
        );
    };
    let Some(properties) = body.get("properties").and_then(Value::as_object) else {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "Invalid input JSON: properties is required",
        );
    };
    if let Some((status, category, message)) = refused(&b, &id, properties) {
        return error(status, category, &message);
    }
    b.writes
        .push((id.clone(), Value::Object(properties.clone())));
    let mut props = properties.clone();
    props.insert("hs_object_id".into(), Value::String(id.clone()));
    axum::Json(json!({
        "id": id,
        "properties": props,
        "createdAt": "2026-11-20T10:00:00.000Z",
        "updatedAt": "2026-11-20T10:00:01.000Z",
        "archived": false,
    }))
    .into_response()
}

/// Why HubSpot would refuse writing `properties` to contact `id`.
fn refused(
    b: &Books,
    id: &str,
    properties: &serde_json::Map<String, Value>,
) -> Option<(StatusCode, &'static str, String)> {
    if !id.bytes().all(|c| c.is_ascii_digit()) {
        return Some((
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            "Object not found.  objectId are usually numeric.".into(),
        ));
    }
    for (name, value) in properties {
        if !b.properties.contains(name) {
            return Some((
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                format!(
                    "Property values were not valid: [{{\"isValid\":false,\"message\":\"Property \\\"{name}\\\" does not exist\",\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"{name}\"}}]"
                ),
            ));
        }
        let Some(text) = value.as_str() else {
            return Some((
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                "values are strings".into(),
            ));
        };
        if name == "hubspot_owner_id" && !b.owners.iter().any(|o| o == text) {
            return Some((
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                format!(
                    "Property values were not valid: [{{\"isValid\":false,\"message\":\"{text} is not a valid owner id\",\"error\":\"INVALID_OWNER_ID\",\"name\":\"hubspot_owner_id\"}}]"
                ),
            ));
        }
    }
    None
}

/// `POST /crm/v3/objects/contacts/batch/update`: up to 100 inputs; an invalid
/// property value fails the whole batch (400), as HubSpot does; contacts
/// that do not exist are reported per id in a 207.
async fn batch_update(
    State(books): State<Arc<Mutex<Books>>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut b = books.lock().unwrap();
    if let Some(refused) = gate(&mut b, &headers) {
        return refused;
    }
    let inputs = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v.get("inputs")?.as_array().cloned());
    let Some(inputs) = inputs else {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "Invalid input JSON: inputs is required",
        );
    };
    if inputs.len() > 100 {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            &format!(
                "Batch input size of {} exceeds the maximum of 100",
                inputs.len()
            ),
        );
    }
    let mut missing = Vec::new();
    let mut accepted = Vec::new();
    for input in &inputs {
        let id = input
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let properties = input
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        match refused(&b, &id, &properties) {
            Some((StatusCode::NOT_FOUND, ..)) => missing.push(id),
            Some((status, category, message)) => return error(status, category, &message),
            None => accepted.push((id, properties)),
        }
    }
    b.batches += 1;
    let mut results = Vec::new();
    for (id, properties) in accepted {
        b.writes
            .push((id.clone(), Value::Object(properties.clone())));
        results.push(json!({"id": id, "properties": properties, "archived": false}));
    }
    let mut answer = json!({
        "status": "COMPLETE",
        "results": results,
        "startedAt": "2026-11-20T10:00:00.000Z",
        "completedAt": "2026-11-20T10:00:00.100Z",
    });
    if missing.is_empty() {
        return axum::Json(answer).into_response();
    }
    answer["numErrors"] = json!(1);
    answer["errors"] = json!([{
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.",
        "context": {"ids": missing},
    }]);
    (StatusCode::MULTI_STATUS, axum::Json(answer)).into_response()
}

/// What every write meets first: the token, then the rate limit.
fn gate(b: &mut Books, headers: &HeaderMap) -> Option<Response> {
    b.requests += 1;
    if !authorized(b, headers) {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
        ));
    }
    if b.throttled < b.throttle_first {
        b.throttled += 1;
        return Some(throttled());
    }
    None
}

/// HubSpot's 429 for the ten-secondly limit (no Retry-After).
fn throttled() -> Response {
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(json!({
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": "9d2c4b1a-3e5f-4a6b-8c7d-0e1f2a3b4c5d",
            "policyName": "TEN_SECONDLY_ROLLING",
        })),
    )
        .into_response();
    for (k, v) in [
        ("X-HubSpot-RateLimit-Interval-Milliseconds", "10000"),
        ("X-HubSpot-RateLimit-Max", "100"),
        ("X-HubSpot-RateLimit-Remaining", "0"),
    ] {
        r.headers_mut().insert(k, v.parse().unwrap());
    }
    r
}

/// `POST /oauth/v1/token` (form): `grant_type=refresh_token`, the app's
/// `client_id` and `client_secret`, the install's `refresh_token`. Answers a
/// new access token valid `expires_in` seconds, or 400 BAD_REFRESH_TOKEN /
/// BAD_CLIENT_ID. Slow on purpose (200 ms), so that callers racing for a
/// token overlap.
async fn issue_token(State(books): State<Arc<Mutex<Books>>>, body: String) -> Response {
    let form: BTreeMap<String, String> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut b = books.lock().unwrap();
    let Some(oauth) = b.oauth.clone() else {
        return (StatusCode::NOT_FOUND, "no OAuth app").into_response();
    };
    let bad = |status: &str, message: &str| {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"status": status, "message": message,
                "correlationId": "0b1d4e5f-8a7b-6c5d-4e3f-2a1b4f3a9c2e"})),
        )
            .into_response()
    };
    if form.get("grant_type").map(String::as_str) != Some("refresh_token") {
        return bad("BAD_GRANT_TYPE", "grant_type must be refresh_token");
    }
    if form.get("client_id") != Some(&oauth.client_id)
        || form.get("client_secret") != Some(&oauth.client_secret)
    {
        return bad(
            "BAD_CLIENT_ID",
            "missing or invalid client_id or client_secret",
        );
    }
    if form.get("refresh_token") != Some(&oauth.refresh_token) {
        return bad("BAD_REFRESH_TOKEN", "missing or unknown refresh token");
    }
    b.refreshes += 1;
    let access = format!("oauth-access-{}", b.refreshes);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(oauth.expires_in);
    b.access_tokens.push((access.clone(), until));
    axum::Json(json!({
        "token_type": "bearer",
        "refresh_token": oauth.refresh_token,
        "access_token": access,
        "expires_in": oauth.expires_in,
    }))
    .into_response()
}

impl FakeHubSpot {
    /// On `addr` (`127.0.0.1:0` for any free port).
    pub fn start_on(
        addr: &str,
        token: &str,
        owners: &[&str],
        properties: &[&str],
        throttle_first: usize,
    ) -> FakeHubSpot {
        let books = Arc::new(Mutex::new(Books {
            token: token.into(),
            owners: owners.iter().map(|s| s.to_string()).collect(),
            properties: properties.iter().map(|s| s.to_string()).collect(),
            throttle_first,
            ..Books::default()
        }));
        let state = books.clone();
        let served = serve(addr, move |_| {
            axum::Router::new()
                .route(
                    "/crm/v3/objects/contacts/{id}",
                    get(read_contact).patch(update_contact),
                )
                .route("/crm/v3/objects/contacts/batch/update", post(batch_update))
                .route("/oauth/v1/token", post(issue_token))
                .with_state(state)
        });
        FakeHubSpot {
            url: served.url.clone(),
            books,
            _served: served,
        }
    }

    /// Take OAuth access tokens from `app` only (no private app token).
    pub fn with_oauth(self, app: OAuthApp) -> FakeHubSpot {
        self.books.lock().unwrap().oauth = Some(app);
        self
    }

    /// Access tokens the token endpoint issued.
    pub fn refreshes(&self) -> usize {
        self.books.lock().unwrap().refreshes
    }

    /// Batch updates accepted.
    pub fn batches(&self) -> usize {
        self.books.lock().unwrap().batches
    }

    /// A contact the API answers reads of.
    pub fn put_contact(&self, id: &str, properties: Value) {
        let Value::Object(p) = properties else {
            panic!("properties are an object")
        };
        self.books.lock().unwrap().contacts.insert(id.into(), p);
    }

    /// Reads of this contact answer 500.
    pub fn fail_reads_of(&self, id: &str) {
        self.books.lock().unwrap().failing.push(id.into());
    }

    pub fn reads(&self) -> usize {
        self.books.lock().unwrap().reads
    }

    pub fn writes(&self) -> Vec<(String, Value)> {
        self.books.lock().unwrap().writes.clone()
    }

    pub fn throttled(&self) -> usize {
        self.books.lock().unwrap().throttled
    }

    /// Wait (up to `seconds`) until `n` writes were accepted.
    pub fn wait_for_writes(&self, n: usize, seconds: u64) -> Vec<(String, Value)> {
        wait_for(n, seconds, || self.writes())
    }
}

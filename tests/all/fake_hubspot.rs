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
use axum::routing::get;
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
}

fn authorized(b: &Books, headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a == format!("Bearer {}", b.token))
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
    b.requests += 1;
    if !authorized(&b, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
        );
    }
    if b.throttled < b.throttle_first {
        b.throttled += 1;
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
        return r;
    }
    if !id.bytes().all(|c| c.is_ascii_digit()) {
        return error(
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            "Object not found.  objectId are usually numeric.",
        );
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
    for (name, value) in properties {
        if !b.properties.contains(name) {
            return error(
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                &format!(
                    "Property values were not valid: [{{\"isValid\":false,\"message\":\"Property \\\"{name}\\\" does not exist\",\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"{name}\"}}]"
                ),
            );
        }
        let Some(text) = value.as_str() else {
            return error(
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                "values are strings",
            );
        };
        if name == "hubspot_owner_id" && !b.owners.iter().any(|o| o == text) {
            return error(
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                &format!(
                    "Property values were not valid: [{{\"isValid\":false,\"message\":\"{text} is not a valid owner id\",\"error\":\"INVALID_OWNER_ID\",\"name\":\"hubspot_owner_id\"}}]"
                ),
            );
        }
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
                .with_state(state)
        });
        FakeHubSpot {
            url: served.url.clone(),
            books,
            _served: served,
        }
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

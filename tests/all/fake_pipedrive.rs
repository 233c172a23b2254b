//! A fake Pipedrive API on loopback, written from Pipedrive's documentation
//! (developers.pipedrive.com: v2 persons, authentication, rate limiting):
//! `PATCH /api/v2/persons/{id}` with the company's API token in `x-api-token`,
//! a JSON object of fields (`owner_id` an existing user's id, a number;
//! `custom_fields` by known keys). Answers as Pipedrive does: `{"success":
//! true, "data": …}`; 401, 400 and 404 with `{"success": false, "error": …}`;
//! 429 with `x-ratelimit-limit`, `x-ratelimit-remaining` and
//! `x-ratelimit-reset` for the first `throttle_first` requests.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::fake_crm::{Served, serve, wait_for};

#[derive(Default)]
struct Books {
    token: String,
    users: Vec<i64>,
    custom_fields: Vec<String>,
    throttle_first: usize,
    throttled: usize,
    writes: Vec<(String, Value)>,
    persons: std::collections::BTreeMap<String, Value>,
    url: String,
    /// An OAuth app: ("client_id:client_secret", refresh token).
    oauth: Option<(String, String)>,
    refreshes: usize,
}

/// The API token (`x-api-token`) or OAuth access token (a bearer) sent.
fn caller_token(headers: &HeaderMap) -> Option<&str> {
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    header("x-api-token").or_else(|| header("authorization")?.strip_prefix("Bearer "))
}

/// `POST /oauth/token` (form `grant_type=refresh_token&refresh_token=…`,
/// the app's client id and secret as HTTP Basic auth): the access token (the
/// fake's token), `expires_in` 3599 and the company's `api_domain` (this
/// server).
async fn issue_token(
    State(books): State<Arc<Mutex<Books>>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    use base64::Engine;
    let mut b = books.lock().unwrap();
    let Some((client, refresh)) = b.oauth.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(&client)
    );
    let form: std::collections::BTreeMap<String, String> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let sent = headers.get("authorization").and_then(|v| v.to_str().ok());
    if sent != Some(basic.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    if form.get("grant_type").map(String::as_str) != Some("refresh_token")
        || form.get("refresh_token") != Some(&refresh)
    {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    b.refreshes += 1;
    axum::Json(json!({
        "access_token": b.token,
        "token_type": "Bearer",
        "refresh_token": refresh,
        "scope": "base,contacts:full",
        "expires_in": 3599,
        "api_domain": b.url,
    }))
    .into_response()
}

pub struct FakePipedrive {
    pub url: String,
    books: Arc<Mutex<Books>>,
    _served: Served,
}

fn failure(status: StatusCode, error: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "success": false,
            "error": error,
            "error_info": "Please check developers.pipedrive.com for more information about Pipedrive API.",
            "data": null,
            "additional_data": null,
        })),
    )
        .into_response()
}

async fn update_person(
    State(books): State<Arc<Mutex<Books>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut b = books.lock().unwrap();
    let token = caller_token(&headers);
    if token != Some(b.token.as_str()) {
        return failure(
            StatusCode::UNAUTHORIZED,
            "You need to be authorized to make this request.",
        );
    }
    if b.throttled < b.throttle_first {
        b.throttled += 1;
        let mut r = failure(StatusCode::TOO_MANY_REQUESTS, "Request over limit");
        for (k, v) in [
            ("x-ratelimit-limit", "40"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1"),
        ] {
            r.headers_mut().insert(k, v.parse().unwrap());
        }
        return r;
    }
    if !id.bytes().all(|c| c.is_ascii_digit()) {
        return failure(StatusCode::NOT_FOUND, "Person not found");
    }
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&body) else {
        return failure(StatusCode::BAD_REQUEST, "Invalid JSON body");
    };
    if let Some(owner) = fields.get("owner_id") {
        if !owner.as_i64().is_some_and(|o| b.users.contains(&o)) {
            return failure(StatusCode::BAD_REQUEST, "owner_id: user not found");
        }
    }
    if let Some(custom) = fields.get("custom_fields") {
        let Some(custom) = custom.as_object() else {
            return failure(StatusCode::BAD_REQUEST, "custom_fields must be an object");
        };
        if let Some(unknown) = custom.keys().find(|k| !b.custom_fields.contains(k)) {
            return failure(
                StatusCode::BAD_REQUEST,
                &format!("Unknown custom field key: {unknown}"),
            );
        }
    }
    b.writes.push((id.clone(), Value::Object(fields.clone())));
    let mut data = fields;
    data.insert("id".into(), json!(id.parse::<i64>().unwrap_or(0)));
    axum::Json(json!({ "success": true, "data": data })).into_response()
}

/// `PATCH /v1/leads/{id}` (API v1: the token as `?api_token=`, or an OAuth
/// bearer): a lead's id is a UUID; the body sets `owner_id` (an existing
/// user), the lead's own fields, or custom fields by key at the top level.
async fn update_lead(
    State(books): State<Arc<Mutex<Books>>>,
    Path(id): Path<String>,
    Query(q): Query<std::collections::BTreeMap<String, String>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut b = books.lock().unwrap();
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.strip_prefix("Bearer "));
    let token = q.get("api_token").map(String::as_str).or(bearer);
    if token != Some(b.token.as_str()) {
        return failure(
            StatusCode::UNAUTHORIZED,
            "You need to be authorized to make this request.",
        );
    }
    let uuid = id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4;
    if !uuid {
        return failure(StatusCode::NOT_FOUND, "Lead not found");
    }
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&body) else {
        return failure(StatusCode::BAD_REQUEST, "Invalid JSON body");
    };
    const LEAD_FIELDS: [&str; 9] = [
        "title",
        "owner_id",
        "label_ids",
        "person_id",
        "organization_id",
        "is_archived",
        "value",
        "expected_close_date",
        "visible_to",
    ];
    for (k, v) in &fields {
        if k == "owner_id" && !v.as_i64().is_some_and(|o| b.users.contains(&o)) {
            return failure(StatusCode::BAD_REQUEST, "owner_id: user not found");
        }
        if !LEAD_FIELDS.contains(&k.as_str()) && !b.custom_fields.contains(k) {
            return failure(StatusCode::BAD_REQUEST, &format!("Unknown field: {k}"));
        }
    }
    b.writes.push((id.clone(), Value::Object(fields.clone())));
    let mut data = fields;
    data.insert("id".into(), json!(id));
    axum::Json(json!({ "success": true, "data": data })).into_response()
}

/// `GET /api/v2/persons/{id}`: `{"success": true, "data": {…}}` for a person
/// the test put in, 404 `Person not found` for another.
async fn read_person(
    State(books): State<Arc<Mutex<Books>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let b = books.lock().unwrap();
    let token = caller_token(&headers);
    if token != Some(b.token.as_str()) {
        return failure(
            StatusCode::UNAUTHORIZED,
            "You need to be authorized to make this request.",
        );
    }
    match b.persons.get(&id) {
        Some(person) => axum::Json(json!({"success": true, "data": person})).into_response(),
        None => failure(StatusCode::NOT_FOUND, "Person not found"),
    }
}

impl FakePipedrive {
    /// Take OAuth: the app `client_id:client_secret` may refresh `refresh`.
    pub fn with_oauth(self, client: &str, refresh: &str) -> FakePipedrive {
        self.books.lock().unwrap().oauth = Some((client.into(), refresh.into()));
        self
    }

    pub fn refreshes(&self) -> usize {
        self.books.lock().unwrap().refreshes
    }

    /// A person the API answers reads of (its v2 record).
    pub fn put_person(&self, id: &str, record: Value) {
        self.books.lock().unwrap().persons.insert(id.into(), record);
    }

    pub fn start(
        token: &str,
        users: &[i64],
        custom_fields: &[&str],
        throttle_first: usize,
    ) -> FakePipedrive {
        let books = Arc::new(Mutex::new(Books {
            token: token.into(),
            users: users.to_vec(),
            custom_fields: custom_fields.iter().map(|s| s.to_string()).collect(),
            throttle_first,
            ..Books::default()
        }));
        let state = books.clone();
        let served = serve("127.0.0.1:0", move |url| {
            state.lock().unwrap().url = url.to_string();
            axum::Router::new()
                .route("/oauth/token", axum::routing::post(issue_token))
                .route(
                    "/api/v2/persons/{id}",
                    get(read_person).patch(update_person),
                )
                .route("/v1/leads/{id}", axum::routing::patch(update_lead))
                .with_state(state)
        });
        FakePipedrive {
            url: served.url.clone(),
            books,
            _served: served,
        }
    }

    pub fn throttled(&self) -> usize {
        self.books.lock().unwrap().throttled
    }

    /// Wait (up to `seconds`) until `n` writes were accepted.
    pub fn wait_for_writes(&self, n: usize, seconds: u64) -> Vec<(String, Value)> {
        wait_for(n, seconds, || self.books.lock().unwrap().writes.clone())
    }
}

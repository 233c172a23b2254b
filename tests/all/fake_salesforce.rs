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

use axum::extract::{Path, State};
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

async fn update_lead(
    State(org): State<Arc<Mutex<Org>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut o = org.lock().unwrap();
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    match o.sessions.get_mut(&token) {
        Some(left) if *left > 0 => *left -= 1,
        _ => {
            return errors(
                StatusCode::UNAUTHORIZED,
                "INVALID_SESSION_ID",
                "Session expired or invalid",
                &[],
            );
        }
    }
    if !id.starts_with("00Q") || !(id.len() == 15 || id.len() == 18) {
        return errors(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
            &[],
        );
    }
    let Ok(Value::Object(mut fields)) = serde_json::from_str::<Value>(&body) else {
        return errors(
            StatusCode::BAD_REQUEST,
            "JSON_PARSER_ERROR",
            "Unexpected character",
            &[],
        );
    };
    if let Some(owner) = fields.get("OwnerId").and_then(Value::as_str) {
        if !(owner.starts_with("005") || owner.starts_with("00G")) {
            return errors(
                StatusCode::BAD_REQUEST,
                "MALFORMED_ID",
                &format!("Owner ID: id value of incorrect type: {owner}"),
                &["OwnerId"],
            );
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
    o.writes.push((id, Value::Object(fields)));
    StatusCode::NO_CONTENT.into_response()
}

impl FakeSalesforce {
    pub fn start(client_id: &str, client_secret: &str, session_uses: usize) -> FakeSalesforce {
        let org = Arc::new(Mutex::new(Org {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            session_uses,
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
                    patch(update_lead),
                )
                .with_state(state)
        });
        FakeSalesforce {
            url: served.url.clone(),
            org,
            _served: served,
        }
    }

    pub fn tokens_issued(&self) -> usize {
        self.org.lock().unwrap().tokens_issued
    }

    pub fn wait_for_writes(&self, n: usize, seconds: u64) -> Vec<(String, Value)> {
        wait_for(n, seconds, || self.org.lock().unwrap().writes.clone())
    }
}

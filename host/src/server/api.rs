//! The rest of the HTTP API: health, readiness, metrics, the audit trail, an
//! evaluate endpoint for CRMs' custom-code actions, and reload.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::App;
use crate::lead::LeadFile;

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the store answers and the configuration's plugins are loaded.
pub async fn readyz(State(app): State<Arc<App>>) -> Response {
    let store = app.store.clone();
    let ping = tokio::task::spawn_blocking(move || store.ping()).await;
    let plugins = app.current().pipelines.plugins.len();
    match ping {
        Ok(Ok(())) => {
            Json(json!({ "status": "ready", "store": "ok", "plugins": plugins })).into_response()
        }
        Ok(Err(e)) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store unreachable: {e}"),
        ),
        Err(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("readiness check failed: {e}"),
        ),
    }
}

pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
        .into_response()
}

#[derive(serde::Deserialize)]
pub struct Limit {
    limit: Option<usize>,
}

/// `GET /v1/leads/{source}/{id}/decisions?limit=N`: newest first.
pub async fn decisions(
    State(app): State<Arc<App>>,
    Path((source, id)): Path<(String, String)>,
    Query(q): Query<Limit>,
) -> Response {
    let limit = q.limit.unwrap_or(50).min(1000);
    let store = app.store.clone();
    match tokio::task::spawn_blocking(move || store.decisions(&source, &id, limit)).await {
        Ok(Ok(list)) => Json(list).into_response(),
        Ok(Err(e)) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `POST /v1/pipelines/{name}/evaluate`: a lead file in, a Decision out. The
/// decision is recorded in the log like a webhook's.
pub async fn evaluate(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !json_type {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the lead as Content-Type: application/json",
        );
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return error(StatusCode::BAD_REQUEST, "the body is not UTF-8");
    };
    let (doc, event) = match LeadFile::parse(text) {
        Ok(parsed) => parsed,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let loaded = app.current();
    if loaded.pipelines.pipeline(&name).is_err() {
        return error(StatusCode::NOT_FOUND, format!("no pipeline named `{name}`"));
    }
    let now = chrono::Utc::now().timestamp_millis();
    let source = doc.source.clone().unwrap_or_else(|| "api".into());
    let lead = match doc.to_lead(&source) {
        Ok(lead) => lead,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let event = match event.unwrap_or_default().to_event(&lead.id, now) {
        Ok(event) => event,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let app2 = app.clone();
    let result = tokio::task::spawn_blocking(move || {
        let decision = loaded
            .pipelines
            .run(&name, lead, event)
            .map_err(|e| e.to_string())?;
        let key = format!("evaluate:{}", decision.id);
        app2.store
            .claim(&source, &key, now, 30_000)
            .and_then(|_| app2.store.record(&source, &key, &decision))
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(decision)
    })
    .await;
    match result {
        Ok(Ok(decision)) => Json(decision).into_response(),
        Ok(Err(e)) => error(StatusCode::SERVICE_UNAVAILABLE, e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `POST /admin/reload` with `Authorization: Bearer <token>`.
pub async fn reload(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let Some(token) = app.admin_token() else {
        return error(
            StatusCode::FORBIDDEN,
            "reload over HTTP is off: set server.admin_token_env and that environment variable",
        );
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let equal = given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !equal {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
    }
    let app2 = app.clone();
    match tokio::task::spawn_blocking(move || app2.reload()).await {
        Ok(Ok(())) => Json(json!({ "status": "reloaded" })).into_response(),
        Ok(Err(e)) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("reload refused, the old configuration keeps serving: {e:#}"),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

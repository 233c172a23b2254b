//! The rest of the HTTP API: health, readiness, metrics, the audit trail, an
//! evaluate endpoint for CRMs' custom-code actions, and reload.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::App;
use super::auth::{self, Scope};
use crate::lead::LeadFile;
use crate::service::{Failure, Route};

pub(super) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// A path or query the extractor could not read, answered as JSON like every
/// other refusal (the extractors' own answer is plain text).
pub fn extracted<T>(
    r: Result<T, impl axum::response::IntoResponse + std::fmt::Display>,
) -> Result<T, Response> {
    r.map_err(|e| {
        let message = e.to_string();
        let status = e.into_response().status();
        error(status, message)
    })
}

/// Routes that do not exist.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "no route {}: webhooks are POST /hooks/SOURCE (or a source's `path`), the API is \
             under /v1/",
            uri.path()
        ),
    )
}

/// A route called with the wrong method.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let path = uri.path();
    let wanted = if path.starts_with("/hooks/")
        || path.starts_with("/admin/")
        || path.ends_with("/evaluate")
        || path.ends_with("/accept")
        || path.ends_with("/reject")
    {
        "POST"
    } else {
        "GET"
    };
    wrong_method(path, &method, wanted)
}

/// 405 with the method `path` takes.
pub fn wrong_method(path: &str, method: &axum::http::Method, wanted: &'static str) -> Response {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{path} takes {wanted}, not {method}"),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(wanted));
    response
}

/// The request's token allows `scope`, or the refusal to answer.
pub(super) fn authorize(app: &App, headers: &HeaderMap, scope: Scope) -> Result<(), Response> {
    auth::check(&app.current().config.server, headers, scope)
        .map_err(|refused| error(refused.status, refused.message))
}

/// `/readyz` and `/metrics` are open unless `server.protect_metrics` is set.
fn authorize_ops(app: &App, headers: &HeaderMap) -> Result<(), Response> {
    if app.current().config.server.protect_metrics {
        authorize(app, headers, Scope::Read)
    } else {
        Ok(())
    }
}

pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the store answers and the configuration's plugins are loaded.
pub async fn readyz(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Err(refused) = authorize_ops(&app, &headers) {
        return refused;
    }
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

pub async fn metrics(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Err(refused) = authorize_ops(&app, &headers) {
        return refused;
    }
    let store = app.store.clone();
    let counted = tokio::task::spawn_blocking(move || {
        Ok::<_, crate::store::StoreError>((store.outbox_counts()?, store.sla_figures()?))
    })
    .await;
    match counted {
        Ok(Ok((counts, sla))) => {
            app.metrics
                .outbox(&counts, chrono::Utc::now().timestamp_millis());
            app.metrics.sla(&sla);
        }
        Ok(Err(e)) => tracing::warn!("metrics: cannot count the outbox and SLA timers: {e}"),
        Err(e) => tracing::warn!("metrics: cannot count the outbox and SLA timers: {e}"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
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
    path: Result<Path<(String, String)>, PathRejection>,
    q: Result<Query<Limit>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = authorize(&app, &headers, Scope::Read) {
        return refused;
    }
    let (Path((source, id)), Query(q)) = match (extracted(path), extracted(q)) {
        (Ok(path), Ok(q)) => (path, q),
        (Err(refused), _) | (_, Err(refused)) => return refused,
    };
    let limit = q.limit.unwrap_or(50).min(1000);
    let store = app.store.clone();
    let namespace = app.current().namespace_of(&source).to_string();
    match tokio::task::spawn_blocking(move || store.decisions(&namespace, &id, limit)).await {
        Ok(Ok(list)) => Json(list).into_response(),
        Ok(Err(e)) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `GET /v1/leads/{source}/{id}/timeline[?limit=N]`: what became of the
/// lead: decisions, writes to the CRM, SLA timers, oldest first.
pub async fn timeline(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
    q: Result<Query<Limit>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = authorize(&app, &headers, Scope::Read) {
        return refused;
    }
    let (Path((source, id)), Query(q)) = match (extracted(path), extracted(q)) {
        (Ok(path), Ok(q)) => (path, q),
        (Err(refused), _) | (_, Err(refused)) => return refused,
    };
    let limit = q.limit.unwrap_or(200).min(1000);
    let store = app.store.clone();
    let namespace = app.current().namespace_of(&source).to_string();
    let got =
        tokio::task::spawn_blocking(move || crate::timeline::of(&*store, &namespace, &id, limit))
            .await;
    match got {
        Ok(Ok(entries)) => Json(entries).into_response(),
        Ok(Err(e)) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[derive(serde::Deserialize)]
pub struct StatusQuery {
    status: String,
    source: Option<String>,
    limit: Option<usize>,
}

#[derive(serde::Deserialize)]
pub struct OutboxQuery {
    status: Option<String>,
    limit: Option<usize>,
}

/// `GET /v1/outbox[?status=dead][&limit=N]`: the writes to the CRMs, oldest
/// first, with each one's attempts and the CRM's last answer.
pub async fn outbox(
    State(app): State<Arc<App>>,
    q: Result<Query<OutboxQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = authorize(&app, &headers, Scope::Read) {
        return refused;
    }
    let Query(q) = match extracted(q) {
        Ok(q) => q,
        Err(refused) => return refused,
    };
    let statuses = crate::store::outbox::STATUSES;
    if let Some(status) = q.status.as_deref().filter(|s| !statuses.contains(s)) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("status `{status}`: expected one of {}", statuses.join(", ")),
        );
    }
    let limit = q.limit.unwrap_or(50).min(1000);
    let store = app.store.clone();
    match tokio::task::spawn_blocking(move || store.outbox(q.status.as_deref(), limit)).await {
        Ok(Ok(rows)) => Json(rows).into_response(),
        Ok(Err(e)) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `GET /v1/decisions?status=error[&source=S][&limit=N]`: what needs attention
/// (failed decisions, including events that failed for good after their
/// retries), newest first.
pub async fn decisions_by_status(
    State(app): State<Arc<App>>,
    q: Result<Query<StatusQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = authorize(&app, &headers, Scope::Read) {
        return refused;
    }
    let Query(q) = match extracted(q) {
        Ok(q) => q,
        Err(refused) => return refused,
    };
    if !matches!(q.status.as_str(), "ok" | "error") {
        return error(
            StatusCode::BAD_REQUEST,
            format!("status `{}`: expected ok or error", q.status),
        );
    }
    let limit = q.limit.unwrap_or(50).min(1000);
    let store = app.store.clone();
    let namespace = q
        .source
        .as_deref()
        .map(|s| app.current().namespace_of(s).to_string());
    let result = tokio::task::spawn_blocking(move || {
        store.decisions_with_status(&q.status, namespace.as_deref(), limit)
    })
    .await;
    match result {
        Ok(Ok(list)) => Json(list).into_response(),
        Ok(Err(e)) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[derive(serde::Deserialize)]
pub struct EvaluateQuery {
    /// The source whose audit trail records the decision (default `api`).
    source: Option<String>,
}

/// `POST /v1/pipelines/{name}/evaluate`: a lead file in, a Decision out. The
/// decision is recorded in the log under the source `api` (or `?source=`),
/// never under a CRM's source by what the body says. Needs the write token.
pub async fn evaluate(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<EvaluateQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = std::time::Instant::now();
    let name = path.as_ref().map(|p| p.0.clone()).unwrap_or_default();
    let known = app.current().pipelines.pipeline(&name).is_ok();
    let response = evaluate_inner(&app, path, q, &headers, body).await;
    // Only configured pipelines are labels: the path is the caller's.
    let pipeline = if known { name.as_str() } else { "unknown" };
    app.metrics
        .evaluate(pipeline, response.status().as_u16(), started.elapsed());
    response
}

async fn evaluate_inner(
    app: &Arc<App>,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<EvaluateQuery>, QueryRejection>,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    if let Err(refused) = authorize(app, headers, Scope::Write) {
        return refused;
    }
    let (Path(name), Query(q)) = match (extracted(path), extracted(q)) {
        (Ok(path), Ok(q)) => (path, q),
        (Err(refused), _) | (_, Err(refused)) => return refused,
    };
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
    let loaded = app.current();
    let server = &loaded.config.server;
    let limit = usize::try_from(server.body_limit_kib.saturating_mul(1024)).unwrap_or(usize::MAX);
    let deadline = std::time::Duration::from_secs(server.body_timeout_seconds.max(1));
    let body = match super::body::read(headers, body, limit, deadline).await {
        Ok(body) => body,
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            return error(status, e.to_string());
        }
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return error(StatusCode::BAD_REQUEST, "the body is not UTF-8");
    };
    let (doc, event) = match LeadFile::parse(text) {
        Ok(parsed) => parsed,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    if loaded.pipelines.pipeline(&name).is_err() {
        return error(StatusCode::NOT_FOUND, format!("no pipeline named `{name}`"));
    }
    let now = chrono::Utc::now().timestamp_millis();
    let lead_source = doc.source.clone().unwrap_or_else(|| "api".into());
    let record_source = q
        .source
        .map_or_else(|| "api".into(), |s| loaded.namespace_of(&s).to_string());
    let lead = match doc.to_lead(&lead_source) {
        Ok(lead) => lead,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let event = match event.unwrap_or_default().to_event(&lead.id, now) {
        Ok(event) => event,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let skew = server.max_future_skew_seconds;
    if event.at > crate::service::latest_allowed(now, skew) {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "event.at {} is more than {skew} seconds ahead of this server's clock: refused \
                 (server.max_future_skew_seconds)",
                crate::lead::format_millis(event.at)
            ),
        );
    }
    let app2 = app.clone();
    let result = tokio::task::spawn_blocking(move || {
        let service = loaded.service(&app2.store);
        let route = Route {
            source: &record_source,
            pipeline: &name,
            write: None,
            read: None,
            status: None,
        };
        let decided = service.evaluate(route, lead, event);
        match &decided {
            Ok(outcome) => app2.metrics.outcome(outcome),
            Err(failure) => app2.metrics.failure(failure),
        }
        decided
    })
    .await;
    match result {
        Ok(Ok(outcome)) => Json(outcome.into_decision()).into_response(),
        Ok(Err(Failure::BadLead(message))) => error(StatusCode::BAD_REQUEST, message),
        Ok(Err(Failure::Busy(message))) => error(StatusCode::CONFLICT, message),
        Ok(Err(failure)) => {
            let message = match failure {
                Failure::Transient { message, .. } | Failure::Unavailable(message) => message,
                Failure::Store(e) => format!("store unavailable: {e}"),
                Failure::BadLead(m) | Failure::Busy(m) => m,
            };
            let mut response = error(StatusCode::SERVICE_UNAVAILABLE, message);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
            response
        }
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
    if !auth::bearer(&headers).is_some_and(|given| auth::same(given, &token)) {
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

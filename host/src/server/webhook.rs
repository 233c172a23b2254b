//! `POST /hooks/{source}`: read the body, verify and parse it with the source's
//! adapter, have the [`service`](crate::service) decide each event, and answer
//! in the CRM's format. An event is answered 2xx only once its decision is in
//! the store.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::{App, Loaded};
use crate::adapters::{Reply, WebhookRequest};
use crate::service::{self, Failure, Outcome};

/// How long a CRM should wait before retrying an event that failed for a
/// reason that may pass.
const RETRY_AFTER_SECONDS: u32 = 60;

pub fn reply(r: Reply) -> Response {
    let mut response = (
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, r.content_type)],
        r.body,
    )
        .into_response();
    if r.status == 503 {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, RETRY_AFTER_SECONDS.into());
    }
    response
}

pub async fn hook(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Path(source_name) = match super::api::extracted(path) {
        Ok(path) => path,
        Err(refused) => return refused,
    };
    serve(app, source_name, method, uri, headers, body).await
}

/// A request on no route: a webhook if a source is served on that path
/// (`sources.NAME.path`, read from the current configuration so a reload
/// applies), else 404 or 405.
pub async fn hook_at_path(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let name = app.current().paths.get(uri.path()).cloned();
    match name {
        Some(_) if method != Method::POST => super::api::wrong_method(uri.path(), &method, "POST"),
        Some(name) => serve(app, name, method, uri, headers, body).await,
        None => super::api::not_found(uri).await,
    }
}

async fn serve(
    app: Arc<App>,
    source_name: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let loaded = app.current();
    let response = handle(&app, &loaded, &source_name, &method, &uri, &headers, body).await;
    let source_label = if loaded.sources.contains_key(&source_name) {
        source_name.as_str()
    } else {
        "unknown"
    };
    app.metrics
        .request(source_label, response.status().as_u16(), started.elapsed());
    response
}

async fn handle(
    app: &Arc<App>,
    loaded: &Arc<Loaded>,
    source_name: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let Some(source) = loaded.sources.get(source_name) else {
        let known: Vec<_> = loaded.sources.keys().cloned().collect();
        return reply(Reply::json(
            404,
            &serde_json::json!({ "error": format!("no source named `{source_name}` (sources: {})", known.join(", ")) }),
        ));
    };
    let server = &loaded.config.server;
    let limit = usize::try_from(server.body_limit_kib.saturating_mul(1024)).unwrap_or(usize::MAX);
    let deadline = std::time::Duration::from_secs(server.body_timeout_seconds.max(1));
    let body = match super::body::read(headers, body, limit, deadline).await {
        Ok(body) => body,
        Err(e) => return reply(source.adapter.failed(e.status(), &e.to_string())),
    };
    let url = public_url(loaded, headers, uri);
    let now_ms = chrono::Utc::now().timestamp_millis();
    let request = WebhookRequest {
        method: method.as_str(),
        url: &url,
        headers,
        body: &body,
        now_ms,
    };
    if let Err(e) = source.adapter.verify(&request) {
        tracing::warn!(source = source_name, "rejected webhook: {}", e.message());
        return reply(source.adapter.failed(e.status(), e.message()));
    }
    let events = match source.adapter.parse(&request) {
        Ok(events) => events,
        Err(e) => return reply(source.adapter.failed(e.status(), e.message())),
    };
    if let Err(message) = service::check_times(&events, now_ms, server.max_future_skew_seconds) {
        tracing::warn!(source = source_name, "refused webhook: {message}");
        return reply(source.adapter.failed(400, &message));
    }

    let (app2, loaded2, name) = (app.clone(), loaded.clone(), source_name.to_string());
    // Never closed: the permit always comes.
    let _turn = app.deciding.acquire().await;
    let decided = tokio::task::spawn_blocking(move || {
        let source = &loaded2.sources[&name];
        let decided = loaded2
            .service(&app2.store)
            .decide_all(source.route(), events, now_ms);
        match &decided {
            Ok(outcomes) => outcomes.iter().for_each(|o| app2.metrics.outcome(o)),
            Err(failure) => app2.metrics.failure(failure),
        }
        decided
    })
    .await;
    match decided {
        Ok(Ok(outcomes)) => {
            let decisions: Vec<_> = outcomes.into_iter().map(Outcome::into_decision).collect();
            reply(source.adapter.accepted(&decisions))
        }
        Ok(Err(failure)) => reply(failed(source_name, source.adapter.as_ref(), failure)),
        Err(e) => reply(source.adapter.failed(500, &format!("internal error: {e}"))),
    }
}

/// The answer to an event that was not decided, in the source's format.
fn failed(source: &str, adapter: &dyn crate::adapters::Adapter, failure: Failure) -> Reply {
    match failure {
        Failure::Busy(key) => adapter.failed(
            409,
            &format!("event `{key}` is being decided by another worker; retry later"),
        ),
        Failure::BadLead(message) => adapter.failed(400, &message),
        Failure::Transient { message, .. } => {
            tracing::warn!(source, "{message}");
            adapter.failed(503, &message)
        }
        Failure::Unavailable(message) => {
            tracing::warn!(source, "{message}");
            adapter.failed(503, &message)
        }
        Failure::Store(e) => {
            tracing::error!(source, "store failed: {e}");
            adapter.failed(503, &format!("store unavailable: {e}"))
        }
    }
}

/// The URL as the CRM called it: `server.public_url` (behind a proxy) or the
/// Host header, plus the request's path and query.
fn public_url(loaded: &Loaded, headers: &HeaderMap, uri: &Uri) -> String {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    match &loaded.config.server.public_url {
        Some(base) => format!("{}{path}", base.trim_end_matches('/')),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}{path}")
        }
    }
}

//! `POST /hooks/{source}`: verify, parse, then for each event — claim its dedup
//! key, merge it into the lead's snapshot, run the pipeline, record the decision
//! — and answer in the CRM's format. An event is answered 2xx only once its
//! decision is in the store.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::{App, Loaded, Source};
use crate::adapters::{Reply, WebhookRequest};
use crate::decision::{Decision, DecisionStatus};
use crate::store::{Claim, StoreError};

/// How long a claim holds before another replica may take the event over.
const CLAIM_LEASE_MS: i64 = 30_000;

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
    let started = Instant::now();
    let loaded = app.current();
    let response = handle(&app, &loaded, &source_name, &method, &uri, &headers, body).await;
    let status = response.status().as_u16().to_string();
    let source_label = if loaded.sources.contains_key(&source_name) {
        source_name
    } else {
        "unknown".into()
    };
    app.metrics.count(
        "leadwire_requests_total",
        vec![("source", source_label.clone()), ("status", status)],
    );
    app.metrics.observe(
        "leadwire_request_duration_seconds",
        vec![("source", source_label)],
        started.elapsed(),
    );
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
    if let Err(message) = check_times(&events, now_ms, server.max_future_skew_seconds) {
        tracing::warn!(source = source_name, "refused webhook: {message}");
        return reply(source.adapter.failed(400, &message));
    }
    let max_attempts = server.max_attempts.max(1);

    let (app2, loaded2, name) = (app.clone(), loaded.clone(), source_name.to_string());
    let outcome = tokio::task::spawn_blocking(move || {
        let source = &loaded2.sources[&name];
        process(&app2, &loaded2, source, events, now_ms, max_attempts)
    })
    .await;
    match outcome {
        Ok(Ok(decisions)) => reply(source.adapter.accepted(&decisions)),
        Ok(Err(Failure::Busy(key))) => reply(source.adapter.failed(
            409,
            &format!("event `{key}` is being decided by another worker; retry later"),
        )),
        Ok(Err(Failure::BadLead(message))) => reply(source.adapter.failed(400, &message)),
        Ok(Err(Failure::Transient(message))) => {
            tracing::warn!(source = source_name, "{message}");
            reply(source.adapter.failed(503, &message))
        }
        Ok(Err(Failure::Store(e))) => {
            tracing::error!(source = source_name, "store failed: {e}");
            reply(
                source
                    .adapter
                    .failed(503, &format!("store unavailable: {e}")),
            )
        }
        Err(e) => reply(source.adapter.failed(500, &format!("internal error: {e}"))),
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

/// Refuse events dated further ahead than `skew_seconds`: a far-future time
/// would freeze the snapshot's fields against every later real change.
pub fn check_times(
    events: &[crate::adapters::LeadEvent],
    now_ms: i64,
    skew_seconds: u64,
) -> Result<(), String> {
    let skew_ms = i64::try_from(skew_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
    let latest = now_ms.saturating_add(skew_ms);
    match events.iter().find(|e| e.at > latest) {
        None => Ok(()),
        Some(e) => Err(format!(
            "event `{}` is dated {}, more than {skew_seconds} seconds ahead of this server's \
             clock ({}): refused (server.max_future_skew_seconds)",
            e.dedup_key,
            crate::lead::format_millis(e.at),
            crate::lead::format_millis(now_ms)
        )),
    }
}

pub enum Failure {
    /// Another worker holds the event's claim.
    Busy(String),
    /// The decision failed for a reason that may pass; the claim is released so
    /// that the CRM's retry decides it again.
    Transient(String),
    /// The event's lead cannot be turned into the contract's types.
    BadLead(String),
    Store(StoreError),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

/// Decide every event of a request, in order. Runs on a blocking thread.
fn process(
    app: &App,
    loaded: &Loaded,
    source: &Source,
    events: Vec<crate::adapters::LeadEvent>,
    now_ms: i64,
    max_attempts: u32,
) -> Result<Vec<Decision>, Failure> {
    let store = &app.store;
    let mut decisions = Vec::with_capacity(events.len());
    for event in events {
        let key = event.dedup_key.clone();
        match store.claim(&source.name, &key, now_ms, CLAIM_LEASE_MS)? {
            Claim::Done(decision) => {
                app.metrics.count(
                    "leadwire_decisions_total",
                    vec![
                        ("pipeline", decision.pipeline.clone()),
                        ("outcome", "duplicate".into()),
                    ],
                );
                decisions.push(*decision);
                continue;
            }
            Claim::InProgress => return Err(Failure::Busy(key)),
            Claim::New => {}
        }
        let decided = decide(app, loaded, source, &event)
            .and_then(|decision| settle(app, source, &key, decision, max_attempts));
        match decided {
            Ok(decision) => match store.record(&source.name, &key, &decision) {
                Ok(()) => decisions.push(decision),
                // Another worker decided it after our claim lapsed: answer theirs.
                Err(StoreError::AlreadyDecided { existing, .. }) => decisions.push(*existing),
                Err(e) => {
                    let _ = store.release(&source.name, &key);
                    return Err(Failure::Store(e));
                }
            },
            Err(failure) => {
                let _ = store.release(&source.name, &key);
                return Err(failure);
            }
        }
    }
    Ok(decisions)
}

/// A decision that failed for a reason that may pass is not the lead's
/// decision: count the attempt, release the claim and have the CRM retry, up to
/// `max_attempts`; then record it as failed (listed by `/v1/decisions?status=error`).
fn settle(
    app: &App,
    source: &Source,
    key: &str,
    mut decision: Decision,
    max_attempts: u32,
) -> Result<Decision, Failure> {
    if !(decision.status == DecisionStatus::Error && decision.transient) {
        return Ok(decision);
    }
    let attempt = app.store.count_attempt(&source.name, key)?;
    let reason = decision.error.clone().unwrap_or_default();
    let count = |outcome: &str| {
        app.metrics.count(
            "leadwire_decisions_total",
            vec![
                ("pipeline", decision.pipeline.clone()),
                ("outcome", outcome.into()),
            ],
        )
    };
    if attempt < max_attempts {
        count("retry");
        // The caller releases the claim.
        return Err(Failure::Transient(format!(
            "event `{key}`: {reason}; this may pass, so nothing was recorded: retry \
             (attempt {attempt} of {max_attempts})"
        )));
    }
    count("failed");
    decision.error = Some(format!(
        "{reason} (gave up after {attempt} attempts; server.max_attempts = {max_attempts})"
    ));
    Ok(decision)
}

fn decide(
    app: &App,
    loaded: &Loaded,
    source: &Source,
    event: &crate::adapters::LeadEvent,
) -> Result<Decision, Failure> {
    let merged = app.store.merge_lead(&source.name, &event.lead, event.at)?;
    let lead = merged
        .lead
        .to_lead(&source.name)
        .map_err(|e| Failure::BadLead(format!("lead `{}`: {e}", event.lead.id)))?;
    let Some(event_doc) = event.event_doc() else {
        // A deletion: nothing to decide, but the audit trail says it happened.
        return Ok(Decision::new(
            &event.dedup_key,
            &lead.id,
            &source.name,
            &source.pipeline,
            "deleted",
            event.at,
        ));
    };
    let mut event_doc = event_doc;
    if event_doc.changed.is_empty() && event_doc.trigger == crate::lead::TriggerDoc::Updated {
        // A full record that does not say what changed: the snapshot knows.
        event_doc.changed = merged.changed.clone();
    }
    let wit_event = event_doc
        .to_event(&lead.id, event.at)
        .map_err(|e| Failure::BadLead(e.to_string()))?;
    let decision = loaded
        .pipelines
        .run(&source.pipeline, lead, wit_event)
        .map_err(|e| Failure::BadLead(e.to_string()))?;
    let outcome = match decision.status {
        DecisionStatus::Ok => Some("ok"),
        // Counted by `settle`: retried, or failed for good.
        DecisionStatus::Error if decision.transient => None,
        DecisionStatus::Error => Some("error"),
    };
    if let Some(outcome) = outcome {
        app.metrics.count(
            "leadwire_decisions_total",
            vec![
                ("pipeline", decision.pipeline.clone()),
                ("outcome", outcome.into()),
            ],
        );
    }
    for step in &decision.steps {
        let result = step.error.as_ref().map(|e| e.kind()).unwrap_or("ok");
        app.metrics.count(
            "leadwire_plugin_calls_total",
            vec![("plugin", step.plugin.clone()), ("result", result.into())],
        );
        app.metrics.observe(
            "leadwire_plugin_call_duration_seconds",
            vec![("plugin", step.plugin.clone())],
            std::time::Duration::from_micros(step.metrics.duration_us),
        );
    }
    Ok(decision)
}

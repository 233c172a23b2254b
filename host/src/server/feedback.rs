//! `POST /v1/leads/{source}/{id}/accept` and `…/reject`: sales' answer to an
//! assignment. A rejection runs the source's pipeline with trigger
//! `rejected(REASON)` (nurture-exit recycles, the router reassigns to anyone
//! but the rep who rejected); both end the lead's SLA timers and write the
//! CRM status back, committed with the decision. Write token.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::api::{error, extracted};
use super::auth::Scope;
use super::{App, Loaded};
use crate::adapters::{EventKind, LeadEvent};
use crate::decision::{Feedback, FeedbackVerdict};
use crate::feedback::Refused;
use crate::lead::LeadDoc;
use crate::service::{Extra, Failure, Outcome};
use crate::store::Store;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    /// A code from `feedback.reasons` (rejections only).
    reason: Option<String>,
    /// Free text, kept with the answer.
    note: Option<String>,
    /// The rep answering: a rep id or their CRM owner id (default: the lead's
    /// owner by its latest decision).
    by: Option<String>,
}

pub async fn accept(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(app, path, headers, body, FeedbackVerdict::Accepted).await
}

pub async fn reject(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(app, path, headers, body, FeedbackVerdict::Rejected).await
}

async fn answer(
    app: Arc<App>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Body,
    verdict: FeedbackVerdict,
) -> Response {
    if let Err(refused) = super::api::authorize(&app, &headers, Scope::Write) {
        return refused;
    }
    let Path((source_name, id)) = match extracted(path) {
        Ok(path) => path,
        Err(refused) => return refused,
    };
    let loaded = app.current();
    if !loaded.sources.contains_key(&source_name) {
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "no source named `{source_name}` (configured: {})",
                loaded
                    .sources
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    let answer = match read_answer(&loaded, &headers, body).await {
        Ok(answer) => answer,
        Err(refused) => return refused,
    };
    match (&verdict, &answer.reason) {
        (FeedbackVerdict::Rejected, None) => {
            return error(
                StatusCode::BAD_REQUEST,
                "a rejection needs a `reason`: one of feedback.reasons",
            );
        }
        (FeedbackVerdict::Rejected, Some(code)) => {
            if let Err(message) = loaded.feedback.check_reason(code) {
                return error(StatusCode::BAD_REQUEST, message);
            }
        }
        (FeedbackVerdict::Accepted, Some(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "an acceptance takes no `reason` (only `note` and `by`)",
            );
        }
        (FeedbackVerdict::Accepted, None) => {}
    }
    let by = match answer.by.as_deref().map(|b| rep_of(&loaded, b)) {
        Some(Ok(rep)) => Some(rep),
        Some(Err(message)) => return error(StatusCode::BAD_REQUEST, message),
        None => None,
    };
    let retry_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string);
    let (app2, loaded2) = (app.clone(), loaded.clone());
    let done = tokio::task::spawn_blocking(move || {
        let source = &loaded2.sources[&source_name];
        let store = &app2.store;
        let Some(snapshot) = store
            .snapshot(&source.namespace, &id)
            .map_err(Failure::Store)?
        else {
            return Ok(Err(error(
                StatusCode::NOT_FOUND,
                format!(
                    "no lead `{id}` in source `{source_name}`: leadwire has had no event about it"
                ),
            )));
        };
        let by = match by {
            Some(rep) => Some(rep),
            None => current_owner(&**store, &source.namespace, &snapshot)?
                // The CRM's owner id names a rep through the directory.
                .map(|o| rep_of(&loaded2, &o).unwrap_or(o)),
        };
        let kind = match verdict {
            FeedbackVerdict::Accepted => "accept",
            FeedbackVerdict::Rejected => "reject",
        };
        let key = format!(
            "{kind}:{id}:{}",
            retry_key.unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
        );
        let feedback = Feedback {
            verdict,
            reason: answer.reason,
            note: answer.note.filter(|n| !n.trim().is_empty()),
            by: by.clone(),
            via: "api".into(),
        };
        let now = chrono::Utc::now().timestamp_millis();
        let service = loaded2.service(store);
        let decided = match verdict {
            FeedbackVerdict::Accepted => service.accept(source.route(), &id, &key, feedback, now),
            FeedbackVerdict::Rejected => {
                let taken = match loaded2.feedback.take(&**store, by.as_deref(), now) {
                    Ok(taken) => taken,
                    Err(Refused::Limit(message)) => {
                        return Ok(Err(error(StatusCode::TOO_MANY_REQUESTS, message)));
                    }
                    Err(Refused::Store(message)) => {
                        return Ok(Err(error(StatusCode::SERVICE_UNAVAILABLE, message)));
                    }
                };
                let event = LeadEvent {
                    dedup_key: key,
                    kind: EventKind::Rejected(crate::feedback::reason_text(&feedback)),
                    at: now,
                    // The router reads who rejected it as the owner to pass over.
                    lead: LeadDoc {
                        id: id.clone(),
                        owner: by,
                        ..LeadDoc::default()
                    },
                    changed: Vec::new(),
                    complete: false,
                };
                let extra = Extra {
                    timers: Vec::new(),
                    feedback: Some(feedback),
                };
                let decided = service.decide_with(source.route(), &event, now, extra);
                if !matches!(decided, Ok(Outcome::Decided(_))) {
                    loaded2.feedback.give_back(&**store, taken);
                }
                decided
            }
        };
        match &decided {
            Ok(outcome) => app2.metrics.outcome(outcome),
            Err(failure) => app2.metrics.failure(failure),
        }
        decided.map(Ok)
    })
    .await;
    match done {
        Ok(Ok(Ok(outcome))) => Json(outcome.into_decision()).into_response(),
        Ok(Ok(Err(refused))) => refused,
        Ok(Err(Failure::Busy(key))) => error(
            StatusCode::CONFLICT,
            format!("`{key}` is being recorded by another request"),
        ),
        Ok(Err(Failure::BadLead(message))) => error(StatusCode::UNPROCESSABLE_ENTITY, message),
        Ok(Err(failure)) => {
            let mut response = error(StatusCode::SERVICE_UNAVAILABLE, failure.to_string());
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("30"));
            response
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The body: JSON, or nothing (an acceptance needs none).
async fn read_answer(loaded: &Loaded, headers: &HeaderMap, body: Body) -> Result<Answer, Response> {
    let server = &loaded.config.server;
    let limit = usize::try_from(server.body_limit_kib.saturating_mul(1024)).unwrap_or(usize::MAX);
    let deadline = std::time::Duration::from_secs(server.body_timeout_seconds.max(1));
    let body = super::body::read(headers, body, limit, deadline)
        .await
        .map_err(|e| {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            error(status, e.to_string())
        })?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Answer::default());
    }
    serde_json::from_slice(&body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!(
                "the body: {e}; send {{\"reason\": CODE, \"note\": TEXT, \"by\": REP}} (reason for \
                 a rejection only; all optional otherwise)"
            ),
        )
    })
}

/// A rep id, or the rep whose CRM owner id this is.
fn rep_of(loaded: &Loaded, given: &str) -> Result<String, String> {
    let reps = &loaded.config.directory.reps;
    if reps.is_empty() || reps.contains_key(given) {
        return Ok(given.to_string());
    }
    reps.iter()
        .find(|(_, rep)| rep.owner_ids.values().any(|o| o == given))
        .map(|(rep, _)| rep.clone())
        .ok_or_else(|| {
            format!("`by`: no rep `{given}` in [directory.reps], nor one with that CRM owner id")
        })
}

/// Who owns the lead now: the owner its latest decision chose, else what
/// the CRM last said.
fn current_owner(
    store: &dyn Store,
    namespace: &str,
    snapshot: &LeadDoc,
) -> Result<Option<String>, Failure> {
    let decisions = store.decisions(namespace, &snapshot.id, 50)?;
    let owner = decisions
        .iter()
        .find(|d| d.route.is_some())
        .and_then(|d| d.owner.clone())
        .or_else(|| snapshot.owner.clone());
    Ok(owner)
}

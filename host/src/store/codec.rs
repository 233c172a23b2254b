//! What both backends store and read back the same way: the JSON text of
//! leads and decisions, the error inside an operation, what a claim or a
//! repeated record finds, and the words of every data error. Each backend
//! keeps only its SQL and its driver's calls.

use super::snapshot::{self, FieldTimes, Merged};
use super::{Claim, StoreError};
use crate::capabilities::StateError;
use crate::decision::Decision;
use crate::lead::LeadDoc;

/// What went wrong inside an operation, `E` being the driver's error.
pub(super) enum OpError<E> {
    Db(E),
    /// Bad data, in words.
    Data(String),
    /// Stop and return this error as it is.
    Store(StoreError),
}

impl<E> From<E> for OpError<E> {
    fn from(e: E) -> Self {
        OpError::Db(e)
    }
}

pub(super) fn parse<T: serde::de::DeserializeOwned, E>(
    what: &str,
    text: &str,
) -> Result<T, OpError<E>> {
    serde_json::from_str(text)
        .map_err(|e| OpError::Data(format!("stored {what} is unreadable: {e}")))
}

pub(super) fn to_json<T: serde::Serialize, E>(what: &str, value: &T) -> Result<String, OpError<E>> {
    serde_json::to_string(value).map_err(|e| OpError::Data(format!("{what} as JSON: {e}")))
}

/// A lead's merged snapshot and the JSON texts of its two columns.
pub(super) struct MergedRow {
    pub merged: Merged,
    pub doc: String,
    pub field_times: String,
}

/// Merge `update` into the stored row (`doc`, `field_times` texts), if any.
pub(super) fn merge_row<E>(
    stored: Option<(&str, &str)>,
    update: &LeadDoc,
    at_ms: i64,
) -> Result<MergedRow, OpError<E>> {
    let previous = match stored {
        None => None,
        Some((doc, times)) => Some((
            parse::<LeadDoc, E>("lead", doc)?,
            parse::<FieldTimes, E>("field times", times)?,
        )),
    };
    let (merged, times) = snapshot::merge(previous, update, at_ms);
    Ok(MergedRow {
        doc: to_json("the lead", &merged.lead)?,
        field_times: to_json("the field times", &times)?,
        merged,
    })
}

/// A key that could not be claimed: done (with its decision's JSON, joined
/// from the log), or claimed by another worker within the lease.
pub(super) fn not_claimed<E>(
    status: &str,
    decision_doc: Option<&str>,
) -> Result<Claim, OpError<E>> {
    match (status, decision_doc) {
        ("done", Some(doc)) => Ok(Claim::Done(Box::new(parse("decision", doc)?))),
        ("done", None) => Err(OpError::Data(
            "the key is done but its decision is missing from the log".into(),
        )),
        _ => Ok(Claim::InProgress),
    }
}

/// A record that found its key already done by `existing_id`: fine if that
/// is this very decision (a retried record), else [`StoreError::AlreadyDecided`].
pub(super) fn already_done<E>(
    at: &str,
    source: &str,
    dedup_key: &str,
    decision: &Decision,
    existing_id: &str,
    existing_doc: &str,
) -> Result<(), OpError<E>> {
    if existing_id == decision.id {
        return Ok(());
    }
    Err(OpError::Store(StoreError::AlreadyDecided {
        at: at.to_string(),
        event_source: source.to_string(),
        dedup_key: dedup_key.to_string(),
        rejected: decision.id.clone(),
        existing: Box::new(parse("decision", existing_doc)?),
    }))
}

/// `decided_at` (RFC 3339) as milliseconds, for ordering the decision log.
pub(super) fn decided_at_ms<E>(decision: &Decision) -> Result<i64, OpError<E>> {
    chrono::DateTime::parse_from_rfc3339(&decision.decided_at)
        .map(|t| t.timestamp_millis())
        .map_err(|e| {
            OpError::Data(format!(
                "decision {} has decided_at `{}`, not an RFC 3339 time: {e}",
                decision.id, decision.decided_at
            ))
        })
}

/// The JSON text of a decision's status (`ok`, `error`), for its column.
pub(super) fn status_text(decision: &Decision) -> String {
    match serde_json::to_value(decision.status) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "ok".to_string(),
    }
}

/// What a state operation is, for messages.
pub(super) fn state_op(op: &str, namespace: &str, key: &str) -> String {
    format!("{op} state `{key}` of `{namespace}`")
}

/// A state key's value is not an integer (the same words as `MemoryState`).
pub(super) fn not_an_integer(key: &str, value: &str) -> StateError {
    StateError(format!("key `{key}` holds `{value}`, not an integer"))
}

pub(super) fn overflow(key: &str) -> StateError {
    StateError(format!("key `{key}` would overflow"))
}

/// PostgreSQL's text cannot hold U+0000; refuse it on both backends alike.
pub(super) fn check_text(what: &str, key: &str, text: &str) -> Result<(), StateError> {
    if text.contains('\0') {
        return Err(StateError(format!(
            "{what} for key `{key}` contains a NUL character (U+0000), which the store cannot hold"
        )));
    }
    Ok(())
}

//! HubSpot's CRM API, as the outbox uses it: `POST
//! /crm/v3/objects/contacts/batch/update` with `{"inputs": [{"id",
//! "properties"}]}` (up to 100; 200 when all were written, 207 with
//! `results` and `errors[].context.ids` when some were), or `PATCH
//! /crm/v3/objects/contacts/{id}` for one, with a private app's bearer token.
//! Answers are read as HubSpot documents them: 429 with
//! `policyName` TEN_SECONDLY_ROLLING (wait, then again) or DAILY (pause until
//! the day's budget resets), 5xx (back off), any other 4xx (a dead letter
//! keeping HubSpot's error body).

use std::time::Duration;

use serde_json::Value as Json;

use super::Delivery;
use super::oauth::Credential;
use crate::store::OutboxRow;

/// The most inputs one batch update takes.
pub const BATCH: usize = 100;

pub struct HubSpot {
    base_url: String,
    credential: Credential,
    agent: ureq::Agent,
}

pub const DEFAULT_BASE_URL: &str = "https://api.hubapi.com";

impl HubSpot {
    pub fn new(base_url: Option<&str>, credential: Credential, timeout: Duration) -> HubSpot {
        let agent = super::agent(timeout);
        HubSpot {
            base_url: base_url
                .unwrap_or(DEFAULT_BASE_URL)
                .trim_end_matches('/')
                .to_string(),
            credential,
            agent,
        }
    }

    /// The OAuth token endpoint under `base_url`.
    pub fn token_url(base_url: Option<&str>) -> String {
        format!(
            "{}/oauth/v1/token",
            base_url.unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/')
        )
    }

    /// Send what `request` builds with a bearer token; with an OAuth grant, a
    /// 401 is tried once more with a fresh token.
    fn send(
        &self,
        what: &str,
        request: impl Fn(&str) -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<ureq::http::Response<ureq::Body>, String> {
        let mut stale: Option<String> = None;
        loop {
            let (token, _) = self.credential.token(stale.as_deref())?;
            let response =
                request(&format!("Bearer {token}")).map_err(|e| format!("{what}: {e}"))?;
            if response.status().as_u16() == 401 && self.credential.refreshes() && stale.is_none() {
                stale = Some(token);
                continue;
            }
            return Ok(response);
        }
    }

    /// Read contact `record`'s `properties` (`GET …/contacts/{id}?properties=`):
    /// its properties (null where empty), None when HubSpot has no such
    /// contact, Err with why when the read failed (a 429, a 5xx, a timeout, a
    /// bad token: a reason to have the CRM retry the event).
    pub fn get_contact(
        &self,
        record: &str,
        properties: &[String],
        timeout: Duration,
    ) -> Result<Option<serde_json::Map<String, Json>>, String> {
        let url = format!(
            "{}/crm/v3/objects/contacts/{}",
            self.base_url,
            form_urlencoded::byte_serialize(record.as_bytes()).collect::<String>()
        );
        let mut response = self.send(&format!("GET {url}"), |bearer| {
            self.agent
                .get(&url)
                .query("properties", properties.join(","))
                .header("Authorization", bearer)
                .config()
                .timeout_global(Some(timeout))
                .build()
                .call()
        })?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(1024 * 1024)
            .read_to_string()
            .map_err(|e| format!("GET {url}: reading the answer: {e}"))?;
        match status {
            200 => {
                let doc: Json = serde_json::from_str(&body)
                    .map_err(|e| format!("GET {url}: the answer is not JSON: {e}"))?;
                match doc.get("properties") {
                    Some(Json::Object(p)) => Ok(Some(p.clone())),
                    _ => Err(format!("GET {url}: the answer has no properties object")),
                }
            }
            404 => Ok(None),
            _ => Err(format!(
                "GET {url}: HubSpot answered {status}: {}",
                body.trim()
            )),
        }
    }

    /// Write each row's `{"properties": {…}}` to its contact: one PATCH for a
    /// single row, else one batch update, each input's result mapped back to
    /// its row. A batch refused as a whole (one bad value fails them all) is
    /// written row by row, so each row gets its own answer.
    pub fn update_contacts(&self, rows: &[OutboxRow]) -> Vec<Delivery> {
        if rows.len() == 1 {
            return vec![self.update_contact(&rows[0].record, &rows[0].payload)];
        }
        let url = format!("{}/crm/v3/objects/contacts/batch/update", self.base_url);
        let inputs: Vec<Json> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.record,
                    "properties": r.payload.get("properties").cloned().unwrap_or_default(),
                })
            })
            .collect();
        let body = serde_json::json!({ "inputs": inputs });
        let sent = self.send(&format!("POST {url}"), |bearer| {
            self.agent
                .post(&url)
                .header("Authorization", bearer)
                .send_json(&body)
        });
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => return vec![Delivery::Failed(e); rows.len()],
        };
        let status = response.status().as_u16();
        let retry_after = retry_after(&response);
        let body = super::answer_text(&mut response);
        match status {
            200 | 207 => batch_answer(rows, status, &body),
            400..=499 if status != 429 && status != 401 && status != 403 => rows
                .iter()
                .map(|r| self.update_contact(&r.record, &r.payload))
                .collect(),
            _ => vec![answer(status, retry_after, &body); rows.len()],
        }
    }

    /// Write `payload` (`{"properties": {…}}`) to contact `record`.
    pub fn update_contact(&self, record: &str, payload: &Json) -> Delivery {
        let url = format!(
            "{}/crm/v3/objects/contacts/{}",
            self.base_url,
            form_urlencoded::byte_serialize(record.as_bytes()).collect::<String>()
        );
        let sent = self.send(&format!("PATCH {url}"), |bearer| {
            self.agent
                .patch(&url)
                .header("Authorization", bearer)
                .send_json(payload)
        });
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => return Delivery::Failed(e),
        };
        let status = response.status().as_u16();
        let retry_after = retry_after(&response);
        let body = super::answer_text(&mut response);
        answer(status, retry_after, &body)
    }
}

fn retry_after(response: &ureq::http::Response<ureq::Body>) -> Option<u64> {
    response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// A batch update's 200 or 207, item by item: a row in `results` is done; a
/// row named in an error's `context.ids` gets that error (a dead letter, or a
/// retry for a rate limit or a server error); a row in neither is retried.
fn batch_answer(rows: &[OutboxRow], status: u16, body: &str) -> Vec<Delivery> {
    let Ok(doc) = serde_json::from_str::<Json>(body) else {
        return vec![
            Delivery::Failed(format!(
                "HubSpot answered {status} with a body that is not JSON"
            ));
            rows.len()
        ];
    };
    let list = |key: &str| {
        doc.get(key)
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let done: std::collections::HashSet<String> = list("results")
        .iter()
        .filter_map(|r| match r.get("id")? {
            Json::String(s) => Some(s.clone()),
            Json::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    let mut failed: std::collections::HashMap<String, Delivery> = Default::default();
    for error in list("errors") {
        let context = error.get("context");
        let ids = ["ids", "id"]
            .iter()
            .filter_map(|k| context?.get(*k)?.as_array())
            .flatten()
            .filter_map(|id| id.as_str().map(str::to_string));
        let category = error.get("category").and_then(Json::as_str).unwrap_or("");
        let said = format!("HubSpot answered {status}: {error}");
        let delivery = match category {
            "RATE_LIMITS" | "RATE_LIMIT" => Delivery::Failed(said),
            _ if error.get("status").and_then(Json::as_str) == Some("500") => {
                Delivery::Failed(said)
            }
            _ => Delivery::Refused(said),
        };
        for id in ids {
            failed.insert(id, delivery.clone());
        }
    }
    rows.iter()
        .map(|r| {
            if let Some(d) = failed.get(&r.record) {
                d.clone()
            } else if done.contains(&r.record) {
                Delivery::Done
            } else {
                Delivery::Failed(format!(
                    "HubSpot answered {status} without a result or an error for contact {}",
                    r.record
                ))
            }
        })
        .collect()
}

/// HubSpot's answer, read.
fn answer(status: u16, retry_after: Option<u64>, body: &str) -> Delivery {
    let said = || format!("HubSpot answered {status}: {}", body.trim());
    match status {
        200..=299 => Delivery::Done,
        429 => {
            let policy = serde_json::from_str::<Json>(body)
                .ok()
                .and_then(|b| b.get("policyName")?.as_str().map(str::to_string));
            let daily = policy.as_deref() == Some("DAILY");
            // The daily budget resets at midnight in the account's time zone,
            // which the answer does not say: look again in an hour.
            let after = match (retry_after, daily) {
                (Some(s), _) => Duration::from_secs(s.max(1)),
                (None, true) => Duration::from_secs(3600),
                (None, false) => Duration::from_secs(10),
            };
            Delivery::Later {
                after,
                pause: true,
                error: said(),
            }
        }
        500..=599 => Delivery::Failed(said()),
        _ => Delivery::Refused(said()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(record: &str) -> OutboxRow {
        OutboxRow {
            id: 1,
            connection: "hs".into(),
            record: record.into(),
            decision_id: "d".into(),
            payload: serde_json::json!({"properties": {"score": "1"}}),
            status: "inflight".into(),
            attempts: 1,
            next_attempt_at: 0,
            last_error: None,
            created_at: 0,
        }
    }

    #[test]
    fn a_207_maps_each_input_back_to_its_row() {
        let rows = [row("1"), row("2"), row("3")];
        let body = r#"{"status":"COMPLETE","results":[{"id":"1","properties":{"score":"1"}}],
            "numErrors":1,"errors":[{"status":"error","category":"OBJECT_NOT_FOUND",
            "message":"Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.",
            "context":{"ids":["2"]}}]}"#;
        let got = batch_answer(&rows, 207, body);
        assert_eq!(got[0], Delivery::Done);
        assert!(matches!(&got[1], Delivery::Refused(e) if e.contains("OBJECT_NOT_FOUND")));
        // Neither written nor refused: try again.
        assert!(matches!(&got[2], Delivery::Failed(_)));
    }

    #[test]
    fn answers_are_read_as_hubspot_documents_them() {
        assert_eq!(answer(200, None, "{}"), Delivery::Done);
        let ten = r#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","correlationId":"c","policyName":"TEN_SECONDLY_ROLLING"}"#;
        assert!(matches!(
            answer(429, None, ten),
            Delivery::Later { after, pause: true, .. } if after == Duration::from_secs(10)
        ));
        let daily = ten.replace("TEN_SECONDLY_ROLLING", "DAILY");
        assert!(matches!(
            answer(429, None, &daily),
            Delivery::Later { after, .. } if after == Duration::from_secs(3600)
        ));
        assert!(matches!(
            answer(429, Some(3), ten),
            Delivery::Later { after, .. } if after == Duration::from_secs(3)
        ));
        assert!(matches!(answer(502, None, ""), Delivery::Failed(_)));
        let invalid = r#"{"status":"error","message":"Property values were not valid","category":"VALIDATION_ERROR"}"#;
        match answer(400, None, invalid) {
            Delivery::Refused(e) => assert!(e.contains("VALIDATION_ERROR"), "{e}"),
            other => panic!("{other:?}"),
        }
    }
}

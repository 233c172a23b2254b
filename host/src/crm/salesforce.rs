//! Salesforce's REST API, as the outbox uses it: OAuth 2.0 client
//! credentials on the org's My Domain (`POST /services/oauth2/token`, which
//! answers the access token and the instance URL; no refresh token), then
//! `PATCH /services/data/vNN.0/sobjects/Lead/{id}` (204) with
//! `Sforce-Auto-Assign: FALSE`, so active assignment rules do not overwrite
//! the owner leadwire set. 401 INVALID_SESSION_ID: one new token (shared by
//! every caller: one refresh however many rows are waiting), then the write
//! again; 403 REQUEST_LIMIT_EXCEEDED: the org's daily allocation is spent,
//! pause; 5xx: back off; other 4xx (`[{"message","errorCode","fields"}]`): a
//! dead letter.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value as Json;

use super::Delivery;
use crate::store::OutboxRow;

pub const DEFAULT_API_VERSION: &str = "v60.0";

pub struct Salesforce {
    my_domain: String,
    client_id: String,
    client_secret: String,
    api_version: String,
    agent: ureq::Agent,
    /// The session: (access token, instance URL), fetched when first needed
    /// and again after a 401. The lock makes concurrent callers share one
    /// refresh.
    session: Mutex<Option<(String, String)>>,
    /// Why to hold back, when an answer said the allocation is nearly spent.
    pause: Mutex<Option<String>>,
}

/// The most records one sObject Collections request takes.
pub const BATCH: usize = 200;

impl Salesforce {
    pub fn new(
        my_domain: &str,
        client_id: String,
        client_secret: String,
        api_version: Option<&str>,
        timeout: Duration,
    ) -> Salesforce {
        let agent = super::agent(timeout);
        Salesforce {
            my_domain: my_domain.trim_end_matches('/').to_string(),
            client_id,
            client_secret,
            api_version: api_version.unwrap_or(DEFAULT_API_VERSION).to_string(),
            agent,
            session: Mutex::new(None),
            pause: Mutex::new(None),
        }
    }

    /// The session, fetching one if there is none or `stale` is the one that
    /// failed (another caller may have refreshed it meanwhile).
    fn session(&self, stale: Option<&str>) -> Result<(String, String), String> {
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((token, url)) = session.as_ref() {
            if Some(token.as_str()) != stale {
                return Ok((token.clone(), url.clone()));
            }
        }
        let url = format!("{}/services/oauth2/token", self.my_domain);
        let mut response = self
            .agent
            .post(&url)
            .send_form([
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.as_str()),
            ])
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("POST {url}: {e}"))?;
        if status != 200 {
            return Err(format!(
                "POST {url}: Salesforce answered {status}: {}",
                body.trim()
            ));
        }
        let doc: Json = serde_json::from_str(&body).map_err(|e| format!("POST {url}: {e}"))?;
        let (Some(token), Some(instance)) = (
            doc.get("access_token").and_then(Json::as_str),
            doc.get("instance_url").and_then(Json::as_str),
        ) else {
            return Err(format!(
                "POST {url}: no access_token and instance_url in the answer"
            ));
        };
        let fresh = (
            token.to_string(),
            instance.trim_end_matches('/').to_string(),
        );
        *session = Some(fresh.clone());
        Ok(fresh)
    }

    /// PATCH `body` to `path` (under `/services/data/vNN.0/`) with
    /// `Sforce-Auto-Assign: FALSE`, replaying once on a fresh session after a
    /// 401 INVALID_SESSION_ID: the status and body, or why it did not go.
    fn patch(&self, path: &str, body: &Json) -> Result<(u16, String), String> {
        self.send("PATCH", path, |url, bearer| {
            self.agent
                .patch(url)
                .header("Authorization", bearer)
                .header("Sforce-Auto-Assign", "FALSE")
                .send_json(body)
        })
    }

    /// Send what `request` builds for the URL of `path` and a bearer token,
    /// replaying once on a fresh session after a 401 INVALID_SESSION_ID.
    fn send(
        &self,
        method: &str,
        path: &str,
        request: impl Fn(&str, &str) -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<(u16, String), String> {
        let mut stale = None;
        for _ in 0..2 {
            // A token endpoint refusing the client is a configuration error,
            // but it also answers 5xx when Salesforce is down: retry with
            // backoff either way; the error says which.
            let (token, instance) = self.session(stale.as_deref())?;
            let url = format!("{instance}/services/data/{}/{path}", self.api_version);
            let mut response = request(&url, &format!("Bearer {token}"))
                .map_err(|e| format!("{method} {url}: {e}"))?;
            let status = response.status().as_u16();
            if let Some(info) = response.headers().get("sforce-limit-info") {
                self.note_usage(info.to_str().unwrap_or_default());
            }
            let text = super::answer_text(&mut response);
            if status == 401 && text.contains("INVALID_SESSION_ID") {
                stale = Some(token);
                continue;
            }
            return Ok((status, text));
        }
        Err("Salesforce refused a fresh session too (401 INVALID_SESSION_ID)".into())
    }

    /// Read Lead `record`'s `fields` (`GET …/sobjects/Lead/{id}?fields=`):
    /// its fields (without `attributes`), None when the org has no such lead,
    /// Err with why when the read failed.
    pub fn get_lead(
        &self,
        record: &str,
        fields: &[String],
        timeout: Duration,
    ) -> Result<Option<serde_json::Map<String, Json>>, String> {
        let path = format!(
            "sobjects/Lead/{}",
            form_urlencoded::byte_serialize(record.as_bytes()).collect::<String>()
        );
        let (status, text) = self.send("GET", &path, |url, bearer| {
            self.agent
                .get(url)
                .query("fields", fields.join(","))
                .header("Authorization", bearer)
                .config()
                .timeout_global(Some(timeout))
                .build()
                .call()
        })?;
        match status {
            200 => match serde_json::from_str::<Json>(&text) {
                Ok(Json::Object(mut lead)) => {
                    lead.remove("attributes");
                    Ok(Some(lead))
                }
                _ => Err(format!(
                    "GET Lead {record}: the answer is not a JSON object"
                )),
            },
            404 => Ok(None),
            _ => Err(format!(
                "GET Lead {record}: Salesforce answered {status}: {}",
                text.trim()
            )),
        }
    }

    /// `Sforce-Limit-Info: api-usage=USED/ALLOWED`: at 90% of the org's daily
    /// allocation, hold back (the rest is left to the org's other users).
    fn note_usage(&self, info: &str) {
        let Some((used, allowed)) = info
            .split(',')
            .filter_map(|part| part.trim().strip_prefix("api-usage="))
            .find_map(|u| {
                let (a, b) = u.split_once('/')?;
                Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?))
            })
        else {
            return;
        };
        if allowed > 0 && used * 10 >= allowed * 9 {
            let mut pause = self.pause.lock().unwrap_or_else(|p| p.into_inner());
            *pause = Some(format!(
                "Sforce-Limit-Info says api-usage={used}/{allowed}: 90% of the org's daily \
                 API allocation is used"
            ));
        }
    }

    /// The pause the last answers asked for, once.
    pub fn take_pause(&self) -> Option<(Duration, String)> {
        let why = self
            .pause
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()?;
        // The allocation is a rolling 24 hours: look again in an hour.
        Some((Duration::from_secs(3600), why))
    }

    /// Set `payload`'s fields (`{"OwnerId": "005…", …}`) on Lead `record`.
    pub fn update_lead(&self, record: &str, payload: &Json) -> Delivery {
        let path = format!(
            "sobjects/Lead/{}",
            form_urlencoded::byte_serialize(record.as_bytes()).collect::<String>()
        );
        match self.patch(&path, payload) {
            Ok((status, body)) => answer(status, &body),
            Err(e) => Delivery::Failed(e),
        }
    }

    /// Set each row's fields on its Lead: one PATCH for a single row, else
    /// one sObject Collections update (`allOrNone: false`), whose answer
    /// lists a result per record in the order sent.
    pub fn update_leads(&self, rows: &[OutboxRow]) -> Vec<Delivery> {
        if rows.len() == 1 {
            return vec![self.update_lead(&rows[0].record, &rows[0].payload)];
        }
        let records: Vec<Json> = rows
            .iter()
            .map(|r| {
                let mut fields = r.payload.as_object().cloned().unwrap_or_default();
                fields.insert("attributes".into(), serde_json::json!({"type": "Lead"}));
                fields.insert("id".into(), Json::String(r.record.clone()));
                Json::Object(fields)
            })
            .collect();
        let body = serde_json::json!({"allOrNone": false, "records": records});
        match self.patch("composite/sobjects", &body) {
            Ok((200, text)) => collection_answer(rows.len(), &text),
            Ok((status, text)) => vec![answer(status, &text); rows.len()],
            Err(e) => vec![Delivery::Failed(e); rows.len()],
        }
    }
}

/// An sObject Collections answer: `[{"id", "success", "errors": [{"statusCode",
/// "message", "fields"}]}]`, one per record in order. A locked row is
/// retried; any other error is a dead letter.
fn collection_answer(rows: usize, body: &str) -> Vec<Delivery> {
    let results = serde_json::from_str::<Vec<Json>>(body).unwrap_or_default();
    (0..rows)
        .map(|i| match results.get(i) {
            Some(r) if r.get("success").and_then(Json::as_bool) == Some(true) => Delivery::Done,
            Some(r) => {
                let errors = r.get("errors").cloned().unwrap_or_default();
                let said = format!("Salesforce answered 200 for this record with {errors}");
                let locked = errors.as_array().is_some_and(|e| {
                    e.iter().any(|e| {
                        e.get("statusCode").and_then(Json::as_str) == Some("UNABLE_TO_LOCK_ROW")
                    })
                });
                if locked {
                    Delivery::Failed(said)
                } else {
                    Delivery::Refused(said)
                }
            }
            None => Delivery::Failed(format!(
                "Salesforce answered 200 without a result for record {} of {rows}",
                i + 1
            )),
        })
        .collect()
}

fn answer(status: u16, body: &str) -> Delivery {
    let said = || format!("Salesforce answered {status}: {}", body.trim());
    match status {
        200..=299 => Delivery::Done,
        403 if body.contains("REQUEST_LIMIT_EXCEEDED") => Delivery::Later {
            // The allocation is a rolling 24 hours: look again in an hour.
            after: Duration::from_secs(3600),
            pause: true,
            error: said(),
        },
        500..=599 => Delivery::Failed(said()),
        _ => Delivery::Refused(said()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_as_salesforce_documents_them() {
        assert_eq!(answer(204, ""), Delivery::Done);
        let limit =
            r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#;
        assert!(matches!(
            answer(403, limit),
            Delivery::Later { pause: true, .. }
        ));
        let bad = r#"[{"message":"Owner ID: id value of incorrect type: 123","errorCode":"MALFORMED_ID","fields":["OwnerId"]}]"#;
        assert!(matches!(answer(400, bad), Delivery::Refused(e) if e.contains("MALFORMED_ID")));
        assert!(matches!(answer(503, ""), Delivery::Failed(_)));
    }

    #[test]
    fn a_collection_answer_is_read_record_by_record() {
        let body = r#"[{"id":"00Q1","success":true,"errors":[]},
            {"success":false,"errors":[{"statusCode":"MALFORMED_ID","message":"bad id","fields":[]}]},
            {"success":false,"errors":[{"statusCode":"UNABLE_TO_LOCK_ROW","message":"locked","fields":[]}]}]"#;
        let got = collection_answer(4, body);
        assert_eq!(got[0], Delivery::Done);
        assert!(matches!(&got[1], Delivery::Refused(e) if e.contains("MALFORMED_ID")));
        assert!(matches!(&got[2], Delivery::Failed(_)));
        assert!(matches!(&got[3], Delivery::Failed(_)));
    }

    #[test]
    fn limit_info_near_the_allocation_pauses() {
        let sf = Salesforce::new(
            "https://x.my.salesforce.com",
            "id".into(),
            "s".into(),
            None,
            Duration::from_secs(1),
        );
        sf.note_usage("api-usage=50/100");
        assert!(sf.take_pause().is_none());
        sf.note_usage("api-usage=95/100");
        assert!(
            sf.take_pause()
                .is_some_and(|(_, why)| why.contains("95/100"))
        );
        assert!(sf.take_pause().is_none());
    }
}

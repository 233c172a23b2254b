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
}

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

    /// Set `payload`'s fields (`{"OwnerId": "005…", …}`) on Lead `record`.
    pub fn update_lead(&self, record: &str, payload: &Json) -> Delivery {
        let mut stale = None;
        for _ in 0..2 {
            let (token, instance) = match self.session(stale.as_deref()) {
                Ok(s) => s,
                // A token endpoint refusing the client is a configuration
                // error, but it also answers 5xx when Salesforce is down:
                // retry with backoff either way; the error says which.
                Err(e) => return Delivery::Failed(e),
            };
            let url = format!(
                "{instance}/services/data/{}/sobjects/Lead/{}",
                self.api_version,
                form_urlencoded::byte_serialize(record.as_bytes()).collect::<String>()
            );
            let sent = self
                .agent
                .patch(&url)
                .header("Authorization", &format!("Bearer {token}"))
                .header("Sforce-Auto-Assign", "FALSE")
                .send_json(payload);
            let mut response = match sent {
                Ok(r) => r,
                Err(e) => return Delivery::Failed(format!("PATCH {url}: {e}")),
            };
            let status = response.status().as_u16();
            let body = super::answer_text(&mut response);
            if status == 401 && body.contains("INVALID_SESSION_ID") {
                stale = Some(token);
                continue;
            }
            return answer(status, &body);
        }
        Delivery::Failed("Salesforce refused a fresh session too (401 INVALID_SESSION_ID)".into())
    }
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
}

//! Pipedrive's API, as the outbox uses it: `PATCH /api/v2/persons/{id}` with
//! the fields to set (`owner_id` a user id; custom fields under
//! `custom_fields` by their keys) and the company's API token in
//! `x-api-token`. Answers as Pipedrive documents them: `{"success": false,
//! "error": …}` bodies; 429 with `x-ratelimit-reset` (seconds until the
//! burst window resets; the daily budget answers 429 too), 5xx, other 4xx.

use std::time::Duration;

use serde_json::Value as Json;

use super::Delivery;
use super::oauth::Credential;

pub struct Pipedrive {
    /// The configured origin; with OAuth and none configured, the company's
    /// `api_domain` from the token answer.
    base_url: Option<String>,
    credential: Credential,
    agent: ureq::Agent,
}

pub const DEFAULT_BASE_URL: &str = "https://api.pipedrive.com";
pub const DEFAULT_TOKEN_URL: &str = "https://oauth.pipedrive.com/oauth/token";

impl Pipedrive {
    pub fn new(base_url: Option<&str>, credential: Credential, timeout: Duration) -> Pipedrive {
        let agent = super::agent(timeout);
        Pipedrive {
            base_url: base_url.map(|b| b.trim_end_matches('/').to_string()),
            credential,
            agent,
        }
    }

    /// Set `payload`'s fields on person `record`. An API token goes in
    /// `x-api-token`; an OAuth token as a bearer, tried once more with a
    /// fresh one after a 401.
    pub fn update_person(&self, record: &str, payload: &Json) -> Delivery {
        let id = form_urlencoded::byte_serialize(record.as_bytes()).collect::<String>();
        let mut stale: Option<String> = None;
        loop {
            let (token, access) = match self.credential.token(stale.as_deref()) {
                Ok(t) => t,
                Err(e) => return Delivery::Failed(e),
            };
            let base = self
                .base_url
                .clone()
                .or_else(|| access.as_ref()?.api_domain.clone())
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
            let url = format!("{base}/api/v2/persons/{id}");
            let request = self.agent.patch(&url);
            let request = match access {
                Some(_) => request.header("Authorization", &format!("Bearer {token}")),
                None => request.header("x-api-token", &token),
            };
            let mut response = match request.send_json(payload) {
                Ok(r) => r,
                Err(e) => return Delivery::Failed(format!("PATCH {url}: {e}")),
            };
            let status = response.status().as_u16();
            if status == 401 && self.credential.refreshes() && stale.is_none() {
                stale = Some(token);
                continue;
            }
            let reset = response
                .headers()
                .get("x-ratelimit-reset")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let body = super::answer_text(&mut response);
            return answer(status, reset, &body);
        }
    }
}

fn answer(status: u16, reset: Option<u64>, body: &str) -> Delivery {
    let said = || format!("Pipedrive answered {status}: {}", body.trim());
    match status {
        200..=299 => Delivery::Done,
        429 => Delivery::Later {
            after: Duration::from_secs(reset.unwrap_or(2).max(1)),
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
    fn answers_are_read_as_pipedrive_documents_them() {
        assert_eq!(answer(200, None, r#"{"success":true}"#), Delivery::Done);
        assert!(matches!(
            answer(429, Some(5), ""),
            Delivery::Later { after, pause: true, .. } if after == Duration::from_secs(5)
        ));
        assert!(matches!(
            answer(429, None, ""),
            Delivery::Later { after, .. } if after == Duration::from_secs(2)
        ));
        assert!(matches!(answer(503, None, ""), Delivery::Failed(_)));
        let missing = r#"{"success":false,"error":"Person not found","data":null}"#;
        assert!(
            matches!(answer(404, None, missing), Delivery::Refused(e) if e.contains("Person not found"))
        );
    }
}

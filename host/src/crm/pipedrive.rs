//! Pipedrive's API, as the outbox uses it: `PATCH /api/v2/persons/{id}` with
//! the fields to set (`owner_id` a user id; custom fields under
//! `custom_fields` by their keys) and the company's API token in
//! `x-api-token` (or an OAuth bearer). Answers as Pipedrive documents them:
//! `{"success": false, "error": …}` bodies; 429 with `x-ratelimit-reset`
//! (seconds until the burst window resets), or with `x-daily-requests-left: 0`
//! when the company's daily budget is spent (then an hour's pause); 5xx;
//! other 4xx.

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

    /// Send what `request` builds for `path` under the company's API origin:
    /// an API token in `x-api-token`, an OAuth token as a bearer (tried once
    /// more with a fresh one after a 401). The answer, or why it did not go.
    fn send(
        &self,
        path: &str,
        request: impl Fn(&str, (&str, &str)) -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<ureq::http::Response<ureq::Body>, String> {
        let mut stale: Option<String> = None;
        loop {
            let (token, access) = self.credential.token(stale.as_deref())?;
            let base = self
                .base_url
                .clone()
                .or_else(|| access.as_ref()?.api_domain.clone())
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
            let mut url = format!("{base}{path}");
            if path.starts_with("/v1/") && access.is_none() {
                // API v1 takes the API token as a query parameter.
                url.push_str("?api_token=");
                url.extend(form_urlencoded::byte_serialize(token.as_bytes()));
            }
            let (name, value) = match access {
                Some(_) => ("Authorization", format!("Bearer {token}")),
                None => ("x-api-token", token.clone()),
            };
            let shown = url.split('?').next().unwrap_or_default().to_string();
            let response = request(&url, (name, &value)).map_err(|e| format!("{shown}: {e}"))?;
            if response.status().as_u16() == 401 && self.credential.refreshes() && stale.is_none() {
                stale = Some(token);
                continue;
            }
            return Ok(response);
        }
    }

    /// Set `payload`'s fields on `record`: a person (a number: `PATCH
    /// /api/v2/persons/{id}`), or a lead (a UUID: `PATCH /v1/leads/{id}`, API
    /// v2 having no lead update, custom fields at the top level there).
    pub fn update_record(&self, record: &str, payload: &Json) -> Delivery {
        let (path, is_lead) = path_of(record);
        let lead_payload;
        let payload = if is_lead {
            lead_payload = lead_fields(payload);
            &lead_payload
        } else {
            payload
        };
        let sent = self.send(&path, |url, (name, value)| {
            self.agent.patch(url).header(name, value).send_json(payload)
        });
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => return Delivery::Failed(format!("PATCH {e}")),
        };
        let status = response.status().as_u16();
        let header = |k: &str| {
            response
                .headers()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        // The company's daily budget spent: no point asking again in seconds.
        let reset = match header("x-daily-requests-left") {
            Some(0) => Some(3600),
            _ => header("x-ratelimit-reset"),
        };
        let body = super::answer_text(&mut response);
        answer(status, reset, &body)
    }

    /// Read `record`, a person (`GET /api/v2/persons/{id}`) or a lead (`GET
    /// /v1/leads/{id}`): its record (the answer's `data`), None when the
    /// company has no such record, Err with why when the read failed.
    pub fn get_record(
        &self,
        record: &str,
        timeout: Duration,
    ) -> Result<Option<serde_json::Map<String, Json>>, String> {
        let (path, _) = path_of(record);
        let mut response = self
            .send(&path, |url, (name, value)| {
                self.agent
                    .get(url)
                    .header(name, value)
                    .config()
                    .timeout_global(Some(timeout))
                    .build()
                    .call()
            })
            .map_err(|e| format!("GET {e}"))?;
        let status = response.status().as_u16();
        let text = super::answer_text(&mut response);
        match status {
            200 => {
                let doc: Json = serde_json::from_str(&text)
                    .map_err(|e| format!("GET person {record}: the answer is not JSON: {e}"))?;
                match doc.get("data") {
                    Some(Json::Object(p)) => Ok(Some(p.clone())),
                    _ => Err(format!(
                        "GET person {record}: the answer has no data object"
                    )),
                }
            }
            404 => Ok(None),
            _ => Err(format!(
                "GET person {record}: Pipedrive answered {status}: {}",
                text.trim()
            )),
        }
    }
}

/// Where a record lives: persons have number ids, leads UUIDs.
fn path_of(record: &str) -> (String, bool) {
    let id = form_urlencoded::byte_serialize(record.as_bytes()).collect::<String>();
    if record.bytes().all(|b| b.is_ascii_digit()) {
        (format!("/api/v2/persons/{id}"), false)
    } else {
        (format!("/v1/leads/{id}"), true)
    }
}

/// A person write as a lead update: custom fields at the top level.
fn lead_fields(payload: &Json) -> Json {
    let mut top = payload.as_object().cloned().unwrap_or_default();
    if let Some(Json::Object(custom)) = top.remove("custom_fields") {
        top.extend(custom);
    }
    Json::Object(top)
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

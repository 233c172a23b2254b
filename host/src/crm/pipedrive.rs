//! Pipedrive's API, as the outbox uses it: `PATCH /api/v2/persons/{id}` with
//! the fields to set (`owner_id` a user id; custom fields under
//! `custom_fields` by their keys) and the company's API token in
//! `x-api-token`. Answers as Pipedrive documents them: `{"success": false,
//! "error": …}` bodies; 429 with `x-ratelimit-reset` (seconds until the
//! burst window resets; the daily budget answers 429 too), 5xx, other 4xx.

use std::time::Duration;

use serde_json::Value as Json;

use super::Delivery;

pub struct Pipedrive {
    base_url: String,
    token: String,
    agent: ureq::Agent,
}

pub const DEFAULT_BASE_URL: &str = "https://api.pipedrive.com";

impl Pipedrive {
    pub fn new(base_url: Option<&str>, token: String, timeout: Duration) -> Pipedrive {
        let agent = super::agent(timeout);
        Pipedrive {
            base_url: base_url
                .unwrap_or(DEFAULT_BASE_URL)
                .trim_end_matches('/')
                .to_string(),
            token,
            agent,
        }
    }

    /// Set `payload`'s fields on person `record`.
    pub fn update_person(&self, record: &str, payload: &Json) -> Delivery {
        let url = format!(
            "{}/api/v2/persons/{}",
            self.base_url,
            form_urlencoded::byte_serialize(record.as_bytes()).collect::<String>()
        );
        let sent = self
            .agent
            .patch(&url)
            .header("x-api-token", &self.token)
            .send_json(payload);
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => return Delivery::Failed(format!("PATCH {url}: {e}")),
        };
        let status = response.status().as_u16();
        let reset = response
            .headers()
            .get("x-ratelimit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = super::answer_text(&mut response);
        answer(status, reset, &body)
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

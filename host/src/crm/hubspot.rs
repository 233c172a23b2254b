//! HubSpot's CRM API, as the outbox uses it: `PATCH
//! /crm/v3/objects/contacts/{id}` with `{"properties": {…}}` and a private
//! app's bearer token. Answers are read as HubSpot documents them: 429 with
//! `policyName` TEN_SECONDLY_ROLLING (wait, then again) or DAILY (pause until
//! the day's budget resets), 5xx (back off), any other 4xx (a dead letter
//! keeping HubSpot's error body).

use std::time::Duration;

use serde_json::Value as Json;

use super::Delivery;

pub struct HubSpot {
    base_url: String,
    token: String,
    agent: ureq::Agent,
}

pub const DEFAULT_BASE_URL: &str = "https://api.hubapi.com";

impl HubSpot {
    pub fn new(base_url: Option<&str>, token: String, timeout: Duration) -> HubSpot {
        let agent = super::agent(timeout);
        HubSpot {
            base_url: base_url
                .unwrap_or(DEFAULT_BASE_URL)
                .trim_end_matches('/')
                .to_string(),
            token,
            agent,
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
        let got = self
            .agent
            .get(&url)
            .query("properties", properties.join(","))
            .header("Authorization", &format!("Bearer {}", self.token))
            .config()
            .timeout_global(Some(timeout))
            .build()
            .call();
        let mut response = got.map_err(|e| format!("GET {url}: {e}"))?;
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

    /// Write `payload` (`{"properties": {…}}`) to contact `record`.
    pub fn update_contact(&self, record: &str, payload: &Json) -> Delivery {
        let url = format!(
            "{}/crm/v3/objects/contacts/{}",
            self.base_url,
            form_urlencoded::byte_serialize(record.as_bytes()).collect::<String>()
        );
        let sent = self
            .agent
            .patch(&url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .send_json(payload);
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => return Delivery::Failed(format!("PATCH {url}: {e}")),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = super::answer_text(&mut response);
        answer(status, retry_after, &body)
    }
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

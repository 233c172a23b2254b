//! A generic signed webhook: each write is POSTed as JSON to a configured URL,
//! signed the Standard Webhooks way (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,base64(HMAC-SHA256(secret, "id.timestamp.body"))`),
//! so any system can take leadwire's decisions and check they came from it.
//! The id is the outbox row's: a redelivery carries the same id, for the
//! receiver to drop. 2xx is done; 429 waits `Retry-After`; 408 and 5xx back
//! off; 410 and any other 4xx are dead letters.

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value as Json;
use sha2::Sha256;

use super::Delivery;
use crate::store::OutboxRow;

pub struct Webhook {
    url: String,
    key: Vec<u8>,
    agent: ureq::Agent,
}

impl Webhook {
    /// `secret` as Standard Webhooks hands them out (`whsec_` + base64), or
    /// any other text, used as it is.
    pub fn new(url: &str, secret: &str, timeout: Duration) -> Webhook {
        let key = secret
            .strip_prefix("whsec_")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .unwrap_or_else(|| secret.as_bytes().to_vec());
        Webhook {
            url: url.to_string(),
            key,
            agent: super::agent(timeout),
        }
    }

    /// The body a row is sent as: a decision's values, or an alert.
    pub fn body(row: &OutboxRow) -> Json {
        if row.record.starts_with("alert:") {
            return serde_json::json!({
                "type": "lead.alert",
                "record": row.record,
                "decision_id": row.decision_id,
                "alert": row.payload,
            });
        }
        serde_json::json!({
            "type": "lead.decided",
            "record": row.record,
            "decision_id": row.decision_id,
            "properties": row.payload,
        })
    }

    /// The `webhook-signature` header for `body` sent as `id` at `timestamp`.
    pub fn signature(&self, id: &str, timestamp: i64, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        )
    }

    pub fn post(&self, row: &OutboxRow) -> Delivery {
        let id = format!("lw_outbox_{}", row.id);
        let body = Webhook::body(row).to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let sent = self
            .agent
            .post(&self.url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", &timestamp.to_string())
            .header("webhook-signature", &self.signature(&id, timestamp, &body))
            .send(body.as_bytes());
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => return Delivery::Failed(format!("POST {}: {e}", self.url)),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let text = super::answer_text(&mut response);
        let said = || format!("{} answered {status}: {}", self.url, text.trim());
        match status {
            200..=299 => Delivery::Done,
            429 => Delivery::Later {
                after: Duration::from_secs(retry_after.unwrap_or(10).max(1)),
                pause: true,
                error: said(),
            },
            408 | 500..=599 => Delivery::Failed(said()),
            _ => Delivery::Refused(said()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_standard_webhooks_documents() {
        // The Standard Webhooks specification's example.
        let hook = Webhook::new(
            "http://127.0.0.1:1/",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            Duration::from_secs(1),
        );
        assert_eq!(
            hook.signature(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}

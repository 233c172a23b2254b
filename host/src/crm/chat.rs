//! Chat alerts: Slack incoming webhooks (`{"text", "blocks"}` → 200 `ok`)
//! and Microsoft Teams Workflows webhooks (an Adaptive Card in a `message`
//! attachment → 200/202). The webhook URL is the secret. A 429 waits
//! `Retry-After`; 5xx backs off; a 404 or 410 (`channel_not_found`,
//! `channel_is_archived`, a deleted workflow) means the webhook is gone: the
//! alert is a dead letter, the connection holds the others back for a day
//! (or until a reload), saying so; other 4xx are dead letters.

use std::time::Duration;

use serde_json::Value as Json;

use super::Delivery;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chat {
    Slack,
    Teams,
}

pub struct ChatHook {
    pub kind: Chat,
    /// `Err(why)` when its environment variable is not set: alerts wait.
    url: Result<String, String>,
    agent: ureq::Agent,
}

/// What a gone webhook answers: the connection stops until a reload.
pub const GONE: &str = "the webhook is gone";

impl ChatHook {
    /// `url` is `Err(why)` when it is not configured: its alerts are kept
    /// in the outbox, retried every minute, until it is set and reloaded.
    pub fn new(kind: Chat, url: Result<String, String>, timeout: Duration) -> ChatHook {
        ChatHook {
            kind,
            url,
            agent: super::agent(timeout),
        }
    }

    pub fn post(&self, payload: &Json) -> Delivery {
        // The URL carries the secret: never in an error.
        let shown = match self.kind {
            Chat::Slack => "the Slack webhook",
            Chat::Teams => "the Teams webhook",
        };
        let url = match &self.url {
            Ok(url) => url,
            Err(why) => {
                return Delivery::Later {
                    after: Duration::from_secs(60),
                    pause: true,
                    error: format!(
                        "{why}: the alert waits until it is set and the config reloaded"
                    ),
                };
            }
        };
        let mut response = match self.agent.post(url).send_json(payload) {
            Ok(r) => r,
            Err(e) => {
                return Delivery::Failed(format!(
                    "POST {shown}: {}",
                    without_url(&e.to_string(), url)
                ));
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = super::answer_text(&mut response);
        let said = || format!("{shown} answered {status}: {}", body.trim());
        match status {
            200..=299 => Delivery::Done,
            429 => Delivery::Later {
                after: Duration::from_secs(retry_after.unwrap_or(1).max(1)),
                pause: true,
                error: said(),
            },
            404 | 410 => Delivery::Refused(format!(
                "{GONE} ({}): alerts to it wait a day, or until the configuration is reloaded",
                said()
            )),
            500..=599 => Delivery::Failed(said()),
            _ => Delivery::Refused(said()),
        }
    }
}

fn without_url(text: &str, url: &str) -> String {
    text.replace(url, "<the webhook URL>")
}

/// An alert in this chat's terms: Slack Block Kit, or a Teams Adaptive Card;
/// `link` to the lead's timeline when the server's public URL is known.
pub fn message(kind: Chat, title: &str, text: &str, link: Option<&str>) -> Json {
    match kind {
        Chat::Slack => {
            let mut blocks = vec![serde_json::json!({
                "type": "section",
                "text": {"type": "mrkdwn", "text": format!("*{title}*\n{text}")},
            })];
            if let Some(link) = link {
                blocks.push(serde_json::json!({
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": format!("<{link}|What became of this lead>")}],
                }));
            }
            serde_json::json!({"text": format!("{title}: {text}"), "blocks": blocks})
        }
        Chat::Teams => {
            let mut card = serde_json::json!({
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": title, "weight": "Bolder", "wrap": true},
                    {"type": "TextBlock", "text": text, "wrap": true},
                ],
            });
            if let Some(link) = link {
                card["actions"] = serde_json::json!([
                    {"type": "Action.OpenUrl", "title": "What became of this lead", "url": link}
                ]);
            }
            serde_json::json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": card,
                }],
            })
        }
    }
}

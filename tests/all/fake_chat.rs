//! Fake chat webhooks on loopback, written from Slack's and Microsoft's
//! documentation. Slack incoming webhooks (`POST /services/T…/B…/…`) take
//! `{"text", "blocks"}` and answer 200 `ok`; no `text` and no `blocks` is
//! 400 `no_text`; an archived channel answers 410 `channel_is_archived`.
//! Teams Workflows webhooks take `{"type": "message", "attachments":
//! [{"contentType": "application/vnd.microsoft.card.adaptive", "content":
//! AdaptiveCard}]}` and answer 202; anything else is 400.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;

use crate::fake_crm::{Served, serve, wait_for};

pub struct FakeChat {
    pub url: String,
    slack: Arc<Mutex<Vec<Value>>>,
    teams: Arc<Mutex<Vec<Value>>>,
    _served: Served,
}

impl FakeChat {
    pub fn start() -> FakeChat {
        let (slack, teams): (Arc<Mutex<Vec<Value>>>, Arc<Mutex<Vec<Value>>>) = Default::default();
        let (s, t) = (slack.clone(), teams.clone());
        let served = serve("127.0.0.1:0", move |_| {
            axum::Router::new()
                .route(
                    "/services/T0001/B0001/XXXXXXXXXXXXXXXXXXXXXXXX",
                    post(move |body: String| {
                        let s = s.clone();
                        async move {
                            let Ok(doc) = serde_json::from_str::<Value>(&body) else {
                                return (StatusCode::BAD_REQUEST, "invalid_payload");
                            };
                            if doc.get("text").is_none() && doc.get("blocks").is_none() {
                                return (StatusCode::BAD_REQUEST, "no_text");
                            }
                            s.lock().unwrap().push(doc);
                            (StatusCode::OK, "ok")
                        }
                    }),
                )
                .route(
                    "/services/T0001/B0002/ARCHIVED",
                    post(|| async { (StatusCode::GONE, "channel_is_archived") }),
                )
                .route(
                    "/workflows/8d1c/triggers/manual/paths/invoke",
                    post(move |body: String| {
                        let t = t.clone();
                        async move {
                            let doc: Value = serde_json::from_str(&body).unwrap_or_default();
                            let card = &doc["attachments"][0];
                            let ok = doc["type"] == "message"
                                && card["contentType"] == "application/vnd.microsoft.card.adaptive"
                                && card["content"]["type"] == "AdaptiveCard";
                            if !ok {
                                return StatusCode::BAD_REQUEST;
                            }
                            t.lock().unwrap().push(doc);
                            StatusCode::ACCEPTED
                        }
                    }),
                )
        });
        FakeChat {
            url: served.url.clone(),
            slack,
            teams,
            _served: served,
        }
    }

    pub fn slack_url(&self) -> String {
        format!("{}/services/T0001/B0001/XXXXXXXXXXXXXXXXXXXXXXXX", self.url)
    }

    pub fn archived_slack_url(&self) -> String {
        format!("{}/services/T0001/B0002/ARCHIVED", self.url)
    }

    pub fn teams_url(&self) -> String {
        format!("{}/workflows/8d1c/triggers/manual/paths/invoke", self.url)
    }

    pub fn slack(&self, n: usize, seconds: u64) -> Vec<Value> {
        wait_for(n, seconds, || self.slack.lock().unwrap().clone())
    }

    pub fn teams(&self, n: usize, seconds: u64) -> Vec<Value> {
        wait_for(n, seconds, || self.teams.lock().unwrap().clone())
    }
}

//! The CRMs' APIs: one client per `[connections.NAME]` (module per vendor),
//! each with its pacing and pause state, shared by the outbox worker (writes)
//! and the service (reads before deciding).

pub mod hubspot;
pub mod pipedrive;
pub mod salesforce;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::config::{Config, ReadConfig, ReadWhen};
use crate::lead::LeadDoc;
use hubspot::HubSpot;
use pipedrive::Pipedrive;
use salesforce::Salesforce;

/// What a delivery attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Done,
    /// Rate limited: try again after this long; `pause` holds back every
    /// write on the connection until then.
    Later {
        after: Duration,
        pause: bool,
        error: String,
    },
    /// May pass (5xx, a timeout, a refused connection): back off and retry.
    Failed(String),
    /// Will not pass by retrying: a dead letter.
    Refused(String),
}

/// An HTTP agent for one vendor: every status is an answer to read (not an
/// error), each request bounded by `timeout`.
fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .new_agent()
}

/// An answer's body as text (at most 64 KiB: error bodies are kept in dead
/// letters), empty if unreadable.
fn answer_text(response: &mut ureq::http::Response<ureq::Body>) -> String {
    response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .unwrap_or_default()
}

/// One vendor's API client.
pub enum Client {
    HubSpot(HubSpot),
    Pipedrive(Pipedrive),
    Salesforce(Salesforce),
}

impl Client {
    /// Write `payload` (in this vendor's terms, see
    /// [`crate::outbox::WriteBack`]) to `record`.
    pub fn write(&self, record: &str, payload: &Json) -> Delivery {
        match self {
            Client::HubSpot(c) => c.update_contact(record, payload),
            Client::Pipedrive(c) => c.update_person(record, payload),
            Client::Salesforce(c) => c.update_lead(record, payload),
        }
    }
}

/// The configured connections, ready to deliver.
pub struct Connections {
    by_name: BTreeMap<String, Arc<Connection>>,
}

pub struct Connection {
    pub client: Client,
    pub max_attempts: u32,
    pub limiter: Limiter,
    /// No delivery before this (ms since the epoch): the CRM asked to wait.
    pub paused_until: AtomicI64,
}

impl Connections {
    /// Every `[connections.NAME]`, its token read from the environment.
    pub fn from_config(config: &Config) -> Result<Connections, String> {
        let mut by_name = BTreeMap::new();
        for (name, c) in &config.connections {
            let secret = |option: &str, env: &Option<String>, what: &str| {
                let env = env.as_ref().ok_or_else(|| {
                    format!(
                        "connections.{name}: set {option} (the environment variable holding {what})"
                    )
                })?;
                std::env::var(env)
                    .ok()
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| {
                        format!(
                            "connections.{name}: the environment variable {env} ({what}) is not set"
                        )
                    })
            };
            let timeout = Duration::from_secs(c.timeout_seconds.max(1));
            let client = match c.kind.get_ref().as_str() {
                "salesforce" => {
                    let domain = c.base_url.as_deref().ok_or_else(|| {
                        format!(
                            "connections.{name}: set base_url to the org's My Domain \
                             (https://YOURORG.my.salesforce.com)"
                        )
                    })?;
                    Client::Salesforce(Salesforce::new(
                        domain,
                        secret(
                            "client_id_env",
                            &c.client_id_env,
                            "the connected app's consumer key",
                        )?,
                        secret(
                            "client_secret_env",
                            &c.client_secret_env,
                            "the connected app's consumer secret",
                        )?,
                        c.api_version.as_deref(),
                        timeout,
                    ))
                }
                "pipedrive" => Client::Pipedrive(Pipedrive::new(
                    c.base_url.as_deref(),
                    secret("token_env", &c.token_env, "its access token")?,
                    timeout,
                )),
                _ => Client::HubSpot(HubSpot::new(
                    c.base_url.as_deref(),
                    secret("token_env", &c.token_env, "its access token")?,
                    timeout,
                )),
            };
            by_name.insert(
                name.clone(),
                Arc::new(Connection {
                    client,
                    max_attempts: c.max_attempts.max(1),
                    limiter: Limiter::new(c.requests_per_10s.max(1), Duration::from_secs(10)),
                    paused_until: AtomicI64::new(0),
                }),
            );
        }
        Ok(Connections { by_name })
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Connection>> {
        self.by_name.get(name)
    }
}

/// At most `limit` requests in any `window` (a sliding log).
pub struct Limiter {
    limit: usize,
    window: Duration,
    sent: Mutex<VecDeque<Instant>>,
}

impl Limiter {
    fn new(limit: u32, window: Duration) -> Limiter {
        Limiter {
            limit: limit as usize,
            window,
            sent: Mutex::new(VecDeque::new()),
        }
    }

    /// Wait until one more request fits, and count it.
    pub fn acquire(&self) {
        loop {
            let wait = {
                let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                while sent
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    sent.pop_front();
                }
                if sent.len() < self.limit {
                    sent.push_back(now);
                    return;
                }
                self.window.saturating_sub(now.duration_since(sent[0]))
            };
            std::thread::sleep(wait.max(Duration::from_millis(1)));
        }
    }
}

/// A source's read before deciding (`[sources.NAME.read]`).
pub struct Reader {
    connection: Arc<Connection>,
    properties: Vec<String>,
    when: ReadWhen,
    timeout: Duration,
}

impl Reader {
    pub fn new(connections: &Connections, read: &ReadConfig) -> Option<Reader> {
        Some(Reader {
            connection: connections.get(read.connection.get_ref())?.clone(),
            properties: read.properties.clone(),
            when: read.when,
            timeout: Duration::from_millis(read.timeout_ms.max(1)),
        })
    }

    /// Whether a lead whose snapshot is `known` needs the read.
    pub fn wanted(&self, known: &LeadDoc) -> bool {
        self.when == ReadWhen::Always
            || self
                .properties
                .iter()
                .any(|p| !known.fields.contains_key(p))
    }

    /// The record as the CRM has it now (None if the CRM has no such record),
    /// or why it could not be read.
    pub fn read(&self, record: &str) -> Result<Option<LeadDoc>, String> {
        let Client::HubSpot(client) = &self.connection.client else {
            return Err("reading before deciding is built for HubSpot connections only".into());
        };
        let got = client.get_contact(record, &self.properties, self.timeout)?;
        Ok(got.map(|properties| {
            let mut lead = hubspot_lead(record, &properties);
            // Every property asked for is known now, if only as empty.
            for p in &self.properties {
                lead.fields.entry(p.clone()).or_insert(Json::Null);
            }
            lead
        }))
    }
}

fn hubspot_lead(record: &str, properties: &serde_json::Map<String, Json>) -> LeadDoc {
    crate::adapters::hubspot::contact_lead(record.to_string(), properties)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_paces_requests_to_its_window() {
        let limiter = Limiter::new(3, Duration::from_millis(300));
        let start = Instant::now();
        for _ in 0..7 {
            limiter.acquire();
        }
        // 7 requests at 3 per 300 ms: the 7th waits for two windows.
        assert!(start.elapsed() >= Duration::from_millis(600));
    }
}

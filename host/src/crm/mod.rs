//! The CRMs' APIs: one client per `[connections.NAME]` (module per vendor),
//! each with its pacing and pause state, shared by the outbox worker (writes)
//! and the service (reads before deciding).

pub mod chat;
pub mod email;
pub mod hubspot;
pub mod oauth;
pub mod pipedrive;
pub mod salesforce;
pub mod webhook;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::config::{Config, ReadConfig, ReadWhen};
use crate::lead::LeadDoc;
use crate::store::{OutboxRow, Store};
use hubspot::HubSpot;
use oauth::{ClientAuth, Credential, RefreshGrant};
use pipedrive::Pipedrive;
use salesforce::Salesforce;
use webhook::Webhook;

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
    Webhook(Webhook),
    Chat(chat::ChatHook),
    Email(email::Mailer),
}

impl Client {
    /// Write each row's payload (in this vendor's terms, see
    /// [`crate::outbox::WriteBack`]) to its record, in one request where the
    /// API takes a batch; one delivery per row, in order. At most
    /// [`batch_size`](Client::batch_size) rows, no two of one record.
    pub fn write(&self, rows: &[OutboxRow]) -> Vec<Delivery> {
        match self {
            Client::HubSpot(c) => c.update_contacts(rows),
            Client::Pipedrive(c) => rows
                .iter()
                .map(|r| c.update_record(&r.record, &r.payload))
                .collect(),
            Client::Salesforce(c) => c.update_leads(rows),
            Client::Webhook(c) => rows.iter().map(|r| c.post(r)).collect(),
            Client::Chat(c) => rows.iter().map(|r| c.post(&r.payload)).collect(),
            Client::Email(c) => rows.iter().map(|r| c.send(&r.payload)).collect(),
        }
    }

    /// The most rows one request writes (HubSpot batch update takes 100
    /// inputs, Salesforce sObject Collections 200; Pipedrive has no batch).
    pub fn batch_size(&self) -> usize {
        match self {
            Client::HubSpot(_) => hubspot::BATCH,
            Client::Pipedrive(_) | Client::Webhook(_) | Client::Chat(_) | Client::Email(_) => 1,
            Client::Salesforce(_) => salesforce::BATCH,
        }
    }

    /// Whether the CRM said, besides the answers, that the connection should
    /// hold back (Salesforce's `Sforce-Limit-Info` near the daily
    /// allocation): how long, and why. Asked once after each request.
    pub fn take_pause(&self) -> Option<(Duration, String)> {
        match self {
            Client::Salesforce(c) => c.take_pause(),
            _ => None,
        }
    }
}

/// The configured connections, ready to deliver.
pub struct Connections {
    by_name: BTreeMap<String, Arc<Connection>>,
}

pub struct Connection {
    name: String,
    pub client: Client,
    pub max_attempts: u32,
    limiter: Limiter,
    /// The store the replicas share, to pace requests across them (None: this
    /// process alone paces them).
    shared: Option<Arc<dyn Store>>,
    /// No delivery before this (ms since the epoch): the CRM asked to wait.
    pub paused_until: AtomicI64,
}

/// How long one pacing wait may be before the store is asked again.
const PACE_STEP: Duration = Duration::from_millis(250);

impl Connection {
    /// Wait until one more request fits the connection's rate, in this
    /// process and across every replica on the shared store.
    pub fn acquire(&self) {
        self.limiter.acquire();
        while let Some(wait) = self.shared_wait() {
            std::thread::sleep(wait);
        }
    }

    /// [`acquire`](Connection::acquire), giving up after `within` (a read on
    /// the webhook's path cannot wait long): whether the request may go.
    pub fn acquire_within(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        if !self.limiter.acquire_before(deadline) {
            return false;
        }
        while let Some(wait) = self.shared_wait() {
            if Instant::now() + wait > deadline {
                return false;
            }
            std::thread::sleep(wait);
        }
        true
    }

    /// How long to wait before one more request may go by the shared count
    /// (None: it may go, and is counted). A store that cannot count does
    /// not stop a delivery: this process's own pacing still holds.
    fn shared_wait(&self) -> Option<Duration> {
        let store = self.shared.as_ref()?;
        let window = i64::try_from(self.limiter.window.as_millis()).unwrap_or(10_000);
        let now = chrono::Utc::now().timestamp_millis();
        match store.take_rate(&self.name, window, self.limiter.limit as u32, now) {
            Ok(0) => None,
            Ok(ms) => Some(Duration::from_millis(ms.unsigned_abs()).min(PACE_STEP)),
            Err(e) => {
                tracing::warn!("connection {}: cannot count a request: {e}", self.name);
                None
            }
        }
    }
}

impl Connections {
    /// Every `[connections.NAME]`, its token read from the environment;
    /// `shared` the store whose count paces requests across replicas.
    pub fn from_config(
        config: &Config,
        shared: Option<Arc<dyn Store>>,
    ) -> Result<Connections, String> {
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
                "slack" | "teams" => {
                    let kind = if c.kind.get_ref() == "slack" {
                        chat::Chat::Slack
                    } else {
                        chat::Chat::Teams
                    };
                    // Unset, alerts wait in the outbox rather than stop the
                    // server (the quickstart names a Slack webhook).
                    let url = secret("url_env", &c.url_env, "the incoming webhook's URL");
                    if let Err(why) = &url {
                        if c.url_env.is_none() {
                            return Err(why.clone());
                        }
                        eprintln!("leadwire: {why}: its alerts wait in the outbox until it is set");
                    }
                    Client::Chat(chat::ChatHook::new(kind, url, timeout))
                }
                "email" => {
                    let host = c
                        .host
                        .as_deref()
                        .ok_or_else(|| format!("connections.{name}: set host (the SMTP server)"))?;
                    let from = c.from.as_deref().ok_or_else(|| {
                        format!("connections.{name}: set from (the sender's address)")
                    })?;
                    let security = email::Security::parse(c.tls.as_deref())
                        .map_err(|e| format!("connections.{name}: {e}"))?;
                    let login = match (&c.username_env, &c.password_env) {
                        (None, None) => None,
                        (Some(_), Some(_)) => Some((
                            secret("username_env", &c.username_env, "the SMTP user")?,
                            secret("password_env", &c.password_env, "the SMTP password")?,
                        )),
                        _ => {
                            return Err(format!(
                                "connections.{name}: set both username_env and password_env, \
                                 or neither"
                            ));
                        }
                    };
                    let ca_pem = match &c.ca_file {
                        None => None,
                        Some(file) => {
                            let path = config
                                .path
                                .parent()
                                .unwrap_or(std::path::Path::new("."))
                                .join(file);
                            Some(std::fs::read(&path).map_err(|e| {
                                format!("connections.{name}.ca_file `{}`: {e}", path.display())
                            })?)
                        }
                    };
                    Client::Email(
                        email::Mailer::new(email::Settings {
                            host,
                            port: c.port,
                            security,
                            login,
                            from,
                            ca_pem,
                            timeout,
                        })
                        .map_err(|e| format!("connections.{name}: {e}"))?,
                    )
                }
                "webhook" => {
                    let url = c.url.as_deref().ok_or_else(|| {
                        format!("connections.{name}: set url (where decisions are POSTed)")
                    })?;
                    Client::Webhook(Webhook::new(
                        url,
                        &secret("secret_env", &c.secret_env, "the signing secret")?,
                        timeout,
                    ))
                }
                kind => {
                    // A token, or an OAuth refresh token with the app's client.
                    let credential = if c.token_env.is_some() || c.refresh_token_env.is_none() {
                        Credential::Fixed(secret("token_env", &c.token_env, "its access token")?)
                    } else {
                        let (url, auth) = if kind == "pipedrive" {
                            (pipedrive::DEFAULT_TOKEN_URL.to_string(), ClientAuth::Basic)
                        } else {
                            (HubSpot::token_url(c.base_url.as_deref()), ClientAuth::Form)
                        };
                        Credential::Refreshed(RefreshGrant::new(
                            c.token_url.clone().unwrap_or(url),
                            secret("client_id_env", &c.client_id_env, "the app's client id")?,
                            secret(
                                "client_secret_env",
                                &c.client_secret_env,
                                "the app's client secret",
                            )?,
                            secret(
                                "refresh_token_env",
                                &c.refresh_token_env,
                                "the refresh token",
                            )?,
                            auth,
                            timeout,
                        ))
                    };
                    if kind == "pipedrive" {
                        Client::Pipedrive(Pipedrive::new(
                            c.base_url.as_deref(),
                            credential,
                            timeout,
                        ))
                    } else {
                        Client::HubSpot(HubSpot::new(c.base_url.as_deref(), credential, timeout))
                    }
                }
            };
            by_name.insert(
                name.clone(),
                Arc::new(Connection {
                    name: name.clone(),
                    client,
                    max_attempts: c.max_attempts.max(1),
                    limiter: Limiter::new(c.rate().max(1), Duration::from_secs(10)),
                    shared: shared.clone(),
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

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
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
        self.acquire_before(Instant::now() + Duration::from_secs(86_400 * 365));
    }

    /// Wait until one more request fits, and count it; false (nothing
    /// counted) if it would not fit before `deadline`.
    pub fn acquire_before(&self, deadline: Instant) -> bool {
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
                    return true;
                }
                self.window.saturating_sub(now.duration_since(sent[0]))
            };
            if Instant::now() + wait > deadline {
                return false;
            }
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
    /// The connection read through, and the properties asked for.
    pub fn describe(&self) -> (&str, &[String]) {
        (&self.connection.name, &self.properties)
    }

    pub fn read(&self, record: &str) -> Result<Option<LeadDoc>, String> {
        // A paused connection, or pacing that would eat the read's time,
        // fails the read; the CRM retries the event.
        if self
            .connection
            .paused_until
            .load(std::sync::atomic::Ordering::Relaxed)
            > chrono::Utc::now().timestamp_millis()
        {
            return Err(format!(
                "the connection {} is paused: the CRM asked to wait",
                self.connection.name
            ));
        }
        let started = Instant::now();
        if !self.connection.acquire_within(self.timeout / 2) {
            return Err(format!(
                "the connection {} is at its rate limit: no read within {} ms",
                self.connection.name,
                (self.timeout / 2).as_millis()
            ));
        }
        let left = self
            .timeout
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(1));
        let id = record.to_string();
        let got = match &self.connection.client {
            Client::HubSpot(c) => c
                .get_contact(record, &self.properties, left)?
                .map(|p| crate::adapters::hubspot::contact_lead(id, &p)),
            Client::Salesforce(c) => c
                .get_lead(record, &self.properties, left)?
                .map(|f| crate::adapters::salesforce::sobject_lead(id, f.into_iter().collect())),
            Client::Pipedrive(c) => c
                .get_record(record, left)?
                .map(|p| crate::adapters::pipedrive::lead_of(id, Some(&p))),
            Client::Webhook(_) | Client::Chat(_) | Client::Email(_) => {
                return Err("a webhook connection has nothing to read".into());
            }
        };
        Ok(got.map(|mut lead| {
            // Every property asked for is known now, if only as empty.
            for p in &self.properties {
                lead.fields.entry(p.clone()).or_insert(Json::Null);
            }
            lead
        }))
    }
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

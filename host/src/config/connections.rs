//! `[connections.NAME]`: the CRM APIs leadwire writes decisions to, and each
//! source's `[sources.NAME.write]`: which decision values go to which CRM
//! properties through which connection.

use serde::Deserialize;
use toml::Spanned;

/// One CRM API account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionConfig {
    /// `hubspot`, `pipedrive`, `salesforce`, `webhook`; `slack`, `teams` or
    /// `email` for alerts.
    pub kind: Spanned<String>,
    /// The environment variable holding the access token (a HubSpot private
    /// app's token, a Pipedrive API token), never the token itself.
    pub token_env: Option<String>,
    /// OAuth (HubSpot, Pipedrive): the environment variable holding the
    /// refresh token the app's install gave; with `client_id_env` and
    /// `client_secret_env`, instead of `token_env`.
    pub refresh_token_env: Option<String>,
    /// The environment variables holding the app's client id and secret
    /// (Salesforce: the connected app's consumer key and secret, for the
    /// client-credentials flow; HubSpot, Pipedrive: for refreshing tokens).
    pub client_id_env: Option<String>,
    pub client_secret_env: Option<String>,
    /// The OAuth token endpoint (default: the vendor's; a test's fake).
    pub token_url: Option<String>,
    /// `webhook`: where decisions are POSTed.
    pub url: Option<String>,
    /// `slack`, `teams`: the environment variable holding the incoming
    /// webhook's URL (the URL is the secret).
    pub url_env: Option<String>,
    /// `webhook`: the environment variable holding the signing secret
    /// (Standard Webhooks: `whsec_` and base64, or any text).
    pub secret_env: Option<String>,
    /// Salesforce: the REST API version (default v60.0).
    pub api_version: Option<String>,
    /// The API's origin (default: the vendor's; a sandbox or a test's fake).
    /// Salesforce: the org's My Domain (`https://acme.my.salesforce.com`),
    /// required.
    pub base_url: Option<String>,
    /// Requests allowed per 10 seconds from this host (HubSpot: 100 on Free
    /// and Starter, 190 on Professional and Enterprise, per app; default 100,
    /// and 10 for Slack and Teams: about one message a second).
    pub requests_per_10s: Option<u32>,
    /// How long one request may take.
    #[serde(default = "ten")]
    pub timeout_seconds: u64,
    /// Delivery attempts before a write becomes a dead letter.
    #[serde(default = "ten_attempts")]
    pub max_attempts: u32,
    /// `email`: the SMTP server's host name, and its port (default 587 for
    /// `starttls`, 465 for `tls`).
    pub host: Option<String>,
    pub port: Option<u16>,
    /// `email`: `starttls` (default: the session must upgrade), `tls`
    /// (implicit TLS, port 465), or `none` (a relay on loopback only).
    pub tls: Option<String>,
    /// `email`: the environment variables holding the SMTP login (both or
    /// neither).
    pub username_env: Option<String>,
    pub password_env: Option<String>,
    /// `email`: the sender (`leadwire <leadwire@example.com>`).
    pub from: Option<String>,
    /// `email`: who gets alerts that have no recipient of their own (an
    /// assignment goes to the owner's `email` in the directory).
    #[serde(default)]
    pub to: Vec<String>,
    /// `email`: a PEM file of certificates to trust besides the public roots
    /// (a private CA), relative to the config file.
    pub ca_file: Option<String>,
}

impl ConnectionConfig {
    /// Requests allowed per 10 seconds.
    pub fn rate(&self) -> u32 {
        self.requests_per_10s
            .unwrap_or(match self.kind.get_ref().as_str() {
                "slack" | "teams" | "email" => 10,
                _ => 100,
            })
    }
}

fn ten() -> u64 {
    10
}

fn ten_attempts() -> u32 {
    10
}

pub const KINDS: [&str; 7] = [
    "hubspot",
    "pipedrive",
    "salesforce",
    "webhook",
    "slack",
    "teams",
    "email",
];

/// `[sources.NAME.read]`: fetch the record from the CRM before deciding when
/// the event (and the snapshot) lack what the pipeline reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadConfig {
    pub connection: Spanned<String>,
    /// The CRM properties to fetch (HubSpot contact property names).
    pub properties: Vec<String>,
    /// `missing` (default): read when one of `properties` is not in the
    /// lead's snapshot yet (a HubSpot creation event carries none); `always`.
    #[serde(default)]
    pub when: ReadWhen,
    /// How long the read may take: well inside the CRM's own wait for the
    /// webhook's answer (HubSpot waits 5 s).
    #[serde(default = "three_seconds")]
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadWhen {
    #[default]
    Missing,
    Always,
}

fn three_seconds() -> u64 {
    3000
}

/// `[sources.NAME.write]`: the CRM property each decided value is written
/// to; a value without a property is not written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteConfig {
    /// The `[connections.NAME]` to write through.
    pub connection: Spanned<String>,
    /// The owner chosen by routing, as the CRM's owner id (see the directory's
    /// `owner_ids`): HubSpot `hubspot_owner_id`.
    pub owner: Option<String>,
    pub score: Option<String>,
    pub grade: Option<String>,
    pub lifecycle_stage: Option<String>,
    /// The segments' names, joined by `;` (a HubSpot multiple checkboxes value).
    pub segments: Option<String>,
    /// Why the route was taken.
    pub route_reason: Option<String>,
}

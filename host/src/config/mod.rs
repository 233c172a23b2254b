//! `leadwire.toml`: plugins, pipelines, limits, and (for now) the directory of
//! reps and the known accounts. Parsing checks the file's shape; `validate`
//! checks that everything it names exists. Loading the plugins themselves is the
//! runtime's job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

pub use crate::decision::OnError;
use crate::verdict::Role;
pub use connections::{ConnectionConfig, ReadConfig, ReadWhen, WriteConfig};
pub use follow::{
    AlertConfig, CalendarConfig, CheckpointConfig, FeedbackConfig, LeadStatusConfig, MetConfig,
    SlaConfig, WEEK_DAYS,
};
pub use input::{ColumnType, InputConfig};

mod connections;
mod follow;
mod input;

/// The largest `memory_mib` a plugin may be given: the runtime's pool slots
/// are this size.
pub const MAX_MEMORY_MIB: u64 = 512;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: String,
        line: usize,
        message: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Default limits for every plugin; a plugin's own `limits` table overrides them.
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginConfig>,
    #[serde(default)]
    pub pipelines: BTreeMap<String, PipelineConfig>,
    #[serde(default)]
    pub directory: DirectoryConfig,
    /// Known accounts by web domain.
    #[serde(default)]
    pub accounts: BTreeMap<String, AccountConfig>,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub server: ServerConfig,
    /// CRM endpoints: `POST /hooks/NAME`.
    #[serde(default)]
    pub sources: BTreeMap<String, SourceConfig>,
    /// CRM APIs decisions are written back to.
    #[serde(default)]
    pub connections: BTreeMap<String, ConnectionConfig>,
    /// Business hours, for SLA timers.
    #[serde(default)]
    pub calendars: BTreeMap<String, CalendarConfig>,
    /// Follow-up policies: timers started when a lead is assigned.
    #[serde(default)]
    pub sla: BTreeMap<String, SlaConfig>,
    /// Who is told what, through which chat connection.
    #[serde(default)]
    pub alerts: BTreeMap<String, AlertConfig>,
    /// Accepting and rejecting leads.
    #[serde(default)]
    pub feedback: FeedbackConfig,
    /// How `leadwire score` / `backtest` read CSV and JSONL rows into leads.
    #[serde(default)]
    pub input: InputConfig,
    /// Where the file was read from; plugin paths are relative to its folder.
    #[serde(skip)]
    pub path: PathBuf,
    #[serde(skip)]
    source: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Fuel per call (roughly wasm instructions); 0 means unlimited.
    pub fuel: Option<u64>,
    /// More fuel per KiB of the call's input (its encoded size): a bigger
    /// lead, a bigger budget, as Shopify Functions scale theirs.
    pub fuel_per_input_kib: Option<u64>,
    pub memory_mib: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub verdict_kib: Option<u64>,
    pub log_kib: Option<u64>,
    /// Capability calls (state, directory, accounts, log, config) per call.
    pub host_calls: Option<u32>,
    /// Keys and bytes (keys plus values) the install may keep in `state`.
    pub state_keys: Option<u64>,
    pub state_kib: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// The component file, relative to the config file.
    pub path: Spanned<String>,
    /// Refuse to load the file unless its sha256 is this (hex).
    pub sha256: Option<String>,
    /// Capabilities beyond `log` and `config`: `state`, `directory`, `accounts`.
    #[serde(default)]
    pub grants: Vec<Spanned<String>>,
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Handed to the plugin as JSON by the `config` capability.
    #[serde(default)]
    pub config: toml::Table,
    /// A TOML file (relative to this one) read into `config` at load, e.g. the
    /// scorer `leadwire learn` writes; keys in `config` override the file's.
    pub config_file: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    pub steps: Vec<StepConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// The plugin install this step runs.
    pub plugin: Spanned<String>,
    /// Which role to call; needed only when the plugin exports several.
    pub role: Option<Spanned<Role>>,
    /// The step's name in the decision record (default: the plugin's name).
    pub name: Option<String>,
    #[serde(default)]
    pub on_error: OnError,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    #[serde(default)]
    pub teams: BTreeMap<String, TeamConfig>,
    #[serde(default)]
    pub reps: BTreeMap<String, RepConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    /// Rep ids, in round-robin order.
    pub reps: Vec<Spanned<String>>,
    /// The team's working hours (a `[calendars.NAME]`), for its reps without one.
    pub calendar: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepConfig {
    pub name: Option<String>,
    pub email: Option<String>,
    #[serde(default = "one")]
    pub weight: u32,
    pub daily_cap: Option<u32>,
    /// Set to a reason ("vacation until 2026-12-01") to take the rep out of rotation.
    pub unavailable: Option<String>,
    /// The rep's owner id in each connection's CRM (`{ hubspot = "123" }`: a
    /// HubSpot owner `id`, not a user id), for writing the owner back.
    #[serde(default)]
    pub owner_ids: BTreeMap<String, String>,
    /// The rep's working hours (a `[calendars.NAME]`), for SLA timers.
    pub calendar: Option<String>,
    /// Where the rep works, if not in the calendar's zone (the calendar's
    /// hours are then kept in this zone).
    pub time_zone: Option<String>,
    /// Days off: `YYYY-MM-DD` or `YYYY-MM-DD..YYYY-MM-DD` (inclusive).
    #[serde(default)]
    pub out_of_office: Vec<String>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    pub owner: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://leadwire.db` (relative to the working directory) or `postgres://…`.
    #[serde(default = "default_store_url")]
    pub url: String,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: default_store_url(),
        }
    }
}

fn default_store_url() -> String {
    "sqlite://leadwire.db".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: String,
    /// The URL the CRMs call, as they see it (behind a proxy it differs from the
    /// listen address); HubSpot's v2/v3 signatures cover it.
    pub public_url: Option<String>,
    pub body_limit_kib: u64,
    /// The environment variable holding the bearer token for `POST /admin/reload`.
    pub admin_token_env: Option<String>,
    /// A request's headers must arrive within this (a half-sent header holds a
    /// connection otherwise).
    pub header_timeout_seconds: u64,
    /// A request's body must arrive within this.
    pub body_timeout_seconds: u64,
    /// A connection with no bytes read or written for this long is closed.
    pub idle_timeout_seconds: u64,
    /// Connections held at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// On SIGTERM, requests in flight get this long, then the process exits.
    pub shutdown_timeout_seconds: u64,
    /// Events dated further ahead than this are refused (400).
    pub max_future_skew_seconds: u64,
    /// Tries of an event whose decision failed for a reason that may pass
    /// (timeout, host error), before it is recorded as failed.
    pub max_attempts: u32,
    /// `tokens` (the default): `/v1/*` needs a bearer token; `none`: open (loopback
    /// development only).
    pub api_auth: ApiAuth,
    /// The environment variable holding the token that reads `/v1/*`.
    pub read_token_env: String,
    /// The environment variable holding the token that reads and writes `/v1/*`.
    pub write_token_env: String,
    /// `/readyz` and `/metrics` need the read token too (`/healthz` is always open).
    pub protect_metrics: bool,
}

/// How `/v1/*` is authenticated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApiAuth {
    #[default]
    Tokens,
    None,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            body_limit_kib: 1024,
            admin_token_env: None,
            header_timeout_seconds: 10,
            body_timeout_seconds: 30,
            idle_timeout_seconds: 60,
            max_connections: 512,
            shutdown_timeout_seconds: 10,
            max_future_skew_seconds: 300,
            max_attempts: 5,
            api_auth: ApiAuth::Tokens,
            read_token_env: "LEADWIRE_READ_TOKEN".into(),
            write_token_env: "LEADWIRE_WRITE_TOKEN".into(),
            protect_metrics: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// `hubspot`, `salesforce`, `pipedrive`, `generic` or `json`.
    pub adapter: Spanned<String>,
    /// The pipeline its events run through.
    pub pipeline: Spanned<String>,
    /// The environment variable holding the secret (never the secret itself).
    pub secret_env: Option<String>,
    /// Adapter settings (signature version, org id, JSON pointers…).
    #[serde(default)]
    pub options: toml::Table,
    /// The path the CRM calls, when it is not `/hooks/NAME` (which always
    /// works too); the URL the CRM signs is `server.public_url` + this path.
    pub path: Option<Spanned<String>>,
    /// Where this source's lead snapshots, dedup keys and decisions are kept
    /// (default: its name). Sources naming the same namespace share each
    /// lead's snapshot and history (a HubSpot app and a workflow, say).
    pub namespace: Option<Spanned<String>>,
    /// What to write back to the CRM, and through which connection.
    pub write: Option<WriteConfig>,
    /// What to read from the CRM before deciding.
    pub read: Option<ReadConfig>,
    /// The CRM status meaning sales accepted or rejected a lead.
    pub lead_status: Option<LeadStatusConfig>,
}

impl SourceConfig {
    /// The namespace its leads are kept under.
    pub fn namespace_or<'a>(&'a self, name: &'a str) -> &'a str {
        self.namespace
            .as_ref()
            .map_or(name, |n| n.get_ref().as_str())
    }

    /// The path it is served on besides `/hooks/NAME`.
    pub fn path(&self) -> Option<&str> {
        self.path.as_ref().map(|p| p.get_ref().as_str())
    }
}

/// Paths the server keeps for itself.
const RESERVED_PATHS: [&str; 5] = ["/v1/", "/admin/", "/healthz", "/readyz", "/metrics"];

pub const CAPABILITIES: [&str; 3] = ["state", "directory", "accounts"];

impl Config {
    /// Read and check a config file. Errors name the file and line.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&source, path)
    }

    pub fn parse(source: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(source).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        config.path = path.to_path_buf();
        config.source = source.to_string();
        config.check()?;
        config.read_config_files()?;
        Ok(config)
    }

    /// Merge each plugin's `config_file` under its inline `config`.
    fn read_config_files(&mut self) -> Result<(), ConfigError> {
        let base = self.base_dir().to_path_buf();
        let mut problems = Vec::new();
        for (name, plugin) in &mut self.plugins {
            let Some(file) = &plugin.config_file else {
                continue;
            };
            let path = base.join(file.get_ref());
            let read = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
                .and_then(|text| {
                    text.parse::<toml::Table>()
                        .map_err(|e| format!("{}: {e}", path.display()))
                });
            match read {
                Ok(mut table) => {
                    table.extend(std::mem::take(&mut plugin.config));
                    plugin.config = table;
                }
                Err(message) => problems.push((
                    file.span(),
                    format!("plugins.{name}.config_file: {message}"),
                )),
            }
        }
        match problems.into_iter().next() {
            Some((span, message)) => Err(self.invalid(span, message)),
            None => Ok(()),
        }
    }

    /// The folder plugin paths are relative to.
    pub fn base_dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    pub fn plugin_path(&self, plugin: &PluginConfig) -> PathBuf {
        self.base_dir().join(plugin.path.get_ref())
    }

    fn invalid(&self, span: std::ops::Range<usize>, message: String) -> ConfigError {
        let line = self.source[..span.start.min(self.source.len())]
            .matches('\n')
            .count()
            + 1;
        ConfigError::Invalid {
            path: self.path.display().to_string(),
            line,
            message,
        }
    }

    /// Cross-references: every name the file uses must exist.
    fn check(&self) -> Result<(), ConfigError> {
        for (name, plugin) in &self.plugins {
            for grant in &plugin.grants {
                if !CAPABILITIES.contains(&grant.get_ref().as_str()) {
                    return Err(self.invalid(
                        grant.span(),
                        format!(
                            "plugins.{name}.grants: unknown capability `{}` (grantable: state, directory, accounts; log and config are always given)",
                            grant.get_ref()
                        ),
                    ));
                }
            }
            if let Some(sha) = &plugin.sha256 {
                if sha.len() != 64 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(self.invalid(
                        plugin.path.span(),
                        format!("plugins.{name}.sha256: `{sha}` is not 64 hex digits"),
                    ));
                }
            }
            self.check_limits(
                &format!("plugins.{name}.limits"),
                &plugin.limits,
                plugin.path.span(),
            )?;
        }
        self.check_limits("limits", &self.limits, 0..0)?;
        for (name, pipeline) in &self.pipelines {
            if pipeline.steps.is_empty() {
                return Err(ConfigError::Parse {
                    path: self.path.display().to_string(),
                    message: format!("pipelines.{name}: a pipeline needs at least one step"),
                });
            }
            let mut step_names = Vec::new();
            for (i, step) in pipeline.steps.iter().enumerate() {
                let plugin = step.plugin.get_ref();
                if !self.plugins.contains_key(plugin) {
                    let known: Vec<_> = self.plugins.keys().map(String::as_str).collect();
                    return Err(self.invalid(
                        step.plugin.span(),
                        format!(
                            "pipelines.{name}.steps[{i}].plugin: no plugin named `{plugin}` (defined: {})",
                            if known.is_empty() { "none".to_string() } else { known.join(", ") }
                        ),
                    ));
                }
                let step_name = step.name.clone().unwrap_or_else(|| plugin.clone());
                if step_names.contains(&step_name) {
                    return Err(self.invalid(
                        step.plugin.span(),
                        format!(
                            "pipelines.{name}.steps[{i}]: a second step named `{step_name}`: give one of them a `name`"
                        ),
                    ));
                }
                step_names.push(step_name);
            }
        }
        let mut paths: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, source) in &self.sources {
            let pipeline = source.pipeline.get_ref();
            if !self.pipelines.contains_key(pipeline) {
                return Err(self.invalid(
                    source.pipeline.span(),
                    format!("sources.{name}.pipeline: no pipeline named `{pipeline}`"),
                ));
            }
            if let Some(path) = &source.path {
                let p = path.get_ref().as_str();
                let problem = if !p.starts_with('/') || p.len() < 2 {
                    Some("must start with `/` and name a path, like \"/webhooks/hubspot\"".into())
                } else if p.contains(['?', '#', ' ']) || p.contains("//") {
                    Some("must be a plain path (no query, fragment, space or `//`)".into())
                } else if let Some(r) = RESERVED_PATHS
                    .iter()
                    .find(|r| p.starts_with(**r) || **r == format!("{p}/"))
                {
                    Some(format!("`{r}` is the server's own"))
                } else if let Some(other) = p
                    .strip_prefix("/hooks/")
                    .filter(|rest| *rest != name && self.sources.contains_key(*rest))
                {
                    Some(format!("it is source `{other}`'s /hooks/{other}"))
                } else if let Some(other) = paths.insert(p, name) {
                    Some(format!("source `{other}` is served on it too"))
                } else {
                    None
                };
                if let Some(problem) = problem {
                    return Err(self.invalid(
                        path.span(),
                        format!("sources.{name}.path = \"{p}\": {problem}"),
                    ));
                }
            }
            if let Some(ns) = &source.namespace {
                let n = ns.get_ref();
                if n.is_empty()
                    || !n
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                {
                    return Err(self.invalid(
                        ns.span(),
                        format!(
                            "sources.{name}.namespace = \"{n}\": use letters, digits, `-`, `_` \
                             and `.`"
                        ),
                    ));
                }
            }
        }
        for (name, c) in &self.connections {
            if !connections::KINDS.contains(&c.kind.get_ref().as_str()) {
                return Err(self.invalid(
                    c.kind.span(),
                    format!(
                        "connections.{name}.kind = \"{}\": leadwire writes to {}",
                        c.kind.get_ref(),
                        connections::KINDS.join(", ")
                    ),
                ));
            }
        }
        for (name, source) in &self.sources {
            let Some(read) = &source.read else { continue };
            let connection = read.connection.get_ref();
            if !self.connections.contains_key(connection) {
                return Err(self.invalid(
                    read.connection.span(),
                    format!("sources.{name}.read.connection: no [connections.{connection}]"),
                ));
            }
            if self.connections[connection].kind.get_ref() == "webhook" {
                return Err(self.invalid(
                    read.connection.span(),
                    format!(
                        "sources.{name}.read.connection: `{connection}` is a webhook, which has \
                         nothing to read; read from a hubspot, salesforce or pipedrive connection"
                    ),
                ));
            }
            if read.properties.is_empty() {
                return Err(self.invalid(
                    read.connection.span(),
                    format!("sources.{name}.read.properties: name the CRM properties to read"),
                ));
            }
            if read.timeout_ms == 0 || read.timeout_ms > 4_500 {
                return Err(self.invalid(
                    read.connection.span(),
                    format!(
                        "sources.{name}.read.timeout_ms = {}: between 1 and 4500 (HubSpot waits 5 s \
                         for the webhook's answer)",
                        read.timeout_ms
                    ),
                ));
            }
        }
        for (name, source) in &self.sources {
            let Some(write) = &source.write else { continue };
            let connection = write.connection.get_ref();
            if let Some(c) = self.connections.get(connection) {
                if matches!(c.kind.get_ref().as_str(), "slack" | "teams") {
                    return Err(self.invalid(
                        write.connection.span(),
                        format!(
                            "sources.{name}.write.connection: `{connection}` is a {} connection, \
                             for [alerts.NAME]; decisions are written to a CRM or a webhook",
                            c.kind.get_ref()
                        ),
                    ));
                }
            }
            if !self.connections.contains_key(connection) {
                let known: Vec<&str> = self.connections.keys().map(String::as_str).collect();
                return Err(self.invalid(
                    write.connection.span(),
                    format!(
                        "sources.{name}.write.connection: no [connections.{connection}] (connections: {})",
                        if known.is_empty() { "none".into() } else { known.join(", ") }
                    ),
                ));
            }
            if write.owner.is_some() {
                // Writing a rep id where the CRM wants its owner id would fail
                // for every lead: say which reps lack one, now.
                let missing: Vec<&str> = self
                    .directory
                    .reps
                    .iter()
                    .filter(|(_, rep)| !rep.owner_ids.contains_key(connection))
                    .map(|(id, _)| id.as_str())
                    .collect();
                if !missing.is_empty() {
                    return Err(self.invalid(
                        write.connection.span(),
                        format!(
                            "sources.{name}.write.owner: reps without an owner id for connection \
                             `{connection}`: {} (set [directory.reps.REP] owner_ids = {{ {connection} = \"…\" }})",
                            missing.join(", ")
                        ),
                    ));
                }
            }
        }
        for (team, config) in &self.directory.teams {
            for rep in &config.reps {
                if !self.directory.reps.contains_key(rep.get_ref()) {
                    return Err(self.invalid(
                        rep.span(),
                        format!(
                            "directory.teams.{team}.reps: no rep `{}` in [directory.reps]",
                            rep.get_ref()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_limits(
        &self,
        at: &str,
        limits: &LimitsConfig,
        span: std::ops::Range<usize>,
    ) -> Result<(), ConfigError> {
        let max_memory = MAX_MEMORY_MIB;
        if let Some(m) = limits.memory_mib {
            if m == 0 || m > max_memory {
                return Err(self.invalid(
                    span,
                    format!("{at}.memory_mib: {m} is out of range (1 to {max_memory})"),
                ));
            }
        }
        if limits.timeout_ms == Some(0) {
            return Err(self.invalid(span, format!("{at}.timeout_ms: must be at least 1")));
        }
        Ok(())
    }
}

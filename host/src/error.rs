//! Errors users see: a plugin call that failed (kept in the decision record), and
//! a configuration or plugin that cannot be loaded (refused at startup and by
//! `leadwire validate`).

use serde::{Deserialize, Serialize};

/// Why a plugin call failed. The `kind` names are stable: they appear in decision
/// records, logs and metrics.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum CallError {
    #[error(
        "fuel exhausted: used {used} of its {limit} fuel (raise `limits.fuel` or simplify the plugin)"
    )]
    FuelExhausted { used: u64, limit: u64 },
    #[error(
        "memory limit: the plugin tried to grow its memory to {requested} bytes, over its limit of {limit} bytes"
    )]
    MemoryLimit { requested: u64, limit: u64 },
    #[error("timeout: the call ran past its {limit_ms} ms wall-clock limit")]
    Timeout { limit_ms: u64 },
    #[error("trap: {message}")]
    Trap { message: String },
    #[error("invalid verdict: {message}")]
    InvalidVerdict { message: String },
    /// The verdict's JSON is over the limit (`size` known), or the plugin
    /// handed the host more than `limit` bytes in one transfer (refused while
    /// copying, so `size` is not known).
    #[error("output too large: {}", too_large(*size, *limit))]
    OutputTooLarge {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
        limit: u64,
    },
    /// The plugin went past a quota of its install (capability calls per
    /// call, state keys or bytes).
    #[error("quota exceeded: {message}")]
    QuotaExceeded { message: String },
    /// The plugin returned an error itself (a bad config, say).
    #[error("plugin error: {message}")]
    PluginError { message: String },
    /// The host could not serve the call (a capability's backend failed).
    #[error("host error: {message}")]
    HostError { message: String },
}

impl CallError {
    /// The stable kind name, e.g. `fuel-exhausted`.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::FuelExhausted { .. } => "fuel-exhausted",
            CallError::MemoryLimit { .. } => "memory-limit",
            CallError::Timeout { .. } => "timeout",
            CallError::Trap { .. } => "trap",
            CallError::InvalidVerdict { .. } => "invalid-verdict",
            CallError::OutputTooLarge { .. } => "output-too-large",
            CallError::QuotaExceeded { .. } => "quota-exceeded",
            CallError::PluginError { .. } => "plugin-error",
            CallError::HostError { .. } => "host-error",
        }
    }

    /// A failure that may pass on a retry (the machine was busy, a backend was
    /// down), as opposed to the plugin's own answer for this input: a transient
    /// failure is never recorded as a lead's final decision.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            CallError::Timeout { .. } | CallError::HostError { .. }
        )
    }
}

fn too_large(size: Option<u64>, limit: u64) -> String {
    match size {
        Some(size) => format!("the verdict is {size} bytes, over the {limit}-byte limit"),
        None => format!(
            "the plugin handed the host more than {limit} bytes in one transfer (the verdict or a capability call's arguments)"
        ),
    }
}

/// A capability refused a call because of what the plugin asked (a quota, a
/// key too long): the plugin's fault, reported with the plugin's kinds, never
/// as `host-error`.
#[derive(Debug, thiserror::Error)]
pub enum PluginFault {
    #[error("{0}")]
    Quota(String),
    #[error("{0}")]
    BadRequest(String),
}

/// Why a plugin could not be loaded. Each names the plugin install and says what
/// to do.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("plugin `{plugin}`: cannot read {path}: {source}")]
    Read {
        plugin: String,
        path: String,
        source: std::io::Error,
    },
    #[error(
        "plugin `{plugin}`: sha256 mismatch for {path}: the config pins {expected} but the file is {actual}"
    )]
    Sha256Mismatch {
        plugin: String,
        path: String,
        expected: String,
        actual: String,
    },
    #[error("plugin `{plugin}`: {path} is not a valid WebAssembly component: {message}")]
    Compile {
        plugin: String,
        path: String,
        message: String,
    },
    #[error(
        "plugin `{plugin}`: missing grant: the component imports the `{capability}` capability, which its install does not grant (add \"{capability}\" to `grants` if you trust it with that)"
    )]
    MissingGrant { plugin: String, capability: String },
    #[error(
        "plugin `{plugin}`: unsupported api version: it uses `{interface}`, but this host supports leadwire:plugin versions {supported}"
    )]
    UnsupportedApiVersion {
        plugin: String,
        interface: String,
        supported: String,
    },
    #[error(
        "plugin `{plugin}`: mixes contract versions: it uses `{first}` and `{second}`; build it against one leadwire:plugin version"
    )]
    MixedApiVersions {
        plugin: String,
        first: String,
        second: String,
    },
    #[error("plugin `{plugin}`: imports `{import}`, which leadwire does not provide")]
    UnknownImport { plugin: String, import: String },
    #[error(
        "plugin `{plugin}`: imports `{import}`, a WASI interface leadwire does not provide (plugins get no network): build it without that import (componentize-js: disable the `http` and `fetch-event` features)"
    )]
    UnprovidedImport { plugin: String, import: String },
    #[error("plugin `{plugin}`: exports none of the roles scoring, segmentation, routing, nurture")]
    NoRoles { plugin: String },
    #[error("plugin `{plugin}`: cannot be linked: {message}")]
    Link { plugin: String, message: String },
    #[error("plugin `{plugin}`: cannot be pre-initialised: {message}")]
    Init { plugin: String, message: String },
}

impl LoadError {
    /// The stable kind name, e.g. `missing-grant`.
    pub fn kind(&self) -> &'static str {
        match self {
            LoadError::Read { .. } => "read",
            LoadError::Sha256Mismatch { .. } => "sha256-mismatch",
            LoadError::Compile { .. } => "compile",
            LoadError::MissingGrant { .. } => "missing-grant",
            LoadError::UnsupportedApiVersion { .. } => "unsupported-api-version",
            LoadError::MixedApiVersions { .. } => "mixed-api-versions",
            LoadError::UnknownImport { .. } => "unknown-import",
            LoadError::UnprovidedImport { .. } => "unprovided-import",
            LoadError::NoRoles { .. } => "no-roles",
            LoadError::Link { .. } => "link",
            LoadError::Init { .. } => "init",
        }
    }
}

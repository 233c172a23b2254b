//! Loading a plugin: read, pin-check, compile, inspect its exports and imports
//! against the contract and its grants, link, and pre-instantiate. Everything
//! that can be done once happens here, not per call.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::{Component, HasSelf, InstancePre, Linker};

use super::call::CallState;
use super::{Limits, Role, WIT_VERSION};
use crate::bindings::{self, nurture, routing, scoring, segmentation};
use crate::capabilities::Capabilities;
use crate::error::LoadError;

const CONTRACT: &str = "leadwire:plugin/";
/// The WASI interfaces the linker serves (empty or frozen: see `linker`).
const PROVIDED_WASI: &[&str] = &[
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:cli/",
    "wasi:filesystem/",
    "wasi:sockets/",
];

/// What a component is, read from its bytes alone (`leadwire plugin inspect`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PluginInfo {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub wit_version: String,
    pub roles: Vec<Role>,
    /// leadwire capabilities the component imports (`log`, `config`, `state`...).
    pub capabilities: Vec<String>,
    /// WASI interfaces it imports (served empty: no files, env, network or clock).
    pub wasi: Vec<String>,
    /// It exports `wizer-initialize`: the host runs it once per install and
    /// starts every instance from the snapshot.
    pub init: bool,
}

/// A loaded plugin install, ready to call.
pub struct Plugin {
    pub name: String,
    pub info: PluginInfo,
    pub grants: Vec<String>,
    pub limits: Limits,
    /// The install's config table as JSON, handed out by the `config` capability.
    pub config_json: Arc<str>,
    /// Its instances start from a snapshot of its init (`preinit`).
    pub preinitialised: bool,
    pub(super) pre: InstancePre<CallState>,
    pub(super) scoring: Option<scoring::GuestIndices>,
    pub(super) segmentation: Option<segmentation::GuestIndices>,
    pub(super) routing: Option<routing::GuestIndices>,
    pub(super) nurture: Option<nurture::GuestIndices>,
}

/// The settings of one install, from the config file.
pub struct Install<'a> {
    pub name: &'a str,
    pub path: &'a Path,
    pub sha256: Option<&'a str>,
    pub grants: &'a [String],
    pub limits: Limits,
    pub config_json: String,
}

fn read(plugin: &str, path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|source| LoadError::Read {
        plugin: plugin.to_string(),
        path: path.display().to_string(),
        source,
    })
}

fn compile(
    engine: &Engine,
    plugin: &str,
    path: &Path,
    bytes: &[u8],
) -> Result<Component, LoadError> {
    Component::new(engine, bytes).map_err(|e| LoadError::Compile {
        plugin: plugin.to_string(),
        path: path.display().to_string(),
        message: format!("{e:#}"),
    })
}

/// Split `leadwire:plugin/scoring@0.1.0` into (`scoring`, `0.1.0`).
fn contract_interface(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix(CONTRACT)?;
    Some(rest.split_once('@').unwrap_or((rest, "")))
}

fn describe(
    engine: &Engine,
    plugin: &str,
    path: &Path,
    bytes: &[u8],
    component: &Component,
) -> Result<PluginInfo, LoadError> {
    let ty = component.component_type();
    let unsupported = |interface: &str| LoadError::UnsupportedApiVersion {
        plugin: plugin.to_string(),
        interface: interface.to_string(),
        supported: WIT_VERSION.to_string(),
    };
    let mut roles = Vec::new();
    let mut init = false;
    for (name, _) in ty.exports(engine) {
        init |= name == super::preinit::INIT_EXPORT;
        let Some((interface, version)) = contract_interface(name) else {
            continue;
        };
        if version != WIT_VERSION {
            return Err(unsupported(name));
        }
        if let Some(role) = Role::parse(interface) {
            roles.push(role);
        }
    }
    let mut capabilities = Vec::new();
    let mut wasi = Vec::new();
    for (name, _) in ty.imports(engine) {
        if let Some((interface, version)) = contract_interface(name) {
            if version != WIT_VERSION {
                return Err(unsupported(name));
            }
            if interface != "types" {
                capabilities.push(interface.to_string());
            }
        } else if PROVIDED_WASI.iter().any(|p| name.starts_with(p)) {
            wasi.push(name.to_string());
        } else if name.starts_with("wasi:") {
            return Err(LoadError::UnprovidedImport {
                plugin: plugin.to_string(),
                import: name.to_string(),
            });
        } else {
            return Err(LoadError::UnknownImport {
                plugin: plugin.to_string(),
                import: name.to_string(),
            });
        }
    }
    roles.sort();
    Ok(PluginInfo {
        path: path.to_path_buf(),
        size: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(bytes)),
        wit_version: WIT_VERSION.to_string(),
        roles,
        capabilities,
        wasi,
        init,
    })
}

/// Inspect a component file without installing it.
pub fn inspect_file(engine: &Engine, path: &Path) -> Result<PluginInfo, LoadError> {
    let name = path.display().to_string();
    let bytes = read(&name, path)?;
    let component = compile(engine, &name, path, &bytes)?;
    describe(engine, &name, path, &bytes, &component)
}

impl Plugin {
    pub fn load(engine: &Engine, install: Install<'_>) -> Result<Plugin, LoadError> {
        let name = install.name;
        let path = install.path;
        let bytes = read(name, path)?;
        let actual = hex::encode(Sha256::digest(&bytes));
        if let Some(expected) = install.sha256 {
            if !expected.eq_ignore_ascii_case(&actual) {
                return Err(LoadError::Sha256Mismatch {
                    plugin: name.to_string(),
                    path: path.display().to_string(),
                    expected: expected.to_string(),
                    actual,
                });
            }
        }
        let component = compile(engine, name, path, &bytes)?;
        let info = describe(engine, name, path, &bytes, &component)?;
        if info.roles.is_empty() {
            return Err(LoadError::NoRoles {
                plugin: name.to_string(),
            });
        }
        for capability in &info.capabilities {
            let always = capability == "log" || capability == "config";
            if !always && !install.grants.contains(capability) {
                return Err(LoadError::MissingGrant {
                    plugin: name.to_string(),
                    capability: capability.clone(),
                });
            }
        }

        let link_error = |e: wasmtime::Error| LoadError::Link {
            plugin: name.to_string(),
            message: format!("{e:#}"),
        };
        let linker = linker(engine, install.grants).map_err(link_error)?;
        let config_json: Arc<str> = install.config_json.into();
        // A fresh instance of the snapshot starts where the init left off.
        let snapshot = super::preinit::snapshot(
            engine,
            &linker,
            name,
            &info,
            &bytes,
            &install.limits,
            &config_json,
        )?;
        let preinitialised = snapshot.is_some();
        let component = match snapshot {
            Some(snapshot) => compile(engine, name, path, &snapshot)?,
            None => component,
        };
        let pre = linker.instantiate_pre(&component).map_err(link_error)?;
        let has = |role| info.roles.contains(&role);
        Ok(Plugin {
            name: name.to_string(),
            scoring: has(Role::Scoring)
                .then(|| scoring::GuestIndices::new(&pre))
                .transpose()
                .map_err(link_error)?,
            segmentation: has(Role::Segmentation)
                .then(|| segmentation::GuestIndices::new(&pre))
                .transpose()
                .map_err(link_error)?,
            routing: has(Role::Routing)
                .then(|| routing::GuestIndices::new(&pre))
                .transpose()
                .map_err(link_error)?,
            nurture: has(Role::Nurture)
                .then(|| nurture::GuestIndices::new(&pre))
                .transpose()
                .map_err(link_error)?,
            pre,
            info,
            grants: install.grants.to_vec(),
            limits: install.limits,
            config_json,
            preinitialised,
        })
    }
}

/// WASI (empty: no files, env, args, network, real clock), `log`, `config`, and
/// only the granted capabilities. An ungranted import fails `instantiate_pre`,
/// but `load` reports it first with a clearer message.
fn linker(engine: &Engine, grants: &[String]) -> wasmtime::Result<Linker<CallState>> {
    use bindings::leadwire::plugin as caps;
    let mut linker = Linker::<CallState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    super::clock::add_frozen_monotonic_clock(&mut linker)?;
    caps::types::add_to_linker::<_, HasSelf<Capabilities>>(&mut linker, |s| &mut s.caps)?;
    caps::log::add_to_linker::<_, HasSelf<Capabilities>>(&mut linker, |s| &mut s.caps)?;
    caps::config::add_to_linker::<_, HasSelf<Capabilities>>(&mut linker, |s| &mut s.caps)?;
    for grant in grants {
        match grant.as_str() {
            "state" => caps::state::add_to_linker::<_, HasSelf<Capabilities>>(&mut linker, |s| {
                &mut s.caps
            })?,
            "directory" => {
                caps::directory::add_to_linker::<_, HasSelf<Capabilities>>(&mut linker, |s| {
                    &mut s.caps
                })?
            }
            "accounts" => {
                caps::accounts::add_to_linker::<_, HasSelf<Capabilities>>(&mut linker, |s| {
                    &mut s.caps
                })?
            }
            other => wasmtime::bail!("unknown capability `{other}`"),
        }
    }
    Ok(linker)
}

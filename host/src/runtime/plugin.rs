//! Loading a plugin: read, pin-check, compile, inspect its exports and imports
//! against the contract and its grants, link, and pre-instantiate. Everything
//! that can be done once happens here, not per call.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::{Component, HasSelf, InstancePre, Linker};

use super::call::CallState;
use super::exports::{Exports, WIT_VERSIONS};
use super::{Limits, Role};
use crate::bindings;
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
    /// The contract version it was built against (`0.2.0`).
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
    pub(super) exports: Exports,
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
        supported: WIT_VERSIONS.join(", "),
    };
    // Every contract interface a component uses is of one version: the
    // first one seen, which the rest must match.
    let mut version: Option<(&'static str, String)> = None;
    let mut check_version = |name: &str, v: &str| -> Result<(), LoadError> {
        let Some(&known) = WIT_VERSIONS.iter().find(|known| **known == v) else {
            return Err(unsupported(name));
        };
        match version {
            None => version = Some((known, name.to_string())),
            Some((seen, ref first)) if seen != known => {
                return Err(LoadError::MixedApiVersions {
                    plugin: plugin.to_string(),
                    first: first.to_string(),
                    second: name.to_string(),
                });
            }
            Some(_) => {}
        }
        Ok(())
    };
    let mut roles = Vec::new();
    let mut init = false;
    let exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    for name in &exports {
        init |= name == super::preinit::INIT_EXPORT;
        let Some((interface, v)) = contract_interface(name) else {
            continue;
        };
        check_version(name, v)?;
        if let Some(role) = Role::parse(interface) {
            roles.push(role);
        }
    }
    let mut capabilities = Vec::new();
    let mut wasi = Vec::new();
    let imports: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    for name in &imports {
        if let Some((interface, v)) = contract_interface(name) {
            check_version(name, v)?;
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
    let wit_version = version.map_or(super::WIT_VERSION, |(v, _)| v);
    roles.sort();
    Ok(PluginInfo {
        path: path.to_path_buf(),
        size: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(bytes)),
        wit_version: wit_version.to_string(),
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
        let linker = linker(engine, &info, install.grants).map_err(link_error)?;
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
        let exports = Exports::new(&info.wit_version, &pre, &info.roles).map_err(link_error)?;
        Ok(Plugin {
            name: name.to_string(),
            exports,
            pre,
            info,
            grants: install.grants.to_vec(),
            limits: install.limits,
            config_json,
            preinitialised,
        })
    }
}

/// WASI (empty: no files, env, args, network, real clock) for a component
/// that imports any, and its contract version's `log`, `config` and only the
/// granted capabilities. An ungranted import fails `instantiate_pre`, but
/// `load` reports it first with a clearer message.
fn linker(
    engine: &Engine,
    info: &PluginInfo,
    grants: &[String],
) -> wasmtime::Result<Linker<CallState>> {
    let mut linker = Linker::<CallState>::new(engine);
    // A guest built without WASI (componentize-js with its features off,
    // wasm32-unknown-unknown) gets none linked.
    if !info.wasi.is_empty() {
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        super::clock::add_frozen_monotonic_clock(&mut linker)?;
    }
    // The same for each version, through that version's bindings.
    macro_rules! capabilities {
        ($caps:path) => {{
            use $caps as caps;
            caps::log::add_to_linker::<_, HasSelf<Capabilities>>(&mut linker, |s| &mut s.caps)?;
            caps::config::add_to_linker::<_, HasSelf<Capabilities>>(&mut linker, |s| &mut s.caps)?;
            for grant in grants {
                match grant.as_str() {
                    "state" => {
                        caps::state::add_to_linker::<_, HasSelf<Capabilities>>(&mut linker, |s| {
                            &mut s.caps
                        })?
                    }
                    "directory" => caps::directory::add_to_linker::<_, HasSelf<Capabilities>>(
                        &mut linker,
                        |s| &mut s.caps,
                    )?,
                    "accounts" => caps::accounts::add_to_linker::<_, HasSelf<Capabilities>>(
                        &mut linker,
                        |s| &mut s.caps,
                    )?,
                    other => wasmtime::bail!("unknown capability `{other}`"),
                }
            }
        }};
    }
    match info.wit_version.as_str() {
        "0.1.0" => {
            use bindings::v0_1_0::leadwire::plugin::types;
            types::add_to_linker::<_, HasSelf<Capabilities>>(&mut linker, |s| &mut s.caps)?;
            capabilities!(bindings::v0_1_0::leadwire::plugin);
        }
        _ => {
            // 0.2.0's `types` are 0.1.0's (bindings/v0_2_0.rs): an interface
            // of types alone, whose instance has nothing to define.
            linker.instance("leadwire:plugin/types@0.2.0")?;
            capabilities!(bindings::v0_2_0::leadwire::plugin);
        }
    }
    Ok(linker)
}

//! `state`: namespaced key-value state with atomic increment and
//! compare-and-swap. The namespace is the plugin install's name, so two installs
//! never see each other's keys. Backends implement [`StateStore`].

use std::collections::HashMap;
use std::sync::Mutex;

use super::Capabilities;
use crate::bindings::leadwire::plugin::state::Host;
use crate::error::PluginFault;

/// The largest state key and value a plugin may store.
pub const MAX_STATE_KEY: usize = 512;
pub const MAX_STATE_VALUE: usize = 64 * 1024;

/// What one install may keep in `state`: keys, and bytes of keys plus values.
#[derive(Debug, Clone, Copy)]
pub struct StateQuotas {
    pub keys: u64,
    pub bytes: u64,
}

/// A state backend failed; the call traps and its step fails.
#[derive(Debug, thiserror::Error)]
#[error("state store: {0}")]
pub struct StateError(pub String);

pub type StateResult<T> = Result<T, StateError>;

/// What one install holds: its keys, and the bytes of its keys and values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub keys: u64,
    pub bytes: u64,
}

/// Plugin state storage. Every operation is atomic per key.
pub trait StateStore: Send + Sync {
    /// What `namespace` holds now, for its quotas.
    fn usage(&self, namespace: &str) -> StateResult<Usage>;
    fn get(&self, namespace: &str, key: &str) -> StateResult<Option<String>>;
    fn set(&self, namespace: &str, key: &str, value: &str) -> StateResult<()>;
    fn delete(&self, namespace: &str, key: &str) -> StateResult<()>;
    /// Add `delta` to the integer at `key` (missing is 0); the new value.
    fn increment(&self, namespace: &str, key: &str, delta: i64) -> StateResult<i64>;
    /// Set to `new` if the current value is `expected` (`None`: absent).
    fn compare_and_swap(
        &self,
        namespace: &str,
        key: &str,
        expected: Option<&str>,
        new: &str,
    ) -> StateResult<bool>;
}

/// In-process state: `leadwire run`'s default, and bulk runs' sandbox.
#[derive(Default)]
pub struct MemoryState {
    map: Mutex<HashMap<(String, String), String>>,
}

impl StateStore for MemoryState {
    fn usage(&self, namespace: &str) -> StateResult<Usage> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let mut usage = Usage::default();
        for ((ns, key), value) in map.iter() {
            if ns == namespace {
                usage.keys += 1;
                usage.bytes += (key.len() + value.len()) as u64;
            }
        }
        Ok(usage)
    }

    fn get(&self, namespace: &str, key: &str) -> StateResult<Option<String>> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map.get(&(namespace.to_string(), key.to_string())).cloned())
    }

    fn set(&self, namespace: &str, key: &str, value: &str) -> StateResult<()> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.insert((namespace.into(), key.into()), value.into());
        Ok(())
    }

    fn delete(&self, namespace: &str, key: &str) -> StateResult<()> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&(namespace.to_string(), key.to_string()));
        Ok(())
    }

    fn increment(&self, namespace: &str, key: &str, delta: i64) -> StateResult<i64> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let slot = map
            .entry((namespace.into(), key.into()))
            .or_insert_with(|| "0".into());
        let current: i64 = slot
            .parse()
            .map_err(|_| StateError(format!("key `{key}` holds `{slot}`, not an integer")))?;
        let new = current
            .checked_add(delta)
            .ok_or_else(|| StateError(format!("key `{key}` would overflow")))?;
        *slot = new.to_string();
        Ok(new)
    }

    fn compare_and_swap(
        &self,
        namespace: &str,
        key: &str,
        expected: Option<&str>,
        new: &str,
    ) -> StateResult<bool> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let k = (namespace.to_string(), key.to_string());
        if map.get(&k).map(String::as_str) != expected {
            return Ok(false);
        }
        map.insert(k, new.into());
        Ok(true)
    }
}

/// Keys and values a plugin may store: bounded so state cannot be used to
/// exhaust the host.
fn check(key: &str, value: Option<&str>) -> wasmtime::Result<()> {
    if key.len() > MAX_STATE_KEY {
        return Err(PluginFault::BadRequest(format!(
            "state key of {} bytes is over the {MAX_STATE_KEY}-byte limit",
            key.len()
        ))
        .into());
    }
    if let Some(v) = value {
        if v.len() > MAX_STATE_VALUE {
            return Err(PluginFault::BadRequest(format!(
                "state value of {} bytes is over the {MAX_STATE_VALUE}-byte limit",
                v.len()
            ))
            .into());
        }
    }
    Ok(())
}

impl Capabilities {
    /// Refuse a write that would take the install past its key or byte quota.
    /// The usage is read once per call, at its first write, and kept up to
    /// date (an upper bound) by this call's writes; only near a quota is the
    /// key's current value read, so an overwrite at the quota still passes.
    fn admit_write(&mut self, key: &str, new_len: usize) -> wasmtime::Result<()> {
        let namespace = self.ctx.namespace.clone();
        let usage = match self.state_usage {
            Some(usage) => usage,
            None => self.ctx.env.state.usage(&namespace)?,
        };
        let (max_keys, max_bytes) = (self.state_quotas.keys, self.state_quotas.bytes);
        let added = (key.len() + new_len) as u64;
        let mut next = Usage {
            keys: usage.keys + 1,
            bytes: usage.bytes + added,
        };
        if next.keys > max_keys || next.bytes > max_bytes {
            // Near a quota: an existing key adds no key and only its growth.
            if let Some(old) = self.ctx.env.state.get(&namespace, key)? {
                next = Usage {
                    keys: usage.keys,
                    bytes: (usage.bytes + added).saturating_sub((key.len() + old.len()) as u64),
                };
            }
        }
        if next.keys > max_keys {
            return Err(PluginFault::Quota(format!(
                "state: a new key would take the install past its {max_keys} keys (limits.state_keys)"
            ))
            .into());
        }
        if next.bytes > max_bytes {
            return Err(PluginFault::Quota(format!(
                "state: writing `{key}` would take the install past its {} KiB (limits.state_kib)",
                max_bytes >> 10
            ))
            .into());
        }
        self.state_usage = Some(next);
        Ok(())
    }
}

impl Host for Capabilities {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        self.host_call("state.get", |s| {
            check(&key, None)?;
            Ok(s.ctx.env.state.get(&s.ctx.namespace, &key)?)
        })
    }

    fn set(&mut self, key: String, value: String) -> wasmtime::Result<()> {
        self.host_call("state.set", |s| {
            check(&key, Some(&value))?;
            s.admit_write(&key, value.len())?;
            Ok(s.ctx.env.state.set(&s.ctx.namespace, &key, &value)?)
        })
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        self.host_call("state.delete", |s| {
            check(&key, None)?;
            Ok(s.ctx.env.state.delete(&s.ctx.namespace, &key)?)
        })
    }

    fn increment(&mut self, key: String, delta: i64) -> wasmtime::Result<i64> {
        self.host_call("state.increment", |s| {
            check(&key, None)?;
            // An i64 is at most 20 digits.
            s.admit_write(&key, 20)?;
            Ok(s.ctx.env.state.increment(&s.ctx.namespace, &key, delta)?)
        })
    }

    fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<String>,
        new: String,
    ) -> wasmtime::Result<bool> {
        self.host_call("state.compare-and-swap", |s| {
            check(&key, Some(&new))?;
            s.admit_write(&key, new.len())?;
            Ok(s.ctx.env.state.compare_and_swap(
                &s.ctx.namespace,
                &key,
                expected.as_deref(),
                &new,
            )?)
        })
    }
}

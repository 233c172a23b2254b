//! `state`: namespaced key-value state with atomic increment and
//! compare-and-swap. The namespace is the plugin install's name, so two installs
//! never see each other's keys. Backends implement [`StateStore`].

use std::collections::HashMap;
use std::sync::Mutex;

use crate::bindings::leadwire::plugin::state::Host;
use crate::runtime::CallState;

/// A state backend failed; the call traps and its step fails.
#[derive(Debug, thiserror::Error)]
#[error("state store: {0}")]
pub struct StateError(pub String);

pub type StateResult<T> = Result<T, StateError>;

/// Plugin state storage. Every operation is atomic per key.
pub trait StateStore: Send + Sync {
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
    fn get(&self, namespace: &str, key: &str) -> StateResult<Option<String>> {
        let map = self.map.lock().unwrap();
        Ok(map.get(&(namespace.to_string(), key.to_string())).cloned())
    }

    fn set(&self, namespace: &str, key: &str, value: &str) -> StateResult<()> {
        let mut map = self.map.lock().unwrap();
        map.insert((namespace.into(), key.into()), value.into());
        Ok(())
    }

    fn delete(&self, namespace: &str, key: &str) -> StateResult<()> {
        let mut map = self.map.lock().unwrap();
        map.remove(&(namespace.to_string(), key.to_string()));
        Ok(())
    }

    fn increment(&self, namespace: &str, key: &str, delta: i64) -> StateResult<i64> {
        let mut map = self.map.lock().unwrap();
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
        let mut map = self.map.lock().unwrap();
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
const MAX_KEY: usize = 512;
const MAX_VALUE: usize = 64 * 1024;

fn check(key: &str, value: Option<&str>) -> wasmtime::Result<()> {
    if key.len() > MAX_KEY {
        wasmtime::bail!(
            "state key of {} bytes is over the {MAX_KEY}-byte limit",
            key.len()
        );
    }
    if let Some(v) = value {
        if v.len() > MAX_VALUE {
            wasmtime::bail!(
                "state value of {} bytes is over the {MAX_VALUE}-byte limit",
                v.len()
            );
        }
    }
    Ok(())
}

impl Host for CallState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        check(&key, None)?;
        Ok(self.ctx.env.state.get(&self.ctx.namespace, &key)?)
    }

    fn set(&mut self, key: String, value: String) -> wasmtime::Result<()> {
        check(&key, Some(&value))?;
        Ok(self.ctx.env.state.set(&self.ctx.namespace, &key, &value)?)
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        check(&key, None)?;
        Ok(self.ctx.env.state.delete(&self.ctx.namespace, &key)?)
    }

    fn increment(&mut self, key: String, delta: i64) -> wasmtime::Result<i64> {
        check(&key, None)?;
        Ok(self
            .ctx
            .env
            .state
            .increment(&self.ctx.namespace, &key, delta)?)
    }

    fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<String>,
        new: String,
    ) -> wasmtime::Result<bool> {
        check(&key, Some(&new))?;
        Ok(self.ctx.env.state.compare_and_swap(
            &self.ctx.namespace,
            &key,
            expected.as_deref(),
            &new,
        )?)
    }
}

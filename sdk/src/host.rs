//! Host capabilities as safe functions.
//!
//! In a wasm build these call the host; in a native build (`cargo test`) they call
//! the [`crate::testing::FakeHost`] installed on the current thread. `log` and
//! `config` are always available; `state`, `directory` and `accounts` need a grant
//! in the plugin's install (`grants = ["state"]`), else the plugin fails to load.

pub use crate::bindings::leadwire::plugin::accounts::Account;
pub use crate::bindings::leadwire::plugin::directory::{Availability, Rep, Team};
pub use crate::bindings::leadwire::plugin::log::Level;

#[cfg(target_arch = "wasm32")]
use crate::bindings::leadwire::plugin as imports;

/// Write to the step's log in the decision record.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    imports::log::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::with_host(|h| h.log(level, message));
}

/// The install's config table, deserialised into the plugin's own type.
pub fn config<T: serde::de::DeserializeOwned>() -> crate::Result<T> {
    let json = config_json();
    let de = &mut serde_json::Deserializer::from_str(&json);
    serde_path_to_error::deserialize(de)
        .map_err(|e| crate::Error::msg(format!("invalid config at `{}`: {}", e.path(), e.inner())))
}

/// Run `f` with the install's config, parsed by `load` once per instance and
/// kept in `cell`: an install's config never changes while an instance lives,
/// and a host that pre-initialises the plugin ([`preload`]) or keeps instances
/// warm (bulk runs) skips the parse, most of a call's work. Natively (tests)
/// it is parsed once per [`crate::testing::FakeHost`], since each test has its
/// own config.
///
/// ```ignore
/// static CONFIG: std::sync::OnceLock<Config> = std::sync::OnceLock::new();
/// host::with_config(&CONFIG, Config::load, |config| score_with(config, input))
/// ```
pub fn with_config<T: Send + Sync + 'static, R>(
    cell: &'static std::sync::OnceLock<T>,
    load: fn() -> crate::Result<T>,
    f: impl FnOnce(&T) -> crate::Result<R>,
) -> crate::Result<R> {
    #[cfg(target_arch = "wasm32")]
    {
        if let Some(config) = cell.get() {
            return f(config);
        }
        let config = load()?;
        f(cell.get_or_init(|| config))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let key = cell as *const std::sync::OnceLock<T> as usize;
        let config = crate::testing::with_host(|h| h.parsed(key, load))?;
        f(&config)
    }
}

/// Parse the install's config into `cell` ahead of any call: a plugin's
/// `init` (`export!(MyPlugin: scoring, init = preload)`). The host runs it once
/// per install and snapshots the instance, so fresh instances start with the
/// config parsed and [`with_config`] finds it. A config that does not parse is
/// left for the first call to report, as a plugin error with its path.
///
/// ```ignore
/// fn preload() {
///     host::preload(&CONFIG, Config::load)
/// }
/// ```
pub fn preload<T: Send + Sync + 'static>(
    cell: &'static std::sync::OnceLock<T>,
    load: fn() -> crate::Result<T>,
) {
    #[cfg(target_arch = "wasm32")]
    if cell.get().is_none() {
        if let Ok(config) = load() {
            let _ = cell.set(config);
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (cell, load);
}

/// The install's config table as JSON text.
pub fn config_json() -> String {
    #[cfg(target_arch = "wasm32")]
    return imports::config::get();
    #[cfg(not(target_arch = "wasm32"))]
    return crate::testing::with_host(|h| h.config_json());
}

/// Namespaced key-value state (grant `state`).
pub mod state {
    #[cfg(target_arch = "wasm32")]
    use crate::bindings::leadwire::plugin::state as imp;

    pub fn get(key: &str) -> Option<String> {
        #[cfg(target_arch = "wasm32")]
        return imp::get(key);
        #[cfg(not(target_arch = "wasm32"))]
        return crate::testing::with_host(|h| h.state_get(key));
    }

    pub fn set(key: &str, value: &str) {
        #[cfg(target_arch = "wasm32")]
        imp::set(key, value);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_host(|h| h.state_set(key, value));
    }

    pub fn delete(key: &str) {
        #[cfg(target_arch = "wasm32")]
        imp::delete(key);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_host(|h| h.state_delete(key));
    }

    /// Atomically add `delta` to an integer (missing is 0); returns the new value.
    pub fn increment(key: &str, delta: i64) -> i64 {
        #[cfg(target_arch = "wasm32")]
        return imp::increment(key, delta);
        #[cfg(not(target_arch = "wasm32"))]
        return crate::testing::with_host(|h| h.state_increment(key, delta));
    }

    /// Set `key` to `new` if it currently holds `expected` (`None`: absent).
    pub fn compare_and_swap(key: &str, expected: Option<&str>, new: &str) -> bool {
        #[cfg(target_arch = "wasm32")]
        return imp::compare_and_swap(key, expected, new);
        #[cfg(not(target_arch = "wasm32"))]
        return crate::testing::with_host(|h| h.state_cas(key, expected, new));
    }
}

/// Reps and teams (grant `directory`).
pub mod directory {
    use super::{Rep, Team};
    #[cfg(target_arch = "wasm32")]
    use crate::bindings::leadwire::plugin::directory as imp;

    pub fn team(name: &str) -> Option<Team> {
        #[cfg(target_arch = "wasm32")]
        return imp::get_team(name);
        #[cfg(not(target_arch = "wasm32"))]
        return crate::testing::with_host(|h| h.team(name));
    }

    pub fn rep(id: &str) -> Option<Rep> {
        #[cfg(target_arch = "wasm32")]
        return imp::get_rep(id);
        #[cfg(not(target_arch = "wasm32"))]
        return crate::testing::with_host(|h| h.rep(id));
    }
}

/// Known accounts (grant `accounts`).
pub mod accounts {
    use super::Account;

    /// The account owning `domain` (lower case, without `www.`).
    pub fn by_domain(domain: &str) -> Option<Account> {
        #[cfg(target_arch = "wasm32")]
        return crate::bindings::leadwire::plugin::accounts::by_domain(domain);
        #[cfg(not(target_arch = "wasm32"))]
        return crate::testing::with_host(|h| h.account(domain));
    }
}

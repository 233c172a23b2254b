//! Host capabilities, one module each, as plugins import them: `log` and
//! `config` for everyone, `state`, `directory` and `accounts` when granted.

mod accounts;
mod config;
mod directory;
mod log;
pub mod state;

use std::sync::Arc;

pub use accounts::Accounts;
pub use directory::Directory;
pub use state::{MemoryState, StateError, StateResult, StateStore, Usage};

/// What the capabilities serve: shared by every call of a loaded configuration.
pub struct HostEnv {
    pub state: Arc<dyn StateStore>,
    pub directory: Directory,
    pub accounts: Accounts,
}

impl crate::bindings::leadwire::plugin::types::Host for crate::runtime::CallState {}

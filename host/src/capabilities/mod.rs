//! Host capabilities, one module each, as plugins import them: `log` and
//! `config` for everyone, `state`, `directory` and `accounts` when granted.
//!
//! Each call's store holds one [`Capabilities`]: what the capabilities serve
//! that call and what they keep while it runs. The runtime links each granted
//! capability's `Host` implementation to it, so capabilities never see the
//! runtime's own store data.

mod accounts;
mod config;
mod directory;
mod log;
mod log_buffer;
mod meter;
pub mod state;
mod v0_2_0;

use std::sync::Arc;

pub use accounts::Accounts;
pub use directory::Directory;
pub use log_buffer::LogBuffer;
pub use meter::HostCallMeter;
pub use state::{MemoryState, StateError, StateQuotas, StateResult, StateStore, Usage};

/// What the capabilities serve: shared by every call of a loaded configuration.
pub struct HostEnv {
    pub state: Arc<dyn StateStore>,
    pub directory: Directory,
    pub accounts: Accounts,
}

/// Who is calling and what the capabilities serve them.
#[derive(Clone)]
pub struct CallContext {
    pub env: Arc<HostEnv>,
    /// The state namespace: the plugin install's name.
    pub namespace: Arc<str>,
    /// The event time: the plugin's "now".
    pub now: i64,
}

/// The capabilities' part of one call.
pub struct Capabilities {
    pub ctx: CallContext,
    /// The install's config table as JSON (`config.get`).
    pub config_json: Arc<str>,
    /// The call's log (`log`, and the runtime's stdout and stderr).
    pub logs: LogBuffer,
    /// The capability-call budget and the time spent serving.
    pub meter: HostCallMeter,
    pub state_quotas: StateQuotas,
    /// What the install holds in `state`, read at its first write of the call.
    state_usage: Option<Usage>,
}

impl Capabilities {
    pub fn new(
        ctx: CallContext,
        config_json: Arc<str>,
        logs: LogBuffer,
        meter: HostCallMeter,
        state_quotas: StateQuotas,
    ) -> Capabilities {
        Capabilities {
            ctx,
            config_json,
            logs,
            meter,
            state_quotas,
            state_usage: None,
        }
    }

    /// A new call on a kept instance: a fresh budget, usage read again.
    pub fn start_call(&mut self) {
        self.meter.start_call();
        self.state_usage = None;
    }

    /// Run one capability call: counted against the budget, its time kept off
    /// the plugin's deadline.
    fn host_call<R>(
        &mut self,
        what: &str,
        serve: impl FnOnce(&mut Self) -> wasmtime::Result<R>,
    ) -> wasmtime::Result<R> {
        let started = self.meter.enter(what)?;
        let result = serve(self);
        self.meter.leave(started);
        result
    }
}

impl crate::bindings::leadwire::plugin::types::Host for Capabilities {}

//! The capability-call budget of one plugin call, and the time the host spent
//! serving those calls (given back to the plugin's deadline).

use std::time::{Duration, Instant};

use crate::error::PluginFault;

/// Capability calls of one plugin call: how many (against the install's
/// budget) and how long they took (not charged to the plugin's deadline).
pub struct HostCallMeter {
    pub calls: u32,
    pub limit: u32,
    pub started: Instant,
    pub host_time: Duration,
    /// The plugin's own-time deadline.
    pub timeout: Duration,
}

impl HostCallMeter {
    pub fn new(limit: u32, timeout: Duration) -> HostCallMeter {
        HostCallMeter {
            calls: 0,
            limit,
            started: Instant::now(),
            host_time: Duration::ZERO,
            timeout,
        }
    }

    pub fn start_call(&mut self) {
        self.calls = 0;
        self.started = Instant::now();
        self.host_time = Duration::ZERO;
    }

    /// The plugin's own time so far: wall time less the host's.
    pub fn guest_time(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.host_time)
    }

    /// One more capability call, if the budget allows; when it started.
    pub(super) fn enter(&mut self, what: &str) -> wasmtime::Result<Instant> {
        self.calls += 1;
        if self.calls > self.limit {
            return Err(PluginFault::Quota(format!(
                "{what}: more than {} capability calls in one call (limits.host_calls)",
                self.limit
            ))
            .into());
        }
        Ok(Instant::now())
    }

    pub(super) fn leave(&mut self, entered: Instant) {
        self.host_time += entered.elapsed();
    }
}

//! Per-plugin limits and the memory limiter that enforces them.

use std::time::Duration;

use crate::config::LimitsConfig;

/// Fuel per KiB of input by default: enough for the Python and JavaScript
/// examples (an interpreter lifting every activity into its objects) on a
/// 200-activity lead (tests/all/other_languages.rs prints their fuel: 14.5M
/// and 73M of the 100M an 18 KiB input gets).
pub const DEFAULT_FUEL_PER_INPUT_KIB: u64 = 5_000_000;

/// What one plugin call may use. Defaults follow architecture.md (Shopify
/// Functions is the anchor).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Limits {
    /// `None`: unlimited (the epoch deadline still applies).
    pub fuel: Option<u64>,
    /// Added to `fuel` per whole KiB of the call's input, encoded
    /// (`fuel_for`): what an interpreter (componentize-py, componentize-js)
    /// spends turning a long activity history into its own objects.
    pub fuel_per_input_kib: u64,
    pub memory_bytes: u64,
    pub timeout: Duration,
    pub verdict_bytes: u64,
    pub log_bytes: u64,
    /// Capability calls per plugin call: a plugin looping on host calls is
    /// stopped here, since their time is not charged to its deadline.
    pub host_calls: u32,
    /// What one install may keep in `state`: keys, and bytes of keys plus values.
    pub state_keys: u64,
    pub state_bytes: u64,
}

impl Limits {
    /// The most the host copies out of the guest in one transfer (the
    /// verdict, or one capability call's arguments): wasmtime's hostcall fuel,
    /// checked while lifting, so an aliased or huge value is refused before
    /// the host allocates it. Lifted lists count their Rust size (a
    /// contribution is 80 bytes, its JSON about 40), hence 4x the verdict
    /// limit; never less than a full state value and key.
    pub fn copy_bytes(&self) -> usize {
        use crate::capabilities::state::{MAX_STATE_KEY, MAX_STATE_VALUE};
        let state_call = (MAX_STATE_VALUE + MAX_STATE_KEY) as u64 + 4096;
        (self.verdict_bytes.saturating_mul(4)).max(state_call) as usize
    }
}

impl Limits {
    /// The fuel of a call whose input encodes to `input_bytes`: `fuel`, plus
    /// `fuel_per_input_kib` per whole KiB (a lead under 1 KiB gets `fuel`).
    pub fn fuel_for(&self, input_bytes: usize) -> Option<u64> {
        let kib = (input_bytes / 1024) as u64;
        self.fuel
            .map(|fuel| fuel.saturating_add(self.fuel_per_input_kib.saturating_mul(kib)))
    }

    /// The defaults, overridden by the config's `[limits]`, then by the
    /// plugin install's own `limits`.
    pub fn layered(global: &LimitsConfig, install: &LimitsConfig) -> Limits {
        let mut limits = Limits::default();
        for layer in [global, install] {
            if let Some(fuel) = layer.fuel {
                limits.fuel = (fuel > 0).then_some(fuel);
            }
            if let Some(per_kib) = layer.fuel_per_input_kib {
                limits.fuel_per_input_kib = per_kib;
            }
            if let Some(m) = layer.memory_mib {
                limits.memory_bytes = m << 20;
            }
            if let Some(t) = layer.timeout_ms {
                limits.timeout = std::time::Duration::from_millis(t);
            }
            if let Some(v) = layer.verdict_kib {
                limits.verdict_bytes = v << 10;
            }
            if let Some(l) = layer.log_kib {
                limits.log_bytes = l << 10;
            }
            if let Some(n) = layer.host_calls {
                limits.host_calls = n;
            }
            if let Some(n) = layer.state_keys {
                limits.state_keys = n;
            }
            if let Some(n) = layer.state_kib {
                limits.state_bytes = n << 10;
            }
        }
        limits
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: Some(10_000_000),
            fuel_per_input_kib: DEFAULT_FUEL_PER_INPUT_KIB,
            memory_bytes: 32 << 20,
            timeout: Duration::from_millis(100),
            verdict_bytes: 64 << 10,
            log_bytes: 4 << 10,
            host_calls: 1_000,
            state_keys: 10_000,
            state_bytes: 16 << 20,
        }
    }
}

/// Refuses memory growth past the plugin's limit, and remembers the peak and
/// whether the limit was hit (so the trap that follows is reported as
/// `memory-limit`, not as a generic trap).
pub struct MemoryLimiter {
    pub limit: u64,
    pub peak: u64,
    pub refused: Option<u64>,
    /// The size now, so a warm instance's next call starts its peak there.
    current: u64,
}

impl MemoryLimiter {
    pub fn new(limit: u64) -> MemoryLimiter {
        MemoryLimiter {
            limit,
            peak: 0,
            refused: None,
            current: 0,
        }
    }

    /// A new call on a kept instance: its peak starts from the memory it has.
    pub fn start_call(&mut self) {
        self.peak = self.current;
        self.refused = None;
    }
}

const MAX_TABLE_ELEMENTS: usize = 100_000;

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let desired = desired as u64;
        if desired > self.limit {
            self.refused = Some(desired);
            return Ok(false);
        }
        self.current = desired;
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

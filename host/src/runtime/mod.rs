//! The wasmtime engine and the sandbox around every plugin call.
//!
//! One [`Engine`] per process: components are compiled once when a plugin loads,
//! linked only with the capabilities the install grants, and pre-instantiated
//! (`InstancePre`), after a snapshot of its initialisation where it has one
//! (`preinit`); each call gets a fresh instance from the pooling allocator,
//! with fuel, a memory cap, an epoch deadline and capped output.

mod call;
mod clock;
mod exports;
mod limits;
pub mod plugin;
mod preinit;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

pub use crate::verdict::{CallMetrics, Role};
pub use call::{CallOutcome, CallState, WarmInstance};
pub use limits::Limits;
pub use plugin::{Plugin, PluginInfo, inspect_file};

/// The largest linear memory any plugin may be given (the pool's slot size).
pub const MAX_MEMORY_BYTES: u64 = crate::config::MAX_MEMORY_MIB << 20;
/// How often the epoch advances: the granularity of wall-clock timeouts.
pub const EPOCH_TICK: Duration = Duration::from_millis(2);
/// The current contract version (what leadwire-sdk builds); the host loads
/// every version in [`WIT_VERSIONS`].
pub const WIT_VERSION: &str = "0.2.0";
pub use exports::WIT_VERSIONS;

/// The engine plus the thread that advances its epoch.
pub struct Runtime {
    engine: Engine,
    ticker_stop: Arc<AtomicBool>,
}

impl Runtime {
    pub fn new() -> anyhow::Result<Runtime> {
        let mut pool = PoolingAllocationConfig::default();
        // Enough slots for the plugin calls in flight at once; a call that finds
        // the pool full fails with a trap rather than allocating without bound.
        pool.total_component_instances(512)
            .total_core_instances(4096)
            .total_memories(512)
            .total_tables(4096)
            .max_memory_size(MAX_MEMORY_BYTES as usize)
            .max_core_instances_per_component(32)
            .max_memories_per_component(4)
            .max_tables_per_component(16)
            // Reset a slot's first pages with memset rather than handing them
            // back to the kernel (madvise) and faulting them in again on the
            // next instance: a plugin call touches about 1 MiB, and the
            // madvise + page faults were ~17% of a fresh call (BENCHMARKS.md).
            .linear_memory_keep_resident(2 << 20)
            .table_keep_resident(64 << 10)
            // Where the kernel has PAGEMAP_SCAN (Linux 6.7+), a slot's reset
            // finds the pages the call dirtied and restores only those,
            // instead of memsetting the whole kept-resident prefix (~11% of a
            // fresh call with pre-initialised images, which are larger).
            .pagemap_scan(wasmtime::Enabled::Auto);

        let mut config = Config::new();
        config
            .wasm_component_model(true)
            // No component-model async here: without it a store allocates
            // no concurrent state and synchronous calls take the fast paths.
            .concurrency_support(false)
            .consume_fuel(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        // LEADWIRE_PERFMAP=1: name the plugins' compiled functions in
        // /tmp/perf-PID.map, so `perf report` shows guest functions, not
        // bare addresses (for profiling; see benches/analysis.md).
        if std::env::var_os("LEADWIRE_PERFMAP").is_some_and(|v| v == "1") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        // Compiled code is cached on disk (wasmtime's cache, keyed by the
        // component's bytes and the engine's settings): every `leadwire`
        // command after the first starts in milliseconds instead of seconds.
        // LEADWIRE_COMPILE_CACHE=off turns it off; a cache that cannot be set
        // up (no home directory) only costs the compile time.
        if std::env::var("LEADWIRE_COMPILE_CACHE").as_deref() != Ok("off") {
            if let Ok(cache) = wasmtime::Cache::new(wasmtime::CacheConfig::new()) {
                config.cache(Some(cache));
            }
        }
        let engine = Engine::new(&config).map_err(|e| anyhow::anyhow!("{e:#}"))?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        let stop = ticker_stop.clone();
        let ticking = engine.clone();
        std::thread::Builder::new()
            .name("leadwire-epoch".into())
            .spawn(move || {
                // The epoch counts EPOCH_TICKs of real time since the engine
                // started. A sleep overruns on a busy machine, so counting
                // sleeps would stretch a 100 ms deadline to several times that
                // (seen: 280 ms with both cores busy); catch up instead.
                let start = Instant::now();
                let mut epoch: u128 = 0;
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    let due = start.elapsed().as_micros() / EPOCH_TICK.as_micros();
                    while epoch < due {
                        ticking.increment_epoch();
                        epoch += 1;
                    }
                }
            })?;
        Ok(Runtime {
            engine,
            ticker_stop,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

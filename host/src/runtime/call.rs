//! One plugin call: a fresh instance in a fresh store, with the plugin's limits,
//! and every way it can fail turned into a typed [`CallError`].

use std::sync::Arc;
use std::time::Instant;

use sha2::Digest;
use wasmtime::component::Instance;
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::clock::FrozenClock;
use super::limits::MemoryLimiter;
use super::{EPOCH_TICK, Limits, Plugin, Role};
use crate::bindings::types::{Input, Verdict};
use crate::capabilities::{CallContext, Capabilities, HostCallMeter, LogBuffer, StateQuotas};
use crate::error::{CallError, PluginFault};
use crate::verdict::{CallMetrics, VerdictOut};

/// The store data of one call: WASI (made on the plugin's first WASI call:
/// most calls of a Rust plugin make none), the memory limiter, and the
/// capabilities' part.
pub struct CallState {
    wasi: Option<WasiCtx>,
    /// What the WASI context is made from: the event's id (the randomness
    /// seed) and time (the wall clock).
    event_id: String,
    event_at: i64,
    table: ResourceTable,
    limiter: MemoryLimiter,
    pub(super) caps: Capabilities,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let wasi = self
            .wasi
            .get_or_insert_with(|| wasi_for(&self.event_id, self.event_at, &self.caps.logs));
        WasiCtxView {
            ctx: wasi,
            table: &mut self.table,
        }
    }
}

impl CallState {
    /// A store for one call (or a warm instance's calls) under `limits`.
    pub(super) fn new_store(
        engine: &Engine,
        limits: &Limits,
        config_json: Arc<str>,
        event_id: &str,
        event_at: i64,
        ctx: CallContext,
    ) -> Store<CallState> {
        let logs = LogBuffer::new(limits.log_bytes);
        let mut store = Store::new(
            engine,
            CallState {
                wasi: None,
                event_id: event_id.to_string(),
                event_at,
                table: ResourceTable::new(),
                limiter: MemoryLimiter::new(limits.memory_bytes),
                caps: Capabilities::new(
                    ctx,
                    config_json,
                    logs,
                    HostCallMeter::new(limits.host_calls, limits.timeout),
                    StateQuotas {
                        keys: limits.state_keys,
                        bytes: limits.state_bytes,
                    },
                ),
            },
        );
        store.limiter(|s| &mut s.limiter);
        // What the host copies out of the guest per transfer is bounded while
        // copying, not after (see Limits::copy_bytes).
        store.set_hostcall_fuel(limits.copy_bytes());
        // The deadline counts the plugin's own time: when it comes, time spent
        // serving capability calls (a database round trip) is given back.
        store.epoch_deadline_callback(|store| {
            let meter = &store.data().caps.meter;
            let used = meter.guest_time();
            if used >= meter.timeout {
                return Ok(wasmtime::UpdateDeadline::Interrupt);
            }
            let left = (meter.timeout - used).as_micros();
            Ok(wasmtime::UpdateDeadline::Continue(
                left.div_ceil(EPOCH_TICK.as_micros()) as u64 + 1,
            ))
        });
        store
    }

    /// Give the next call its fuel (`None`: unlimited) and deadline;
    /// returns the fuel given.
    pub(super) fn arm(store: &mut Store<CallState>, fuel: Option<u64>, limits: &Limits) -> u64 {
        let fuel = fuel.unwrap_or(u64::MAX);
        // Fuel is always on in the engine; it cannot fail to be set.
        let _ = store.set_fuel(fuel);
        // The epoch the deadline counts from may be a tick or so behind real
        // time (the ticker thread advances it after each sleep): two spare
        // ticks keep the deadline from firing early; it may fire up to
        // 2 ticks (4 ms) late instead.
        let ticks = limits.timeout.as_micros().div_ceil(EPOCH_TICK.as_micros()) as u64 + 2;
        store.set_epoch_deadline(ticks);
        store.data_mut().caps.start_call();
        fuel
    }

    /// What went wrong in a call that failed while running, in the user's terms.
    pub(super) fn explain(
        store: &Store<CallState>,
        error: wasmtime::Error,
        fuel: u64,
        limits: &Limits,
    ) -> CallError {
        let fuel_used = fuel - store.get_fuel().unwrap_or(0);
        let (_, _, stderr_tail) = store.data().caps.logs.finish();
        classify(
            error,
            &store.data().limiter,
            (fuel_used, fuel),
            limits,
            &stderr_tail,
        )
    }
}

pub struct CallOutcome {
    pub result: Result<(Verdict, VerdictOut), CallError>,
    pub metrics: CallMetrics,
}

/// The WASI context of one call: captured streams, the event's frozen clock,
/// randomness derived from the event id, no network.
fn wasi_for(event_id: &str, at: i64, logs: &LogBuffer) -> WasiCtx {
    let seed: [u8; 32] = sha2::Sha256::digest(event_id.as_bytes()).into();
    WasiCtxBuilder::new()
        .stdout(logs.stdout())
        .stderr(logs.stderr())
        .wall_clock(FrozenClock(at))
        .monotonic_clock(FrozenClock(0))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        // Randomness derived from the event: a replay sees the same bytes,
        // so a plugin stays a pure function of (input, config, state).
        .secure_random(wasmtime_wasi::Deterministic::new(seed.to_vec()))
        .insecure_random(wasmtime_wasi::Deterministic::new(seed.to_vec()))
        .insecure_random_seed(u128::from_le_bytes(
            seed[..16].try_into().unwrap_or_default(),
        ))
        .build()
}

impl Plugin {
    /// Call one role of this plugin in a fresh instance. Never panics and
    /// never returns early on a plugin failure: the failure is in the outcome.
    pub fn call(
        &self,
        engine: &Engine,
        role: Role,
        input: &Input,
        ctx: CallContext,
    ) -> CallOutcome {
        let mut store = self.new_store(engine, input, ctx);
        self.run(&mut store, None, role, input, None).0
    }

    /// [`Plugin::call`] with the input's encoding made already
    /// ([`EncodedInput`](crate::bindings::v0_2_0::EncodedInput)).
    pub fn call_encoded(
        &self,
        engine: &Engine,
        role: Role,
        input: &Input,
        encoded: &[u8],
        ctx: CallContext,
    ) -> CallOutcome {
        let mut store = self.new_store(engine, input, ctx);
        self.run(&mut store, None, role, input, Some(encoded)).0
    }

    fn new_store(&self, engine: &Engine, input: &Input, ctx: CallContext) -> Store<CallState> {
        CallState::new_store(
            engine,
            &self.limits,
            self.config_json.clone(),
            &input.event.id,
            input.event.at,
            ctx,
        )
    }

    /// One call in `store`, on `instance` if given (a warm one) or on a new
    /// instance; returns the outcome and the instance, unless the call failed
    /// (a failed instance may be half-way through anything: never reuse it).
    fn run(
        &self,
        store: &mut Store<CallState>,
        instance: Option<Instance>,
        role: Role,
        input: &Input,
        encoded: Option<&[u8]>,
    ) -> (CallOutcome, Option<Instance>) {
        let limits = &self.limits;
        let input = self.exports.prepare(input, encoded);
        let fuel_limit = limits.fuel_for(input.size());
        let fuel = CallState::arm(store, fuel_limit, limits);

        let start = Instant::now();
        let raw = match instance {
            Some(instance) => Ok(instance),
            // The pool is full, say: the host's failure, not the plugin's.
            None => self.pre.instantiate(&mut *store).map_err(CallFailure::Host),
        }
        .and_then(|instance| {
            let verdict = self
                .exports
                .call(&self.name, &mut *store, &instance, role, &input)
                .map_err(CallFailure::Call)?;
            Ok((verdict, instance))
        });
        let duration = start.elapsed();

        let fuel_used = fuel - store.get_fuel().unwrap_or(0);
        let (lines, truncated, stderr_tail) = store.data().caps.logs.finish();
        let limiter = &store.data().limiter;
        let mut metrics = CallMetrics {
            fuel_used,
            fuel_limit,
            peak_memory_bytes: limiter.peak,
            memory_limit_bytes: limits.memory_bytes,
            duration_us: duration.as_micros() as u64,
            timeout_ms: limits.timeout.as_millis() as u64,
            verdict_bytes: 0,
            verdict_limit_bytes: limits.verdict_bytes,
            logs: lines,
            logs_truncated: truncated,
        };

        let (result, instance) = match raw {
            Ok((Ok(verdict), instance)) => {
                let checked = check_verdict(verdict, limits.verdict_bytes, &mut metrics);
                let keep = checked.is_ok().then_some(instance);
                (checked, keep)
            }
            Ok((Err(message), instance)) => {
                (Err(CallError::PluginError { message }), Some(instance))
            }
            Err(CallFailure::Host(error)) => (
                Err(CallError::HostError {
                    message: format!("cannot start an instance: {error:#}"),
                }),
                None,
            ),
            Err(CallFailure::Call(error)) => (
                Err(classify(
                    error,
                    limiter,
                    (fuel_used, fuel),
                    limits,
                    &stderr_tail,
                )),
                None,
            ),
        };
        (CallOutcome { result, metrics }, instance)
    }
}

/// An instance kept from one call to the next, for bulk runs: instantiation
/// and the plugin's own start-up work (parsing its config) are paid once, not
/// per lead. Every call still gets its own fuel, deadline, memory peak, log,
/// clock and randomness; an instance whose call failed is dropped and the
/// next call starts a fresh one. What a plugin keeps in its memory between
/// calls is visible to its next call: use warm instances where the leads are
/// one tenant's (a batch), fresh ones where isolation between calls matters
/// (the server).
pub struct WarmInstance {
    plugin: Arc<Plugin>,
    live: Option<(Store<CallState>, Instance)>,
}

impl WarmInstance {
    pub fn new(plugin: Arc<Plugin>) -> WarmInstance {
        WarmInstance { plugin, live: None }
    }

    pub fn plugin(&self) -> &Arc<Plugin> {
        &self.plugin
    }

    pub fn call(
        &mut self,
        engine: &Engine,
        role: Role,
        input: &Input,
        ctx: CallContext,
    ) -> CallOutcome {
        self.call_encoded(engine, role, input, None, ctx)
    }

    /// [`WarmInstance::call`] with the input's encoding, if made already.
    pub fn call_encoded(
        &mut self,
        engine: &Engine,
        role: Role,
        input: &Input,
        encoded: Option<&[u8]>,
        ctx: CallContext,
    ) -> CallOutcome {
        let plugin = self.plugin.clone();
        let (mut store, instance) = match self.live.take() {
            Some((mut store, instance)) => {
                let data = store.data_mut();
                data.caps.logs.reset();
                data.wasi = None;
                data.event_id.clone_from(&input.event.id);
                data.event_at = input.event.at;
                data.caps.ctx = ctx;
                data.limiter.start_call();
                (store, Some(instance))
            }
            None => (plugin.new_store(engine, input, ctx), None),
        };
        let (outcome, instance) = plugin.run(&mut store, instance, role, input, encoded);
        self.live = instance.map(|instance| (store, instance));
        outcome
    }
}

/// Where a call failed: starting the instance (the host's side) or running it.
enum CallFailure {
    Host(wasmtime::Error),
    Call(wasmtime::Error),
}

fn check_verdict(
    mut verdict: Verdict,
    limit: u64,
    metrics: &mut CallMetrics,
) -> Result<(Verdict, VerdictOut), CallError> {
    crate::verdict::normalize_verdict(&mut verdict)
        .map_err(|message| CallError::InvalidVerdict { message })?;
    let out = VerdictOut::from_wit(&verdict);
    let size = json_size(&out);
    metrics.verdict_bytes = size;
    if size > limit {
        return Err(CallError::OutputTooLarge {
            size: Some(size),
            limit,
        });
    }
    out.validate()
        .map_err(|message| CallError::InvalidVerdict { message })?;
    Ok((verdict, out))
}

/// The verdict's size as the decision records it (JSON), counted as it is
/// written rather than written into a buffer.
fn json_size(out: &VerdictOut) -> u64 {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len() as u64;
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, out) {
        Ok(()) => count.0,
        Err(_) => u64::MAX,
    }
}

/// Turn a failed call into what went wrong, in the user's terms.
fn classify(
    error: wasmtime::Error,
    limiter: &MemoryLimiter,
    (fuel_used, fuel_limit): (u64, u64),
    limits: &super::Limits,
    stderr_tail: &str,
) -> CallError {
    let Some(trap) = error.downcast_ref::<Trap>() else {
        return classify_fault(error, limits);
    };
    match trap {
        Trap::OutOfFuel => CallError::FuelExhausted {
            used: fuel_used,
            limit: fuel_limit,
        },
        Trap::Interrupt => CallError::Timeout {
            limit_ms: limits.timeout.as_millis() as u64,
        },
        _ if limiter.refused.is_some() => CallError::MemoryLimit {
            requested: limiter.refused.unwrap_or_default(),
            limit: limiter.limit,
        },
        Trap::StackOverflow => CallError::Trap {
            message: "stack overflow (unbounded recursion?)".into(),
        },
        other => CallError::Trap {
            message: panic_message(stderr_tail)
                .map(|panic| format!("{panic} ({other})"))
                .unwrap_or_else(|| other.to_string()),
        },
    }
}

/// A call that failed without a trap: a capability refused the plugin, a
/// capability's backend failed (the host's fault, and may pass), or wasmtime
/// refused what the plugin handed over (bad UTF-8, an out-of-bounds pointer, a
/// bad discriminant, too many bytes): the plugin's fault.
fn classify_fault(error: wasmtime::Error, limits: &super::Limits) -> CallError {
    if let Some(fault) = error.downcast_ref::<PluginFault>() {
        return match fault {
            PluginFault::Quota(message) => CallError::QuotaExceeded {
                message: message.clone(),
            },
            PluginFault::BadRequest(message) => CallError::Trap {
                message: message.clone(),
            },
        };
    }
    if error
        .chain()
        .any(|e| e.is::<crate::capabilities::StateError>())
    {
        return CallError::HostError {
            message: format!("{error:#}"),
        };
    }
    let message = format!("{error:#}");
    // wasmtime's hostcall fuel ran out while copying out of the guest.
    if message.contains("fuel allocated for hostcalls") {
        return CallError::OutputTooLarge {
            size: None,
            limit: limits.copy_bytes() as u64,
        };
    }
    CallError::Trap {
        message: format!("the plugin handed the host invalid data: {message}"),
    }
}

/// The text of a Rust panic from the plugin's stderr, without the backtrace hint.
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.rfind("panicked at")?;
    let text: Vec<&str> = stderr[start..]
        .lines()
        .filter(|l| !l.starts_with("note: run with"))
        .collect();
    Some(format!("plugin {}", text.join(" ").trim()))
}

//! Pre-initialisation: a plugin that exports `wizer-initialize` (the SDK's
//! `export!(P: scoring, init = preload)`) has it run once per install, under
//! the install's limits and config, and the instance's memory and globals
//! snapshotted into a new component (wasmtime-wizer). Every fresh instance then
//! starts from that image, copy-on-write from the pool: the config is parsed
//! once per install instead of once per call, and each call is still isolated.
//!
//! The init sees the install's `config` and `log`, an empty `state`, directory
//! and accounts (what it reads there would be baked into the image), the
//! frozen clock at 0 and fixed randomness.

use std::collections::BTreeMap;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use wasmtime::component::{Component, Instance, Linker, WasmList};
use wasmtime::{Engine, Store};
use wasmtime_wizer::{ComponentInstanceState, Wizer};

use super::call::CallState;
use super::{Limits, PluginInfo};
use crate::capabilities::{Accounts, CallContext, Directory, HostEnv, MemoryState};
use crate::error::LoadError;

/// The export Wizer looks for by default, and the SDK generates.
pub(crate) const INIT_EXPORT: &str = "wizer-initialize";

/// Run the component's init and return the snapshot, or `None` when it has no
/// init export (a plugin built without one, or in another language).
pub(super) fn snapshot(
    engine: &Engine,
    linker: &Linker<CallState>,
    plugin: &str,
    info: &PluginInfo,
    bytes: &[u8],
    limits: &Limits,
    config_json: &Arc<str>,
) -> Result<Option<Vec<u8>>, LoadError> {
    if !info.init {
        return Ok(None);
    }
    let fail = |message: String| LoadError::Init {
        plugin: plugin.to_string(),
        message,
    };
    let mut wizer = Wizer::new();
    // wasmtime #13186: removing the init export breaks Rust components today;
    // keeping it is harmless (calling it again finds the config parsed).
    wizer.keep_init_func(true);
    let (cx, instrumented) = wizer
        .instrument_component(bytes)
        .map_err(|e| fail(format!("cannot instrument the component: {e:#}")))?;
    let instrumented = Component::new(engine, &instrumented)
        .map_err(|e| fail(format!("cannot compile the instrumented component: {e:#}")))?;

    let mut store = init_store(engine, limits, config_json);
    let fuel = CallState::arm(&mut store, limits.fuel, limits);
    let instance = (|| {
        let instance = linker.instantiate(&mut store, &instrumented)?;
        let init = instance.get_typed_func::<(), ()>(&mut store, INIT_EXPORT)?;
        init.call(&mut store, ())?;
        Ok(instance)
    })()
    .map_err(|e| {
        let error = CallState::explain(&store, e, fuel, limits);
        fail(format!("its `{INIT_EXPORT}` failed: {error}"))
    })?;
    // Wizer reads whole memories through its accessors: more than a call's
    // copy limit, and no part of the plugin's own budget.
    store.set_hostcall_fuel(usize::MAX);
    let mut accessor = Accessor {
        store: &mut store,
        instance,
        failed: None,
    };
    let snapshot = block_on(wizer.snapshot_component(&cx, &mut accessor));
    if let Some(message) = accessor.failed {
        return Err(fail(format!(
            "cannot read the initialised instance: {message}"
        )));
    }
    let snapshot =
        snapshot.map_err(|e| fail(format!("cannot snapshot the initialised instance: {e:#}")))?;
    Ok(Some(snapshot))
}

fn init_store(engine: &Engine, limits: &Limits, config_json: &Arc<str>) -> Store<CallState> {
    let env = Arc::new(HostEnv {
        state: Arc::new(MemoryState::default()),
        directory: Directory::default(),
        accounts: Accounts::from_config(&BTreeMap::new()),
    });
    let ctx = CallContext {
        env,
        namespace: "init".into(),
        now: 0,
    };
    CallState::new_store(engine, limits, config_json.clone(), "init", 0, ctx)
}

/// Wizer reads the instance's state through exported accessor functions;
/// these calls are synchronous here, so its futures are ready at once.
/// The trait has no way to fail: the first failure is kept in `failed` (and
/// the snapshot thrown away), the rest of the reads answer zero.
struct Accessor<'a> {
    store: &'a mut Store<CallState>,
    instance: Instance,
    failed: Option<String>,
}

impl Accessor<'_> {
    fn call<R: wasmtime::component::Lift + 'static>(
        &mut self,
        instance: &str,
        func: &str,
    ) -> Option<R> {
        if self.failed.is_some() {
            return None;
        }
        let result = (|| {
            let store = &mut *self.store;
            let (_, parent) = self
                .instance
                .get_export(&mut *store, None, instance)
                .ok_or_else(|| wasmtime::format_err!("no export `{instance}`"))?;
            let (_, index) = self
                .instance
                .get_export(&mut *store, Some(&parent), func)
                .ok_or_else(|| wasmtime::format_err!("no export `{instance}#{func}`"))?;
            let func = self
                .instance
                .get_typed_func::<(), (R,)>(&mut *store, index)?;
            // The accessors only read memory and globals: not the plugin's
            // work, so not its fuel.
            store.set_fuel(u64::MAX)?;
            Ok::<_, wasmtime::Error>(func.call(&mut *store, ())?.0)
        })();
        result
            .map_err(|e| self.failed = Some(format!("{instance}#{func}: {e:#}")))
            .ok()
    }
}

impl ComponentInstanceState for Accessor<'_> {
    async fn call_func_ret_list_u8(
        &mut self,
        instance: &str,
        func: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) {
        match self.call::<WasmList<u8>>(instance, func) {
            Some(list) => contents(list.as_le_slice(&*self.store)),
            None => contents(&[]),
        }
    }

    async fn call_func_ret_s32(&mut self, instance: &str, func: &str) -> i32 {
        self.call(instance, func).unwrap_or_default()
    }

    async fn call_func_ret_s64(&mut self, instance: &str, func: &str) -> i64 {
        self.call(instance, func).unwrap_or_default()
    }

    async fn call_func_ret_f32(&mut self, instance: &str, func: &str) -> u32 {
        self.call::<f32>(instance, func)
            .unwrap_or_default()
            .to_bits()
    }

    async fn call_func_ret_f64(&mut self, instance: &str, func: &str) -> u64 {
        self.call::<f64>(instance, func)
            .unwrap_or_default()
            .to_bits()
    }
}

/// Drive a future that never waits (every await above is ready at once).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

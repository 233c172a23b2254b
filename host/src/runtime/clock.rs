//! The plugin's clocks: the wall clock frozen at the event's time, and a
//! monotonic clock that never moves and whose every pollable is ready at once.
//! Waiting is the one host call that could block (`std::thread::sleep`
//! compiles to a monotonic-clock pollable), and the epoch deadline cannot stop
//! time spent inside the host: with a frozen clock, no wait is ever due later.

use std::time::Duration;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi::p2::{DynPollable, Pollable, subscribe};

/// A wall clock stuck at the event's time (milliseconds since the epoch).
pub(super) struct FrozenClock(pub i64);

impl wasmtime_wasi::HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
    fn now(&self) -> Duration {
        Duration::from_millis(self.0.max(0) as u64)
    }
}

impl wasmtime_wasi::HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// A pollable that is always ready.
struct Ready;

#[wasmtime_wasi::async_trait]
impl Pollable for Ready {
    async fn ready(&mut self) {}
}

/// `wasi:clocks/monotonic-clock`, served on the call's resource table.
struct Monotonic<'a>(&'a mut ResourceTable);

struct HasMonotonic;

impl HasData for HasMonotonic {
    type Data<'a> = Monotonic<'a>;
}

impl monotonic_clock::Host for Monotonic<'_> {
    fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(0)
    }

    fn resolution(&mut self) -> wasmtime::Result<u64> {
        Ok(1_000_000)
    }

    fn subscribe_instant(&mut self, _when: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let ready = self.0.push(Ready)?;
        subscribe(self.0, ready)
    }

    fn subscribe_duration(&mut self, _duration: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let ready = self.0.push(Ready)?;
        subscribe(self.0, ready)
    }
}

/// Replace WASI's monotonic clock in `linker` (which already has WASI) with
/// the frozen one.
pub(super) fn add_frozen_monotonic_clock<T: wasmtime_wasi::WasiView + 'static>(
    linker: &mut Linker<T>,
) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    monotonic_clock::add_to_linker::<T, HasMonotonic>(linker, |state| {
        Monotonic(state.ctx().table)
    })?;
    linker.allow_shadowing(false);
    Ok(())
}

//! `log`: into the call's capped log buffer.

use crate::bindings::leadwire::plugin::log::{Host, Level};
use crate::runtime::CallState;

impl Host for CallState {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        self.host_call("log", |s| {
            s.logs.log(level, &message);
            Ok(())
        })
    }
}

//! `log`: into the call's capped log buffer.

use super::Capabilities;
use crate::bindings::leadwire::plugin::log::{Host, Level};

impl Host for Capabilities {
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

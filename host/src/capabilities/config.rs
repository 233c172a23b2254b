//! `config`: the install's config table, converted to JSON once at load.

use crate::bindings::leadwire::plugin::config::Host;
use crate::runtime::CallState;

impl Host for CallState {
    fn get(&mut self) -> wasmtime::Result<String> {
        self.host_call("config.get", |s| Ok(s.config_json.to_string()))
    }
}

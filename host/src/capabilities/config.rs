//! `config`: the install's config table, converted to JSON once at load.

use crate::bindings::leadwire::plugin::config::Host;
use crate::runtime::CallState;

impl Host for CallState {
    fn get(&mut self) -> wasmtime::Result<String> {
        Ok(self.config_json.to_string())
    }
}

//! `config`: the install's config table, converted to JSON once at load.

use super::Capabilities;
use crate::bindings::leadwire::plugin::config::Host;

impl Host for Capabilities {
    fn get(&mut self) -> wasmtime::Result<String> {
        self.host_call("config.get", |s| Ok(s.config_json.to_string()))
    }
}

//! Host-side bindings of the WIT contract `leadwire:plugin@0.1.0`.
//!
//! Imports are "trappable": a capability that fails on the host side (the state
//! store is down, say) traps the call, which fails the step instead of lying to
//! the plugin.

wasmtime::component::bindgen!({
    path: "../wit/v0.1.0",
    world: "leadwire:plugin/plugin",
    imports: { default: trappable },
});

pub use self::leadwire::plugin::types;
pub use exports::leadwire::plugin::{nurture, routing, scoring, segmentation};

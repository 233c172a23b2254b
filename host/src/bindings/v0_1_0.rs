//! `leadwire:plugin@0.1.0` (`wit/v0.1.0`). Its data types are the host's own;
//! they also serialise to the encoded input of 0.2.0 (`serde::Serialize`,
//! field and case order as in the WIT, which postcard follows).

wasmtime::component::bindgen!({
    path: "../wit/v0.1.0",
    world: "leadwire:plugin/plugin",
    imports: { default: trappable },
    additional_derives: [serde::Serialize],
});

pub use self::leadwire::plugin::types;
pub use exports::leadwire::plugin::{nurture, routing, scoring, segmentation};

//! `leadwire:plugin@0.2.0` (`wit/v0.2.0`): the roles take the input encoded
//! (`types.input` in postcard's wire format, [`encode_input`]); the data types
//! and capabilities are 0.1.0's. Its `types` are bound to 0.1.0's (the records
//! are the same, and component types are structural); its capability traits
//! are served by the 0.1.0 implementations (`capabilities/v0_2_0.rs`).

use super::v0_1_0::types::Input;

wasmtime::component::bindgen!({
    path: "../wit/v0.2.0",
    world: "leadwire:plugin/plugin",
    imports: { default: trappable },
    with: {
        "leadwire:plugin/types@0.2.0": crate::bindings::v0_1_0::types,
    },
});

pub use exports::leadwire::plugin::{nurture, routing, scoring, segmentation};

/// The input a 0.2.0 role receives: `types.input` in postcard's wire format.
pub fn encode_input(input: &Input) -> Vec<u8> {
    // Serialising owned strings, numbers and lists into a Vec cannot fail.
    postcard::to_allocvec(input).unwrap_or_default()
}

/// The length of [`encode_input`]'s bytes, without making them.
pub fn encoded_size(input: &Input) -> usize {
    postcard::serialize_with_flavor(input, postcard::ser_flavors::Size::default())
        .unwrap_or_default()
}

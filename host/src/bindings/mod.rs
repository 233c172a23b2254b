//! Host-side bindings of the WIT contract, one module per frozen version
//! (`wit/vX.Y.Z`): a plugin built against any of them loads, as the Zed editor
//! keeps its old extension APIs.
//!
//! - [`v0_2_0`]: the current contract (what leadwire-sdk speaks). A role
//!   receives its input as one `list<u8>` (postcard), one copy instead of one
//!   guest allocation per string.
//! - [`v0_1_0`]: the first contract. A role receives the input as typed
//!   records.
//!
//! The data types and the capabilities are the same in both, so the host
//! works in 0.1.0's types ([`types`]) and implements 0.1.0's capability traits
//! (`capabilities/`); `v0_2_0` adapts its capability traits to them.
//!
//! Imports are "trappable": a capability that fails on the host side (the state
//! store is down, say) traps the call, which fails the step instead of lying to
//! the plugin.

pub mod v0_1_0;
pub mod v0_2_0;

/// The 0.1.0 capability interfaces, which `capabilities/` implements.
pub use v0_1_0::leadwire;
/// The contract's data types (the same records in every version so far).
pub use v0_1_0::types;

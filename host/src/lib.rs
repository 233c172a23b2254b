//! leadwire: a rules runtime for CRMs. Lead logic (scoring, segmentation,
//! routing, nurture exit) runs as sandboxed WebAssembly components.
//!
//! Data flow: lead JSON ([`lead`]) → [`pipeline`] → plugin calls in the
//! [`runtime`] sandbox, served by the host [`capabilities`] → a [`decision`],
//! kept in the [`store`]. CRMs reach it through the [`server`]'s [`adapters`].

pub mod adapters;
pub mod bindings;
pub mod capabilities;
pub mod config;
pub mod decision;
pub mod error;
pub mod lab;
pub mod lead;
pub mod pipeline;
pub mod runtime;
pub mod server;
pub mod service;
pub mod store;
pub mod verdict;

pub use config::Config;
pub use decision::Decision;
pub use pipeline::Pipelines;
pub use runtime::Runtime;

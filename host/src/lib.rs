//! leadwire: a rules runtime for CRMs. Lead logic (scoring, segmentation,
//! routing, nurture exit) runs as sandboxed WebAssembly components.
//!
//! Data flow: a CRM's webhook → its [`adapters`] module → the service (claim,
//! snapshot, decide, record) → the [`pipeline`] → plugin calls in the
//! [`runtime`] sandbox, served by the host [`capabilities`] → a [`decision`],
//! kept in the [`store`]. [`serve`] runs it over HTTP; [`lab`] works on files
//! of leads offline.
//!
//! The public surface is what the `leadwire` command, the benchmarks and the
//! tests use; the HTTP server, the service and the verdict types' own module
//! are internal (the verdict types are re-exported by [`decision`]).

pub mod adapters;
pub mod alerts;
pub mod bindings;
pub mod capabilities;
pub mod config;
pub mod crm;
pub mod decision;
pub mod error;
pub mod feedback;
pub mod lab;
pub mod lead;
pub mod outbox;
pub mod pipeline;
pub mod runtime;
mod server;
mod service;
pub mod sla;
pub mod store;
pub mod timeline;
mod verdict;

pub use config::Config;
pub use decision::Decision;
pub use pipeline::Pipelines;
pub use runtime::Runtime;
pub use server::serve;

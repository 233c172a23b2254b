//! leadwire's integration tests: one binary (like wasmtime's `tests/all`), a
//! module per concern. They load real components built from the guest crates
//! (plugins/, examples/, tests/hostile/) and run the real `leadwire` binary.

#![allow(dead_code)]

mod common;
mod fake_chat;
mod fake_crm;
mod fake_hubspot;
mod fake_pipedrive;
mod fake_salesforce;
mod fake_smtp;

mod bulk;
mod cli;
mod contract;
mod crm;
mod layout;
mod other_languages;
mod preinit;
mod sandbox;
mod sdk_outside;
mod server;
mod store;
mod witbindgen;

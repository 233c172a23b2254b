//! Shared by the rules-scorer and segmenter plugins (each links its own copy
//! into its component): the condition vocabulary on fields and activities, and
//! a strict reader for plugin config tables that names the path of every error.

pub mod conditions;
pub mod reader;

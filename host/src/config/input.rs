//! `[input]`: how the rows of a CSV file become leads, for `score`, `backtest`
//! and `learn`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `[input]` in leadwire.toml: how CSV columns become a lead. Every key is
/// optional; the defaults read a file whose headers are already field names.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    /// The column holding the lead id (default: `id` if there is one, else the
    /// row's line number).
    pub id: Option<String>,
    /// The email column (default: `email` if there is one).
    pub email: Option<String>,
    /// The company web domain column (default: `company_domain` if there is one).
    pub company_domain: Option<String>,
    /// When the lead was created (default: `created_at` if there is one).
    pub created_at: Option<String>,
    /// The column whose time is the event's, i.e. the plugins' "now" (default:
    /// `event_at` if there is one, else the created-at column, else `--at`).
    pub event_at: Option<String>,
    /// Cell values that mean "no value", besides the empty cell, e.g. `["Select", "N/A"]`.
    #[serde(default)]
    pub null_values: Vec<String>,
    /// The separator of `list` columns (default `;`).
    pub list_separator: Option<String>,
    /// Column types: `text`, `number`, `boolean`, `time`, `list`. Untyped
    /// columns are read as numbers or booleans when the cell is one, else text.
    #[serde(default)]
    pub types: BTreeMap<String, ColumnType>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Text,
    Number,
    Boolean,
    Time,
    List,
}

//! Reading the install's config table strictly: typed getters that know the
//! path of what they read (`rules[2].points`), and `only` rejects any key the
//! table may not hold, so a typo (`pointz`) is an error, never silently ignored.
//!
//! Why not `#[derive(Deserialize)]` with `deny_unknown_fields`? The same strictness
//! and paths, but serde's per-type code (through `serde_path_to_error`) made this
//! plugin ~70 KB larger, past the 256 KB plugin budget. Here serde_json parses the
//! config once into a [`Node`] tree and the rest is plain code. The config is
//! read on every call, so this is also kept cheap in fuel: a few hundred rules
//! must fit in the 10M-instruction budget.

use std::fmt;

use leadwire_sdk::{Error, Result, host};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A config value: what TOML can hold, as the host hands it over (JSON).
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
    List(Vec<Node>),
    /// Keys in the order written.
    Table(Vec<(String, Node)>),
}

/// A text, a number or a boolean, as written in the config.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Text(String),
    Number(f64),
    Bool(bool),
}

/// The install's config as a table reader (an install with no config is `{}`).
pub fn load() -> Result<Table> {
    // The host's JSON is well-formed and a Node takes any JSON, so there is no
    // path to report: parse it directly, without `host::config`'s path tracking
    // (a third of the parse's fuel).
    let node: Node = serde_json::from_str(&host::config_json())?;
    Table::new(node, String::new())
}

/// `invalid config at `rules[2].points` (rule "vp"): expected a number, found text "lots"`
pub fn error(path: &str, context: &str, message: impl fmt::Display) -> Error {
    let path = if path.is_empty() { "config" } else { path };
    Error::msg(format!("invalid config at `{path}`{context}: {message}"))
}

/// One table of the config, read key by key.
///
/// Paths and contexts are kept in pieces and only formatted for an error: a
/// learned points table has hundreds of rules, and every call reads them all
/// within the plugin's fuel.
pub struct Table {
    /// Where the table is: `rules` with index 2 is `rules[2]`.
    path: String,
    index: Option<usize>,
    /// Appended to error paths, e.g. ` (rule "vp")`.
    context: String,
    entries: Vec<(String, Node)>,
}

impl Table {
    pub fn new(node: Node, path: String) -> Result<Table> {
        Table::at(node, path, None, String::new())
    }

    fn at(node: Node, path: String, index: Option<usize>, context: String) -> Result<Table> {
        let mut table = Table {
            path,
            index,
            context,
            entries: Vec::new(),
        };
        match node {
            Node::Table(entries) => {
                table.entries = entries;
                Ok(table)
            }
            other => Err(error(
                &table.here(),
                "",
                format!("expected a table, found {}", other.kind()),
            )),
        }
    }

    /// Name the table in later errors: `(rule "vp")` for `("rule", "vp")`.
    pub fn set_context(&mut self, kind: &str, name: &str) {
        let parts = [" (", kind, " \"", name, "\")"];
        self.context = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        for part in parts {
            self.context.push_str(part);
        }
    }

    /// This table's path, e.g. `rules[2]`.
    fn here(&self) -> String {
        match self.index {
            Some(i) => format!("{}[{i}]", self.path),
            None => self.path.clone(),
        }
    }

    /// `rules[2].points`
    pub fn path_of(&self, key: &str) -> String {
        let here = self.here();
        if here.is_empty() {
            key.to_string()
        } else {
            format!("{here}.{key}")
        }
    }

    /// An error about `key` of this table.
    pub fn error(&self, key: &str, message: impl fmt::Display) -> Error {
        error(&self.path_of(key), &self.context, message)
    }

    /// The keys of this table, in order (for tables keyed by name, like `[caps]`).
    pub fn keys(&self) -> Vec<String> {
        self.entries.iter().map(|(k, _)| k.clone()).collect()
    }

    /// Reject keys outside the `known` lists: typos, or options this plugin does
    /// not have.
    pub fn only(&self, known: &[&[&str]]) -> Result<()> {
        let is_known = |key: &str| known.iter().any(|keys| keys.contains(&key));
        let Some((key, _)) = self.entries.iter().find(|(k, _)| !is_known(k)) else {
            return Ok(());
        };
        let known = known.concat();
        let close_enough = if key.chars().count() <= 3 { 1 } else { 2 };
        let nearest = known
            .iter()
            .map(|k| (edit_distance(k, key), k))
            .filter(|(distance, _)| *distance <= close_enough)
            .min_by_key(|(distance, _)| *distance);
        let message = match nearest.map(|(_, k)| k) {
            Some(near) => format!("unknown key `{key}`: did you mean `{near}`?"),
            None => format!("unknown key `{key}`; expected one of: {}", known.join(", ")),
        };
        Err(self.error(key, message))
    }

    /// Whether the table holds `key` (and it was not taken yet).
    pub fn has(&self, key: &str) -> bool {
        self.entries
            .iter()
            .any(|(k, v)| k == key && *v != Node::Null)
    }

    /// Take a key's value; `None` when absent (TOML has no null, so null is absent too).
    pub fn take(&mut self, key: &str) -> Option<Node> {
        let i = self.entries.iter().position(|(k, _)| k == key)?;
        match std::mem::replace(&mut self.entries[i].1, Node::Null) {
            Node::Null => None,
            node => Some(node),
        }
    }

    pub fn text(&mut self, key: &str) -> Result<Option<String>> {
        match self.take(key) {
            None => Ok(None),
            Some(Node::Text(t)) => Ok(Some(t)),
            Some(other) => Err(self.expected(key, "a text", &other)),
        }
    }

    pub fn number(&mut self, key: &str) -> Result<Option<f64>> {
        match self.take(key) {
            None => Ok(None),
            Some(Node::Number(n)) => Ok(Some(n)),
            Some(other) => Err(self.expected(key, "a number", &other)),
        }
    }

    /// A whole number, at least 0.
    pub fn count(&mut self, key: &str) -> Result<Option<u32>> {
        match self.number(key)? {
            None => Ok(None),
            Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= u32::MAX as f64 => Ok(Some(n as u32)),
            Some(n) => Err(self.error(key, format!("expected a whole number, found {n}"))),
        }
    }

    pub fn boolean(&mut self, key: &str) -> Result<Option<bool>> {
        match self.take(key) {
            None => Ok(None),
            Some(Node::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(self.expected(key, "true or false", &other)),
        }
    }

    /// A text, a number or a boolean.
    pub fn scalar(&mut self, key: &str) -> Result<Option<Scalar>> {
        match self.take(key) {
            None => Ok(None),
            Some(node) => node
                .into_scalar()
                .map(Some)
                .map_err(|other| self.expected(key, "a text, a number or true/false", &other)),
        }
    }

    /// A list of texts, numbers or booleans.
    pub fn scalars(&mut self, key: &str) -> Result<Option<Vec<Scalar>>> {
        let Some(items) = self.list(key)? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let item = item.into_scalar().map_err(|other| {
                self.expected(
                    &format!("{key}[{i}]"),
                    "a text, a number or true/false",
                    &other,
                )
            })?;
            out.push(item);
        }
        Ok(Some(out))
    }

    /// One text or a list of texts: `contains = "VP"` or `contains = ["VP", "Head"]`.
    pub fn texts(&mut self, key: &str) -> Result<Option<Vec<String>>> {
        let items = match self.take(key) {
            None => return Ok(None),
            Some(Node::Text(t)) => return Ok(Some(vec![t])),
            Some(Node::List(items)) => items,
            Some(other) => return Err(self.expected(key, "a text or a list of texts", &other)),
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            match item {
                Node::Text(t) => out.push(t),
                other => return Err(self.expected(&format!("{key}[{i}]"), "a text", &other)),
            }
        }
        Ok(Some(out))
    }

    pub fn numbers(&mut self, key: &str) -> Result<Option<Vec<f64>>> {
        let Some(items) = self.list(key)? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            match item {
                Node::Number(n) => out.push(n),
                other => return Err(self.expected(&format!("{key}[{i}]"), "a number", &other)),
            }
        }
        Ok(Some(out))
    }

    pub fn list(&mut self, key: &str) -> Result<Option<Vec<Node>>> {
        match self.take(key) {
            None => Ok(None),
            Some(Node::List(items)) => Ok(Some(items)),
            Some(other) => Err(self.expected(key, "a list", &other)),
        }
    }

    /// A sub-table, e.g. `[grade]`.
    pub fn table(&mut self, key: &str) -> Result<Option<Table>> {
        let Some(node) = self.take(key) else {
            return Ok(None);
        };
        Table::at(node, self.path_of(key), None, self.context.clone()).map(Some)
    }

    /// A list of tables, e.g. `[[rules]]`; each knows its path `rules[i]`.
    pub fn tables(&mut self, key: &str) -> Result<Vec<Table>> {
        let Some(items) = self.list(key)? else {
            return Ok(Vec::new());
        };
        let path = self.path_of(key);
        let mut tables = Vec::with_capacity(items.len());
        for (i, node) in items.into_iter().enumerate() {
            tables.push(Table::at(
                node,
                path.clone(),
                Some(i),
                self.context.clone(),
            )?);
        }
        Ok(tables)
    }

    fn expected(&self, key: &str, what: &str, found: &Node) -> Error {
        self.error(key, format!("expected {what}, found {}", found.kind()))
    }
}

/// Levenshtein distance, for "did you mean" on short key names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

impl Node {
    /// What the admin wrote, for errors: `text "lots"`, `a table`.
    fn kind(&self) -> String {
        match self {
            Node::Null => "nothing".into(),
            Node::Bool(b) => format!("{b}"),
            Node::Number(n) => format!("the number {n}"),
            Node::Text(t) => format!("text \"{t}\""),
            Node::List(_) => "a list".into(),
            Node::Table(_) => "a table".into(),
        }
    }

    fn into_scalar(self) -> Result<Scalar, Node> {
        match self {
            Node::Text(t) => Ok(Scalar::Text(t)),
            Node::Number(n) => Ok(Scalar::Number(n)),
            Node::Bool(b) => Ok(Scalar::Bool(b)),
            other => Err(other),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a config value")
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Number(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Number(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Number(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Text(v.into()))
            }
            fn visit_string<E>(self, v: String) -> Result<Node, E> {
                Ok(Node::Text(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Node>()? {
                    entries.push((key, value));
                }
                Ok(Node::Table(entries))
            }
        }
        d.deserialize_any(V)
    }
}

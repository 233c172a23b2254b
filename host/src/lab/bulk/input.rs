//! Rows in, leads out: a CSV file (headers become field names, cells typed by
//! the `[input]` mapping) or a JSONL file (one lead file per line), streamed
//! so a file of any size runs in constant memory.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value as Json;

use crate::bindings::types::{Event, Field, Lead, Trigger, Value};
pub use crate::config::{ColumnType, InputConfig};
use crate::lead::{LeadFile, parse_time};

/// The command line's say over the mapping, applied on top of `[input]`.
#[derive(Debug, Clone, Default)]
pub struct InputOptions {
    pub id_column: Option<String>,
    pub null_values: Vec<String>,
    /// The event time when no column gives one (ms since the epoch).
    pub default_at: i64,
    /// A column taken out of the lead and returned beside it (backtest's outcome).
    pub outcome: Option<String>,
    /// A column returned beside the lead and left in it (backtest's `--by`).
    pub by: Option<String>,
}

/// The source of a lead that does not name its own.
pub const SOURCE: &str = "bulk";

/// One row, read: the lead and event as plugins receive them.
pub struct Row {
    /// The line the row starts on (1 is the header line of a CSV).
    pub line: u64,
    pub lead: Lead,
    pub event: Event,
    /// The outcome column's raw value, if one was asked for.
    pub outcome: Option<String>,
    /// The `by` column's value (None when empty or absent).
    pub by: Option<String>,
}

/// A row as read, not yet typed: typing and conversion run on the worker
/// threads ([`RawRow::parse`]), so the reading thread is not the bottleneck.
pub enum RawRow {
    Csv {
        record: csv::StringRecord,
        line: u64,
        mapping: Arc<CsvMapping>,
    },
    Jsonl {
        text: String,
        line: u64,
        options: Arc<InputOptions>,
    },
}

impl RawRow {
    pub fn parse(self) -> Result<Row, RowError> {
        match self {
            RawRow::Csv {
                record,
                line,
                mapping,
            } => mapping.row(&record, line),
            RawRow::Jsonl {
                text,
                line,
                options,
            } => options.jsonl_row(line, &text),
        }
    }
}

/// A row that cannot be read: where, and why.
#[derive(Debug, Clone)]
pub struct RowError {
    pub line: u64,
    pub message: String,
    /// The lead's id, when the row got as far as naming one.
    pub lead_id: Option<String>,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Header { path: String, message: String },
    #[error("{path}: unknown input format (name it .csv or .jsonl)")]
    Format { path: String },
}

/// A stream of rows from a file, with how far into the file it has read (for
/// progress) and its size.
pub struct Rows {
    inner: Box<dyn Iterator<Item = Result<RawRow, RowError>> + Send>,
    pub bytes_read: Arc<AtomicU64>,
    pub total_bytes: u64,
}

impl Iterator for Rows {
    type Item = Result<RawRow, RowError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

/// Open a `.csv` or `.jsonl` (`.ndjson`) file.
pub fn open(path: &Path, config: &InputConfig, options: &InputOptions) -> Result<Rows, InputError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|source| InputError::Open {
        path: name.clone(),
        source,
    })?;
    let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bytes_read = Arc::new(AtomicU64::new(0));
    let counted = CountingReader {
        inner: file,
        count: bytes_read.clone(),
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let inner: Box<dyn Iterator<Item = Result<RawRow, RowError>> + Send> = match ext.as_str() {
        "csv" => Box::new(CsvRows::new(counted, config, options, &name)?),
        "jsonl" | "ndjson" => Box::new(JsonlRows {
            lines: BufReader::with_capacity(1 << 16, counted),
            line: 0,
            options: Arc::new(options.clone()),
            done: false,
        }),
        _ => return Err(InputError::Format { path: name }),
    };
    Ok(Rows {
        inner,
        bytes_read,
        total_bytes,
    })
}

struct CountingReader {
    inner: File,
    count: Arc<AtomicU64>,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// What each column of a CSV becomes.
#[derive(Clone, Copy, PartialEq)]
enum Slot {
    Field(Option<ColumnType>),
    Id,
    Email,
    CompanyDomain,
    CreatedAt,
    Outcome,
}

struct CsvRows {
    reader: csv::Reader<CountingReader>,
    mapping: Arc<CsvMapping>,
    done: bool,
    /// The csv crate counts lines one short when the header line ends in
    /// CRLF (as in most CRM and spreadsheet exports); this puts it right.
    line_offset: u64,
}

impl CsvRows {
    fn new(
        mut file: CountingReader,
        config: &InputConfig,
        options: &InputOptions,
        path: &str,
    ) -> Result<CsvRows, InputError> {
        let line_offset = u64::from(header_ends_in_crlf(&mut file.inner));
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .buffer_capacity(1 << 16)
            .from_reader(file);
        let header_error = |message: String| InputError::Header {
            path: path.to_string(),
            message,
        };
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| header_error(format!("cannot read the header line: {e}")))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let find = |what: &str, name: &str| -> Result<usize, InputError> {
            headers.iter().position(|h| h == name).ok_or_else(|| {
                header_error(format!(
                    "the {what} column `{name}` is not in the header (columns: {})",
                    headers.join(", ")
                ))
            })
        };
        // An explicit mapping must name a real column; a default may be absent.
        let pick = |what: &str, given: Option<&String>, default: &str| match given {
            Some(name) => find(what, name).map(Some),
            None => Ok(headers.iter().position(|h| h == default)),
        };
        let id_name = options.id_column.as_ref().or(config.id.as_ref());
        let id = pick("id", id_name, "id")?;
        let email = pick("email", config.email.as_ref(), "email")?;
        let domain = pick(
            "company domain",
            config.company_domain.as_ref(),
            "company_domain",
        )?;
        let created = pick("created-at", config.created_at.as_ref(), "created_at")?;
        let event_at = match &config.event_at {
            Some(name) => Some(find("event time", name)?),
            None => headers.iter().position(|h| h == "event_at").or(created),
        };
        let outcome = match &options.outcome {
            Some(name) => Some(find("outcome", name)?),
            None => None,
        };
        let by = match &options.by {
            Some(name) => Some(find("--by", name)?),
            None => None,
        };
        for name in config.types.keys() {
            find("typed", name)?;
        }
        let mut seen = HashSet::new();
        if let Some(dup) = headers.iter().find(|h| !seen.insert(h.as_str())) {
            return Err(header_error(format!(
                "the column `{dup}` appears twice in the header"
            )));
        }
        let slots: Vec<Slot> = headers
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let is = |c: Option<usize>| c == Some(i);
                if is(outcome) {
                    Slot::Outcome
                } else if is(id) {
                    Slot::Id
                } else if is(email) {
                    Slot::Email
                } else if is(domain) {
                    Slot::CompanyDomain
                } else if is(created) {
                    Slot::CreatedAt
                } else {
                    Slot::Field(config.types.get(name).copied())
                }
            })
            .collect();
        // Typically none or a few ("N/A", "Select"): a list beats hashing
        // every cell.
        let mut nulls: Vec<String> = config
            .null_values
            .iter()
            .chain(&options.null_values)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        nulls.sort();
        nulls.dedup();
        // A lead's fields are in name order, whatever the columns' order.
        let mut field_order: Vec<usize> = (0..headers.len())
            .filter(|i| matches!(slots[*i], Slot::Field(_)))
            .collect();
        field_order.sort_by(|a, b| headers[*a].cmp(&headers[*b]));
        Ok(CsvRows {
            reader,
            mapping: Arc::new(CsvMapping {
                headers,
                slots,
                field_order,
                event_at,
                by,
                nulls,
                separator: config.list_separator.clone().unwrap_or_else(|| ";".into()),
                default_at: options.default_at,
            }),
            done: false,
            line_offset,
        })
    }
}

/// How a CSV record becomes a lead: shared by the worker threads, which do
/// the typing (the reader thread only splits records).
pub struct CsvMapping {
    headers: Vec<String>,
    slots: Vec<Slot>,
    /// The field columns, by name.
    field_order: Vec<usize>,
    event_at: Option<usize>,
    by: Option<usize>,
    /// Cell values meaning "no value", besides the empty cell.
    nulls: Vec<String>,
    separator: String,
    default_at: i64,
}

impl CsvMapping {
    fn is_null(&self, cell: &str) -> bool {
        cell.is_empty() || self.nulls.iter().any(|null| null == cell)
    }

    /// The record as the contract's lead, typed straight from its cells.
    fn row(&self, record: &csv::StringRecord, line: u64) -> Result<Row, RowError> {
        let error = |message: String| RowError {
            line,
            message,
            lead_id: None,
        };
        let mut lead = Lead {
            id: String::new(),
            source: SOURCE.to_string(),
            email: None,
            company_domain: None,
            owner: None,
            lifecycle_stage: None,
            fields: Vec::with_capacity(self.field_order.len()),
            activities: Vec::new(),
            created_at: None,
        };
        let mut outcome = None;
        let mut event_at = None;
        let mut by = None;
        for (i, raw) in record.iter().enumerate() {
            let cell = raw.trim();
            let null = self.is_null(cell);
            let column = &self.headers[i];
            let text = || (!null).then(|| cell.to_string());
            if Some(i) == self.by {
                by = text();
            }
            match self.slots[i] {
                Slot::Outcome => outcome = Some(cell.to_string()),
                Slot::Id => lead.id = cell.to_string(),
                Slot::Email => lead.email = text(),
                Slot::CompanyDomain => lead.company_domain = text(),
                Slot::CreatedAt => {
                    if !null {
                        let at = parse_time(cell)
                            .ok_or_else(|| error(format!("column `{column}`: `{cell}` is not a date or time (use RFC 3339, e.g. 2026-11-20T10:00:00Z, or 2026-11-20)")))?;
                        lead.created_at = Some(at);
                    }
                }
                Slot::Field(_) => {}
            }
            if Some(i) == self.event_at && !null {
                event_at = Some(parse_time(cell).ok_or_else(|| {
                    error(format!("column `{column}`: `{cell}` is not a date or time"))
                })?);
            }
        }
        for &i in &self.field_order {
            let (cell, column) = (record.get(i).unwrap_or_default().trim(), &self.headers[i]);
            let Slot::Field(kind) = self.slots[i] else {
                continue;
            };
            let value = if self.is_null(cell) {
                Value::Null
            } else {
                self.typed(cell, kind)
                    .map_err(|m| error(format!("column `{column}`: {m}")))?
            };
            lead.fields.push(Field {
                name: column.clone(),
                value,
            });
        }
        if self.slots.contains(&Slot::Id) {
            if lead.id.is_empty() {
                return Err(error("the id cell is empty".into()));
            }
        } else {
            lead.id = format!("row-{line}");
        }
        let at = event_at.unwrap_or(self.default_at);
        Ok(Row {
            line,
            event: Event {
                id: format!("{}#{line}", lead.id),
                trigger: Trigger::Created,
                changed: Vec::new(),
                at,
            },
            lead,
            outcome,
            by,
        })
    }

    fn typed(&self, cell: &str, kind: Option<ColumnType>) -> Result<Value, String> {
        Ok(match kind {
            Some(ColumnType::Text) => Value::Text(cell.to_string()),
            Some(ColumnType::Number) => {
                Value::Number(number(cell).ok_or_else(|| format!("`{cell}` is not a number"))?)
            }
            Some(ColumnType::Boolean) => {
                Value::Boolean(boolean(cell).ok_or_else(|| {
                    format!("`{cell}` is not a boolean (true/false, yes/no, 1/0)")
                })?)
            }
            Some(ColumnType::Time) => Value::Time(parse_time(cell).ok_or_else(|| {
                format!("`{cell}` is not a date or time (use RFC 3339 or YYYY-MM-DD)")
            })?),
            Some(ColumnType::List) => Value::List(
                cell.split(self.separator.as_str())
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
            None => number(cell)
                .map(Value::Number)
                .or_else(|| match cell.to_ascii_lowercase().as_str() {
                    "true" => Some(Value::Boolean(true)),
                    "false" => Some(Value::Boolean(false)),
                    _ => None,
                })
                .unwrap_or_else(|| Value::Text(cell.to_string())),
        })
    }
}

impl Iterator for CsvRows {
    type Item = Result<RawRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut record = csv::StringRecord::new();
        match self.reader.read_record(&mut record) {
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line()) + self.line_offset;
                Some(Ok(RawRow::Csv {
                    record,
                    line,
                    mapping: self.mapping.clone(),
                }))
            }
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line()) + self.line_offset;
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!(
                        "{len} cells where the header has {expected_len} (a stray comma or an unquoted line break?)"
                    ),
                    csv::ErrorKind::Utf8 { .. } => {
                        "not valid UTF-8 (save the file as UTF-8)".into()
                    }
                    csv::ErrorKind::Io(_) => {
                        // A read error ends the file: nothing after it can be trusted.
                        self.done = true;
                        format!("cannot read on: {e}")
                    }
                    _ => e.to_string(),
                };
                Some(Err(RowError {
                    line,
                    message,
                    lead_id: None,
                }))
            }
        }
    }
}

/// Whether the first line ends in `\r\n` (read ahead, then rewound).
fn header_ends_in_crlf(file: &mut File) -> bool {
    use std::io::{Seek, SeekFrom};
    let mut head = vec![0u8; 1 << 16];
    let n = file.read(&mut head).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(0));
    head[..n]
        .iter()
        .position(|b| *b == b'\n')
        .is_some_and(|i| i > 0 && head[i - 1] == b'\r')
}

/// A cell as a finite number; `01234` (a zip or a code) stays text.
fn number(cell: &str) -> Option<f64> {
    let digits = cell.trim_start_matches(['-', '+']);
    if digits.len() > 1 && digits.starts_with('0') && !digits.starts_with("0.") {
        return None;
    }
    if !cell
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    let n: f64 = cell.parse().ok()?;
    n.is_finite().then_some(n)
}

fn boolean(cell: &str) -> Option<bool> {
    match cell.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "t" => Some(true),
        "false" | "no" | "n" | "0" | "f" => Some(false),
        _ => None,
    }
}

struct JsonlRows {
    lines: BufReader<CountingReader>,
    line: u64,
    options: Arc<InputOptions>,
    done: bool,
}

impl Iterator for JsonlRows {
    type Item = Result<RawRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut text = String::new();
        while !self.done {
            text.clear();
            self.line += 1;
            let line = self.line;
            match self.lines.read_line(&mut text) {
                Ok(0) => return None,
                Ok(_) if text.trim().is_empty() => continue,
                Ok(_) => {
                    return Some(Ok(RawRow::Jsonl {
                        text: std::mem::take(&mut text),
                        line,
                        options: self.options.clone(),
                    }));
                }
                Err(e) => {
                    // A line that is not UTF-8 has been read past: go on after
                    // it. Any other read error ends the file.
                    let message = if e.kind() == std::io::ErrorKind::InvalidData {
                        "not valid UTF-8 (save the file as UTF-8)".to_string()
                    } else {
                        self.done = true;
                        format!("cannot read on: {e}")
                    };
                    return Some(Err(RowError {
                        line,
                        message,
                        lead_id: None,
                    }));
                }
            }
        }
        None
    }
}

impl InputOptions {
    fn jsonl_row(&self, line: u64, text: &str) -> Result<Row, RowError> {
        let (mut lead, event) = LeadFile::parse(text).map_err(|e| RowError {
            line,
            message: e.to_string(),
            lead_id: None,
        })?;
        let outcome = match &self.outcome {
            Some(column) => match lead.fields.remove(column) {
                Some(Json::String(s)) => Some(s),
                Some(Json::Null) | None => Some(String::new()),
                Some(other) => Some(other.to_string()),
            },
            None => None,
        };
        let by = self
            .by
            .as_ref()
            .and_then(|column| lead.fields.get(column))
            .and_then(|v| match v {
                Json::Null => None,
                Json::String(s) if s.is_empty() => None,
                Json::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            });
        let id = (!lead.id.trim().is_empty()).then(|| lead.id.clone());
        let error = |e: crate::lead::LeadError| RowError {
            line,
            message: e.to_string(),
            lead_id: id.clone(),
        };
        let lead = lead.into_lead(SOURCE).map_err(error)?;
        let mut event = event.unwrap_or_default();
        if event.id.is_none() {
            event.id = Some(format!("{}#{line}", lead.id));
        }
        let event = event.to_event(&lead.id, self.default_at).map_err(error)?;
        Ok(Row {
            line,
            lead,
            event,
            outcome,
            by,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(csv: &str, config: &InputConfig, options: &InputOptions) -> Vec<Result<Row, RowError>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, csv).unwrap();
        open(&path, config, options)
            .unwrap()
            .map(|r| r.and_then(RawRow::parse))
            .collect()
    }

    #[test]
    fn headers_become_fields_and_cells_are_typed() {
        let config = InputConfig {
            null_values: vec!["Select".into()],
            types: [
                ("tags".to_string(), ColumnType::List),
                ("optin".to_string(), ColumnType::Boolean),
            ]
            .into_iter()
            .collect(),
            ..InputConfig::default()
        };
        let out = rows(
            "id,email,visits,zip,country,tags,optin,created_at\r\n7,a@x.com,3.5,01234,Select,a; b,Yes,2026-11-01\r\n",
            &config,
            &InputOptions::default(),
        );
        let row = out[0].as_ref().unwrap();
        assert_eq!(row.line, 2);
        assert_eq!(row.lead.id, "7");
        assert_eq!(row.lead.email.as_deref(), Some("a@x.com"));
        assert_eq!(row.lead.source, "bulk");
        assert_eq!(row.lead.created_at, Some(1_793_491_200_000));
        // Fields in name order, typed.
        let f: Vec<String> = row
            .lead
            .fields
            .iter()
            .map(|f| format!("{} {:?}", f.name, f.value))
            .collect();
        assert_eq!(
            f,
            [
                "country Value::Null",
                "optin Value::Boolean(true)",
                r#"tags Value::List(["a", "b"])"#,
                "visits Value::Number(3.5)",
                r#"zip Value::Text("01234")"#,
            ]
        );
        // The event is at the created-at time, and its id names the row.
        assert_eq!(row.event.at, 1_793_491_200_000);
        assert_eq!(row.event.id, "7#2");
        assert!(matches!(row.event.trigger, Trigger::Created));
    }

    #[test]
    fn line_numbers_are_right_with_crlf_and_cells_over_several_lines() {
        for nl in ["\n", "\r\n"] {
            let csv = format!("id,note{nl}a,x{nl}b,\"two{nl}lines\"{nl}c,y,z{nl}d,w{nl}");
            let out = rows(&csv, &InputConfig::default(), &InputOptions::default());
            let lines: Vec<u64> = out
                .iter()
                .map(|r| r.as_ref().map_or_else(|e| e.line, |r| r.line))
                .collect();
            assert_eq!(lines, [2, 3, 5, 6], "line ending {nl:?}");
        }
    }

    #[test]
    fn a_jsonl_line_that_is_not_utf8_is_an_error_on_its_line_and_the_next_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.jsonl");
        let mut bytes = br#"{"id": "a"}"#.to_vec();
        bytes.extend_from_slice(b"\n{\"id\": \"\xff\"}\n\n");
        bytes.extend_from_slice(br#"{"id": "c"}"#);
        std::fs::write(&path, bytes).unwrap();
        let out: Vec<_> = open(&path, &InputConfig::default(), &InputOptions::default())
            .unwrap()
            .map(|r| r.and_then(RawRow::parse))
            .collect();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].as_ref().unwrap().lead.id, "a");
        let e = out[1].as_ref().err().unwrap();
        assert_eq!(
            (e.line, e.message.as_str()),
            (2, "not valid UTF-8 (save the file as UTF-8)")
        );
        let c = out[2].as_ref().unwrap();
        assert_eq!((c.line, c.lead.id.as_str()), (4, "c"));
    }

    #[test]
    fn a_jsonl_lead_with_a_bad_value_is_an_error_that_keeps_its_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.jsonl");
        std::fs::write(
            &path,
            "{\"id\": \"x\", \"fields\": {\"a\": {\"b\": 1}}}\n{\"id\": \"y\"}\n",
        )
        .unwrap();
        let out: Vec<_> = open(&path, &InputConfig::default(), &InputOptions::default())
            .unwrap()
            .map(|r| r.and_then(RawRow::parse))
            .collect();
        let e = out[0].as_ref().err().unwrap();
        assert_eq!((e.line, e.lead_id.as_deref()), (1, Some("x")));
        assert!(
            e.message
                .starts_with("fields.a: an object is not a field value"),
            "{e}"
        );
        let y = out[1].as_ref().unwrap();
        assert_eq!((y.lead.id.as_str(), y.lead.source.as_str()), ("y", "bulk"));
        assert_eq!(y.event.id, "y#2");
    }

    #[test]
    fn bad_rows_name_their_line_and_the_rest_still_reads() {
        let config = InputConfig {
            types: [("n".to_string(), ColumnType::Number)]
                .into_iter()
                .collect(),
            ..InputConfig::default()
        };
        let out = rows(
            "n,x\n1,a\n2\nabc,b\n4,d\n",
            &config,
            &InputOptions::default(),
        );
        assert_eq!(out.len(), 4);
        assert_eq!(out[0].as_ref().unwrap().lead.id, "row-2");
        let e = out[1].as_ref().err().unwrap();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("1 cells where the header has 2"), "{e}");
        let e = out[2].as_ref().err().unwrap();
        assert_eq!(e.line, 4);
        assert!(e.message.contains("`abc` is not a number"), "{e}");
        assert!(out[3].is_ok());
    }

    #[test]
    fn a_mapping_that_names_a_missing_column_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        let options = InputOptions {
            id_column: Some("Lead Id".into()),
            ..InputOptions::default()
        };
        let Err(e) = open(&path, &InputConfig::default(), &options) else {
            panic!("opened")
        };
        assert!(
            e.to_string()
                .contains("`Lead Id` is not in the header (columns: a, b)"),
            "{e}"
        );
    }

    #[test]
    fn the_outcome_column_is_kept_out_of_the_lead() {
        let options = InputOptions {
            outcome: Some("won".into()),
            ..InputOptions::default()
        };
        let out = rows("id,won,x\n1,1,a\n", &InputConfig::default(), &options);
        let row = out[0].as_ref().unwrap();
        assert_eq!(row.outcome.as_deref(), Some("1"));
        assert!(row.lead.fields.iter().all(|f| f.name != "won"));
    }
}

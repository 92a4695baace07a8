//! JSON documents: Hugging Face `trainer_state.json` (`log_history` training and eval
//! entries), run exports with `config` / `summary` / `history` (W&B-style, e.g. the
//! Schaipp runs), an array of records, or an object of columns.
//!
//! Python writes `NaN` and `Infinity` into JSON (a diverged run's loss); those bare
//! tokens are read as non-finite values, which are then reported like in any format.
//! A document is parsed whole, so its size is bounded by `max_json_bytes`.

use std::borrow::Cow;
use std::collections::HashMap;

use polars::prelude::*;
use serde_json::{Map, Value};

use super::super::mapping::Mapping;
use super::super::origin::Origin;
use super::super::roles::{self, Role};
use super::{FileAttrs, IngestError, Limits, ParsedFile, TableInfo};

/// Nested objects in a record are flattened to `a/b` keys down to this depth.
const MAX_FLATTEN_DEPTH: usize = 4;

pub fn read(
    file: &str,
    text: &str,
    mapping: &Mapping,
    limits: &Limits,
) -> Result<ParsedFile, IngestError> {
    if text.len() > limits.max_json_bytes {
        return Err(IngestError::too_large(
            file,
            "max_json_bytes",
            format!(
                "a JSON document of {} bytes, more than {} (JSON lines have no such limit)",
                text.len(),
                limits.max_json_bytes
            ),
        ));
    }
    let value = parse(file, text)?;
    let default_run = super::run_name_for(file);
    match value {
        Value::Object(map) if map.get("log_history").is_some_and(Value::is_array) => {
            trainer_state(file, map, mapping, limits)
        }
        Value::Object(map) if map.contains_key("history") => run_export(file, map, mapping, limits),
        Value::Array(items) => {
            let mut records = Records::default();
            for (i, item) in items.iter().enumerate() {
                records.push(item, format!("[{i}]"));
            }
            records.into_file(file, "json", default_run, Vec::new(), mapping, limits)
        }
        Value::Object(map) if is_column_object(&map) => {
            let records = Records::from_columns(&map, "");
            records.into_file(file, "json", default_run, Vec::new(), mapping, limits)
        }
        Value::Object(map) => Err(IngestError::missing(
            file,
            format!(
                "a JSON object with the keys [{}]: expected `log_history` (trainer_state.json), `history` (a run \
                 export), an array of records, or an object of columns",
                map.keys().take(20).cloned().collect::<Vec<_>>().join(", ")
            ),
        )),
        _ => Err(IngestError::malformed(
            file,
            "the JSON document is not an object or an array",
        )),
    }
}

/// Parses JSON, reading Python's bare `NaN` / `Infinity` as strings; errors say where.
pub fn parse(file: &str, text: &str) -> Result<Value, IngestError> {
    let text = python_tokens_as_strings(text);
    serde_json::from_str(&text).map_err(|e| {
        IngestError::malformed(file, format!("not valid JSON: {e}")).with_line(e.line().max(1))
    })
}

/// `NaN`, `Infinity`, `-Infinity` outside strings become `"NaN"`, ... (parsed later as
/// non-finite numbers).
pub fn python_tokens_as_strings(text: &str) -> Cow<'_, str> {
    if !text.contains("NaN") && !text.contains("Infinity") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t));
        if let Some(token) = token {
            out.push('"');
            out.push_str(token);
            out.push('"');
            rest = &rest[token.len()..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    Cow::Owned(out)
}

fn is_column_object(map: &Map<String, Value>) -> bool {
    !map.is_empty()
        && map.values().all(|v| {
            v.as_array()
                .is_some_and(|a| a.iter().all(|x| !x.is_object() && !x.is_array()))
        })
}

/// Hugging Face `trainer_state.json`.
fn trainer_state(
    file: &str,
    map: Map<String, Value>,
    mapping: &Mapping,
    limits: &Limits,
) -> Result<ParsedFile, IngestError> {
    let mut records = Records::default();
    if let Some(Value::Array(entries)) = map.get("log_history") {
        for (i, entry) in entries.iter().enumerate() {
            records.push(entry, format!("log_history[{i}]"));
        }
    }
    let mut attrs: FileAttrs = Vec::new();
    if let Some(batch) = map.get("train_batch_size").and_then(number) {
        attrs.push((
            Role::BatchSize,
            batch,
            "trainer_state train_batch_size (per device, before accumulation)".into(),
        ));
    }
    records.into_file(
        file,
        "hf_trainer_state",
        super::run_name_for(file),
        attrs,
        mapping,
        limits,
    )
}

/// A run export: `{"name", "config", "summary", "history": {group: {col: [...]}}}` or
/// with `history` as records or columns.
fn run_export(
    file: &str,
    map: Map<String, Value>,
    mapping: &Mapping,
    limits: &Limits,
) -> Result<ParsedFile, IngestError> {
    let name = map
        .get("name")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| super::run_name_for(file));
    let mut records = Records::default();
    match map.get("history") {
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                records.push(item, format!("history[{i}]"));
            }
        }
        Some(Value::Object(history)) if is_column_object(history) => {
            records.append_columns(history, "history")
        }
        Some(Value::Object(groups)) => {
            for (group, value) in groups {
                match value {
                    Value::Object(columns) if is_column_object(columns) => {
                        records.append_columns(columns, &format!("history.{group}"))
                    }
                    Value::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            records.push(item, format!("history.{group}[{i}]"));
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {
            return Err(IngestError::missing(
                file,
                "`history` is neither records, columns, nor groups of columns",
            ));
        }
    }
    let attrs = config_attrs(&map);
    records.into_file(file, "run_json", name, attrs, mapping, limits)
}

/// Run-level numbers of a run export's `config` and `summary`; the global batch is
/// the per-device batch x accumulation steps x world size when those are given.
fn config_attrs(map: &Map<String, Value>) -> FileAttrs {
    let mut attrs: FileAttrs = Vec::new();
    let mut multipliers = Vec::new();
    for section in ["config", "summary"] {
        let Some(Value::Object(values)) = map.get(section) else {
            continue;
        };
        for (key, value) in values {
            let Some(v) = number(value) else { continue };
            let norm = roles::normalize(key);
            if matches!(
                norm.as_str(),
                "acc_steps" | "gradient_accumulation_steps" | "grad_accum" | "accumulation_steps"
            ) {
                multipliers.push((key.clone(), v));
            } else if matches!(norm.as_str(), "world_size" | "num_gpus" | "n_gpus") {
                multipliers.push((key.clone(), v));
            }
            if let Some(role) = roles::detect(key).filter(|r| r.is_run_level())
                && !attrs.iter().any(|(r, _, _)| *r == role)
            {
                attrs.push((role, v, format!("{section}.{key}")));
            }
        }
    }
    if let Some(batch) = attrs.iter_mut().find(|(r, _, _)| *r == Role::BatchSize)
        && !multipliers.is_empty()
    {
        for (key, m) in &multipliers {
            batch.1 *= m;
            batch.2.push_str(&format!(" x {key}"));
        }
    }
    attrs
}

fn number(value: &Value) -> Option<f64> {
    value.as_f64()
}

/// A sparse table built from JSON records: one column per key seen.
#[derive(Default)]
pub struct Records {
    names: Vec<String>,
    index: HashMap<String, usize>,
    columns: Vec<Cells>,
    labels: Vec<String>,
    /// For JSON lines: the line of each record.
    lines: Vec<u32>,
}

enum Cells {
    Numbers(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
}

impl Records {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Adds one record (an object; anything else is an empty row).
    pub fn push(&mut self, record: &Value, label: String) {
        let row = self.labels.len();
        self.labels.push(label);
        if let Value::Object(map) = record {
            self.push_object(map, "", row, 0);
        }
    }

    fn push_object(&mut self, map: &Map<String, Value>, prefix: &str, row: usize, depth: usize) {
        for (key, value) in map {
            let name = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}/{key}")
            };
            match value {
                Value::Object(inner) if depth < MAX_FLATTEN_DEPTH => {
                    self.push_object(inner, &name, row, depth + 1)
                }
                Value::Number(n) => self.set(&name, row, Cell::Number(n.as_f64())),
                Value::String(s) => self.set(&name, row, Cell::Text(s.clone())),
                Value::Bool(b) => self.set(&name, row, Cell::Text(b.to_string())),
                _ => {}
            }
        }
    }

    /// Adds one record of a JSON lines file.
    pub fn push_line(&mut self, record: &Value, line: usize) {
        self.lines.push(line as u32);
        self.push(record, String::new());
    }

    /// Adds the rows of an object of columns (`{"iter": [...], "loss": [...]}`).
    pub fn append_columns(&mut self, columns: &Map<String, Value>, label: &str) {
        let height = columns
            .values()
            .filter_map(Value::as_array)
            .map(Vec::len)
            .max()
            .unwrap_or(0);
        let start = self.labels.len();
        self.labels
            .extend((0..height).map(|i| format!("{label}[{i}]")));
        for (key, values) in columns {
            let Some(values) = values.as_array() else {
                continue;
            };
            for (i, value) in values.iter().enumerate() {
                let cell = match value {
                    Value::Number(n) => Cell::Number(n.as_f64()),
                    Value::String(s) => Cell::Text(s.clone()),
                    _ => continue,
                };
                self.set(key, start + i, cell);
            }
        }
    }

    fn from_columns(columns: &Map<String, Value>, label: &str) -> Self {
        let mut records = Self::default();
        records.append_columns(columns, label);
        records
    }

    fn set(&mut self, name: &str, row: usize, cell: Cell) {
        let col = match self.index.get(name) {
            Some(&c) => c,
            None => {
                self.names.push(name.to_string());
                self.columns.push(Cells::Numbers(Vec::new()));
                self.index.insert(name.to_string(), self.names.len() - 1);
                self.names.len() - 1
            }
        };
        let column = &mut self.columns[col];
        if let (Cells::Numbers(values), Cell::Text(_)) = (&*column, &cell) {
            *column = Cells::Text(values.iter().map(|v| v.map(|v| v.to_string())).collect());
        }
        match (column, cell) {
            (Cells::Numbers(values), Cell::Number(v)) => {
                values.resize(row, None);
                values.push(v);
            }
            (Cells::Text(values), cell) => {
                values.resize(row, None);
                values.push(Some(match cell {
                    Cell::Number(v) => v.map(|v| v.to_string()).unwrap_or_default(),
                    Cell::Text(s) => s,
                }));
            }
            (Cells::Numbers(_), Cell::Text(_)) => {}
        }
    }

    /// The table as a polars frame; rows are labelled for errors (`log_history[3]`).
    pub fn into_frame(self, file: &str) -> Result<(DataFrame, Origin), IngestError> {
        let height = self.labels.len();
        let columns: Vec<Column> = self
            .names
            .iter()
            .zip(self.columns)
            .map(|(name, cells)| match cells {
                Cells::Numbers(mut v) => {
                    v.resize(height, None);
                    Column::new(name.as_str().into(), v)
                }
                Cells::Text(mut v) => {
                    v.resize(height, None);
                    Column::new(name.as_str().into(), v)
                }
            })
            .collect();
        let df = DataFrame::new(height, columns)
            .map_err(|e| IngestError::malformed(file, e.to_string()))?;
        let origin = if self.lines.is_empty() {
            Origin::Labels(self.labels)
        } else {
            Origin::LineNumbers(self.lines)
        };
        Ok((df, origin))
    }

    pub fn into_file(
        self,
        file: &str,
        format: &str,
        default_run: String,
        attrs: FileAttrs,
        mapping: &Mapping,
        limits: &Limits,
    ) -> Result<ParsedFile, IngestError> {
        if self.len() > limits.max_rows {
            return Err(IngestError::too_large(
                file,
                "max_rows",
                format!("more than {} records", limits.max_rows),
            ));
        }
        if self.len() == 0 {
            return Err(IngestError::new(
                super::super::IngestErrorKind::Empty,
                file,
                "the JSON holds no records",
            ));
        }
        let (df, origin) = self.into_frame(file)?;
        let info = TableInfo {
            format: format.to_string(),
            origin,
            default_run,
            attrs,
            notes: Vec::new(),
            mapping,
        };
        super::table_file(file, &df, info, limits)
    }
}

enum Cell {
    /// `None`: a number JSON cannot hold as f64.
    Number(Option<f64>),
    Text(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_nan_tokens_become_strings() {
        assert_eq!(
            python_tokens_as_strings(r#"{"loss": NaN, "x": "NaN", "y": -Infinity}"#),
            r#"{"loss": "NaN", "x": "NaN", "y": "-Infinity"}"#
        );
        assert_eq!(
            python_tokens_as_strings(r#"{"a": "say \"NaN\""}"#),
            r#"{"a": "say \"NaN\""}"#
        );
    }
}

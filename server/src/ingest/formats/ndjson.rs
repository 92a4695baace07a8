//! JSON lines (NDJSON): one record per line, e.g. the Gemstones checkpoints or a W&B
//! history export. polars reads flat files fast; files with nested records, Python's
//! `NaN`, blank lines or a bad line are read line by line, so an error names its line.

use std::io::Cursor;

use polars::prelude::*;

use super::super::frame::Kind;
use super::super::mapping::Mapping;
use super::super::origin::Origin;
use super::json::{Records, parse};
use super::{IngestError, Limits, ParsedFile, TableInfo};

pub fn read(
    file: &str,
    text: &str,
    mapping: &Mapping,
    limits: &Limits,
) -> Result<ParsedFile, IngestError> {
    let default_run = super::run_name_for(file);
    let plain = !text.contains("NaN") && !text.contains("Infinity") && !has_blank_lines(text);
    if plain && let Some(df) = fast(text) {
        let info = TableInfo {
            format: "ndjson".into(),
            origin: Origin::Lines { first_line: 1 },
            default_run: default_run.clone(),
            attrs: Vec::new(),
            notes: Vec::new(),
            mapping,
        };
        return super::table_file(file, &df, info, limits);
    }
    let mut records = Records::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if records.len() >= limits.max_rows {
            return Err(IngestError::too_large(
                file,
                "max_rows",
                format!("more than {} records", limits.max_rows),
            ));
        }
        let value = parse(file, line).map_err(|e| IngestError {
            line: Some(i + 1),
            ..e
        })?;
        if !value.is_object() {
            return Err(
                IngestError::malformed(file, "this line is not a JSON object").with_line(i + 1),
            );
        }
        records.push_line(&value, i + 1);
    }
    records.into_file(file, "ndjson", default_run, Vec::new(), mapping, limits)
}

/// polars' reader, when every column comes out flat.
fn fast(text: &str) -> Option<DataFrame> {
    let df = JsonReader::new(Cursor::new(text.as_bytes()))
        .with_json_format(JsonFormat::JsonLines)
        .finish()
        .ok()?;
    df.columns()
        .iter()
        .all(|c| super::super::frame::kind_of(c) != Kind::Other)
        .then_some(df)
}

fn has_blank_lines(text: &str) -> bool {
    text.trim_end().lines().any(|l| l.trim().is_empty())
}

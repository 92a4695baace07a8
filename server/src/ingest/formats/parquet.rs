//! Parquet tables (long or wide, like CSV), read by polars. The row count is checked
//! against `max_rows` from the file's metadata before anything is decoded.
//!
//! polars' Parquet decoder panics on some corrupt files (found by the fuzz tests); such
//! a panic is caught here and reported as a corrupt file. Some corrupt data pages make it
//! abort on a huge allocation instead, so the server and CLI call this reader in a child
//! process (`crate::isolated`; tested in `tests/ingest_fuzz.rs`).

use std::io::Cursor;

use polars::prelude::*;

use super::super::mapping::Mapping;
use super::super::origin::Origin;
use super::{IngestError, Limits, ParsedFile, TableInfo};

pub fn read(
    file: &str,
    bytes: &[u8],
    mapping: &Mapping,
    limits: &Limits,
) -> Result<ParsedFile, IngestError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_unguarded(file, bytes, mapping, limits)
    }))
    .unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned());
        Err(IngestError::malformed(
            file,
            format!(
                "not a readable Parquet file: it is corrupt ({})",
                why.unwrap_or_default()
            ),
        ))
    })
}

fn read_unguarded(
    file: &str,
    bytes: &[u8],
    mapping: &Mapping,
    limits: &Limits,
) -> Result<ParsedFile, IngestError> {
    let bad = |e: PolarsError| {
        IngestError::malformed(
            file,
            format!(
                "not a readable Parquet file: {}",
                first_line(&e.to_string())
            ),
        )
    };
    let mut reader = ParquetReader::new(Cursor::new(bytes));
    let rows = reader.num_rows().map_err(bad)?;
    if rows > limits.max_rows {
        return Err(IngestError::too_large(
            file,
            "max_rows",
            format!("{rows} rows, more than {}", limits.max_rows),
        ));
    }
    let df = reader.finish().map_err(bad)?;
    let info = TableInfo {
        format: "parquet".into(),
        origin: Origin::Rows,
        default_run: super::run_name_for(file),
        attrs: Vec::new(),
        notes: Vec::new(),
        mapping,
    };
    super::table_file(file, &df, info, limits)
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or(message)
}

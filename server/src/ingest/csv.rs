//! CSV and TSV: polars reads every cell as text, so that each number is parsed by us
//! and a bad cell is reported with its exact line and column.

use std::io::Cursor;

use polars::prelude::*;

use super::{IngestError, IngestErrorKind, Limits};

/// A table of text cells, column-wise; `None` is an empty cell.
pub struct TextTable {
    pub columns: Vec<(String, Vec<Option<String>>)>,
    pub n_rows: usize,
}

pub fn read(file_name: &str, bytes: &[u8], limits: &Limits) -> Result<TextTable, IngestError> {
    let malformed =
        |message: String| IngestError::new(IngestErrorKind::Malformed, file_name, message);
    if std::str::from_utf8(bytes).is_err() {
        return Err(malformed(
            "the file is not UTF-8 text (is it a binary file?)".into(),
        ));
    }
    let separator = sniff_separator(bytes);
    let frame = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .with_n_rows(Some(limits.max_rows + 1))
        .map_parse_options(|o| o.with_separator(separator))
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .map_err(|e| malformed(format!("not a readable CSV table: {e}")))?;
    if frame.height() > limits.max_rows {
        return Err(IngestError::new(
            IngestErrorKind::TooLarge,
            file_name,
            format!("more than {} data rows (the row limit)", limits.max_rows),
        ));
    }
    let mut columns = Vec::with_capacity(frame.width());
    for column in frame.columns() {
        let text = column
            .as_materialized_series()
            .str()
            .map_err(|e| malformed(format!("column '{}' is not text: {e}", column.name())))?;
        let cells = text
            .iter()
            .map(|c| c.map(str::trim).filter(|c| !c.is_empty()).map(String::from))
            .collect();
        columns.push((column.name().to_string(), cells));
    }
    Ok(TextTable {
        columns,
        n_rows: frame.height(),
    })
}

/// Tab-separated when the header line has tabs and no commas.
fn sniff_separator(bytes: &[u8]) -> u8 {
    let header = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    if header.contains(&b'\t') && !header.contains(&b',') {
        b'\t'
    } else {
        b','
    }
}

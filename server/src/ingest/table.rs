//! A plain CSV/TSV table as text cells (e.g. a reduced batch sweep: model, batch, steps),
//! for callers that interpret the columns themselves; numbers are parsed on request and a
//! bad cell is reported with its line and column.

use polars::prelude::*;

use super::detect::{count_fields, sniff_separator, strip_bom};
use super::formats::csv::read_frame;
use super::frame::parse_number;
use super::{IngestError, Limits};

/// A table with a header; `cells[row][column]` (None: empty cell). Row `i` is line `i + 2`.
#[derive(Clone, Debug)]
pub struct Table {
    pub file: String,
    pub columns: Vec<String>,
    pub cells: Vec<Vec<Option<String>>>,
}

impl Table {
    /// The index of the first column whose lower-cased name is one of `names`.
    pub fn find(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| {
            self.columns
                .iter()
                .position(|c| c.trim().eq_ignore_ascii_case(n))
        })
    }

    pub fn text(&self, row: usize, col: usize) -> Option<&str> {
        self.cells[row][col].as_deref()
    }

    /// The cell as a number; an empty or non-numeric cell is an error naming line and column.
    pub fn number(&self, row: usize, col: usize) -> Result<f64, IngestError> {
        let text = self.text(row, col).unwrap_or("");
        parse_number(text).ok_or_else(|| {
            IngestError::malformed(&self.file, format!("'{text}' is not a number"))
                .with_line(row + 2)
                .with_column(self.columns[col].clone())
        })
    }
}

/// Reads a CSV or TSV file with a header as text cells.
pub fn read_table(file: &str, bytes: &[u8], limits: &Limits) -> Result<Table, IngestError> {
    if bytes.len() > limits.max_bytes {
        return Err(IngestError::too_large(
            file,
            "max_bytes",
            format!(
                "the file has {} bytes, more than {}",
                bytes.len(),
                limits.max_bytes
            ),
        ));
    }
    let bytes = strip_bom(bytes);
    let text = std::str::from_utf8(bytes)
        .map_err(|e| IngestError::malformed(file, format!("not UTF-8 text: {e}")))?;
    let header = text.lines().next().unwrap_or_default();
    if header.trim().is_empty() {
        return Err(IngestError::new(
            super::IngestErrorKind::Empty,
            file,
            "the file is empty",
        ));
    }
    let separator = sniff_separator(header);
    let df = read_frame(
        file,
        bytes,
        separator,
        Some(limits.max_rows + 1),
        None,
        count_fields(header, separator),
    )?;
    if df.height() > limits.max_rows {
        return Err(IngestError::too_large(
            file,
            "max_rows",
            format!("the table has more than {} rows", limits.max_rows),
        ));
    }
    let columns: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let mut cells = vec![Vec::with_capacity(columns.len()); df.height()];
    for column in df.columns() {
        let text = column
            .cast(&DataType::String)
            .map_err(|e| IngestError::malformed(file, e.to_string()))?;
        let text = text
            .str()
            .map_err(|e| IngestError::malformed(file, e.to_string()))?;
        for (row, value) in text.iter().enumerate() {
            cells[row].push(
                value
                    .map(|v| v.to_string())
                    .filter(|v| !v.trim().is_empty()),
            );
        }
    }
    Ok(Table {
        file: file.to_string(),
        columns,
        cells,
    })
}

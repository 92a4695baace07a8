//! Ingestion: turns an uploaded file's bytes into runs (named series of points).
//!
//! Architecture invariant: this is the only module that knows polars. It does no IO
//! of its own: callers hand it bytes and get runs or an [`IngestError`] that says what
//! is wrong and where (file, line, column).

mod csv;
mod roles;
mod table;

use std::collections::BTreeMap;

use shared::api::Series;

pub use roles::Role;

/// Bounds that keep a hostile or mistaken upload from exhausting the server.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Data rows in one file.
    pub max_rows: usize,
    /// Runs in one file.
    pub max_runs: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_rows: 5_000_000,
            max_runs: 1_000,
        }
    }
}

/// One run read from a file.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedRun {
    pub name: String,
    /// `loss` always; `lr`, `eval_loss`, ... when the file has them.
    pub series: BTreeMap<String, Series>,
}

/// What a file held.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedFile {
    /// The detected format, e.g. `csv`.
    pub format: String,
    pub runs: Vec<ParsedRun>,
    /// Column roles found, as `(column, role)`.
    pub roles: Vec<(String, Role)>,
    /// What was handled on the way (dropped non-finite values, duplicated steps...).
    pub warnings: Vec<String>,
}

/// Why a file could not be read, and where.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{file}{}{}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default(), column.as_ref().map(|c| format!(", column '{c}'")).unwrap_or_default())]
pub struct IngestError {
    pub kind: IngestErrorKind,
    pub file: String,
    /// 1-based line of the file (the header is line 1).
    pub line: Option<usize>,
    pub column: Option<String>,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IngestErrorKind {
    /// The file has no data at all.
    Empty,
    /// The file is not what it claims to be, or a cell does not parse.
    Malformed,
    /// The file is readable but lacks something needed (e.g. a loss column).
    Missing,
    /// A [`Limits`] bound was exceeded.
    TooLarge,
}

impl IngestError {
    fn new(kind: IngestErrorKind, file: &str, message: impl Into<String>) -> Self {
        Self {
            kind,
            file: file.to_string(),
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

/// Reads one uploaded file.
pub fn ingest(file_name: &str, bytes: &[u8], limits: &Limits) -> Result<ParsedFile, IngestError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(IngestError::new(
            IngestErrorKind::Empty,
            file_name,
            "the file is empty",
        ));
    }
    let table = csv::read(file_name, bytes, limits)?;
    table::into_runs(file_name, "csv", &table, limits)
}

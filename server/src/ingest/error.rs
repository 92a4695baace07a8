//! [`IngestError`]: why a file could not be read, and where (file, line or record, column).

/// Why a file could not be read, and where.
#[derive(Clone, Debug, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{file}{}{}{}: {message}",
    line.map(|l| format!(", line {l}")).unwrap_or_default(),
    at.as_ref().map(|a| format!(", {a}")).unwrap_or_default(),
    column.as_ref().map(|c| format!(", column '{c}'")).unwrap_or_default())]
pub struct IngestError {
    pub kind: IngestErrorKind,
    /// The file, or `archive.zip/entry` for a file inside an archive.
    pub file: String,
    /// 1-based line of a text file (the header is line 1).
    pub line: Option<usize>,
    /// A place that is not a line: `record 12` (TensorBoard), `row 7` (Parquet),
    /// `log_history[3]` (JSON), `byte 1024`.
    pub at: Option<String>,
    /// The column, tag or key concerned.
    pub column: Option<String>,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IngestErrorKind {
    /// The file has no data at all.
    Empty,
    /// The file is not what it claims to be, a cell does not parse, or a value is
    /// impossible (a negative or fractional step, a loss <= 0, a negative learning rate)
    /// or beyond a [`super::Limits`] value bound (the message names it); HTTP 422.
    Malformed,
    /// The file is readable but lacks something needed (e.g. a loss column).
    Missing,
    /// A [`super::Limits`] bound was exceeded; the message names the limit.
    TooLarge,
}

impl IngestError {
    pub fn new(kind: IngestErrorKind, file: &str, message: impl Into<String>) -> Self {
        Self {
            kind,
            file: file.to_string(),
            line: None,
            at: None,
            column: None,
            message: message.into(),
        }
    }

    pub(crate) fn malformed(file: &str, message: impl Into<String>) -> Self {
        Self::new(IngestErrorKind::Malformed, file, message)
    }

    pub(crate) fn missing(file: &str, message: impl Into<String>) -> Self {
        Self::new(IngestErrorKind::Missing, file, message)
    }

    /// A [`super::Limits`] bound: `limit` is the field name, so the user knows which one.
    pub(crate) fn too_large(file: &str, limit: &str, message: impl Into<String>) -> Self {
        Self::new(
            IngestErrorKind::TooLarge,
            file,
            format!("{} (limit `{limit}`)", message.into()),
        )
    }

    pub(crate) fn with_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    pub(crate) fn with_at(mut self, at: impl Into<String>) -> Self {
        self.at = Some(at.into());
        self
    }

    pub(crate) fn with_column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }

    /// Places the error at a row of a table, as a line or another kind of place.
    pub(crate) fn at_row(self, origin: &super::origin::Origin, row: usize) -> Self {
        match origin.line(row) {
            Some(line) => self.with_line(line),
            None => self.with_at(origin.describe(row)),
        }
    }

    /// The same error for a file inside an archive.
    pub(crate) fn in_archive(mut self, archive: &str) -> Self {
        self.file = format!("{archive}/{}", self.file);
        self
    }
}

/// Shortens a cell for an error message.
pub(crate) fn excerpt(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() > 40 {
        format!("{}...", text.chars().take(40).collect::<String>())
    } else {
        text.to_string()
    }
}

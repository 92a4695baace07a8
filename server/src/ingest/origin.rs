//! [`Origin`]: where a table's rows come from, so that warnings and errors can name a
//! line, a record or a row of the uploaded file.

#[derive(Clone, Debug)]
pub enum Origin {
    /// A text table: data row `i` is line `first_line + i` (one record per line).
    Lines { first_line: usize },
    /// Rows taken from scattered lines (console logs): the line of each row.
    LineNumbers(Vec<u32>),
    /// Rows of a binary table (Parquet), numbered from 1.
    Rows,
    /// Rows that each come from a numbered record (TensorBoard), numbered from 1.
    Records(Vec<u32>),
    /// A label per row (`log_history[3]`, `history.val[7]`).
    Labels(Vec<String>),
}

impl Origin {
    /// The 1-based line of a row, for text formats.
    pub fn line(&self, row: usize) -> Option<usize> {
        match self {
            Origin::Lines { first_line } => Some(first_line + row),
            Origin::LineNumbers(lines) => lines.get(row).map(|&l| l as usize),
            _ => None,
        }
    }

    /// `line 5`, `row 3`, `log_history[2]`, `record 7`.
    pub fn describe(&self, row: usize) -> String {
        if let Some(line) = self.line(row) {
            return format!("line {line}");
        }
        match self {
            Origin::Records(records) => format!(
                "record {}",
                records.get(row).copied().unwrap_or(row as u32 + 1)
            ),
            Origin::Labels(labels) => labels
                .get(row)
                .cloned()
                .unwrap_or_else(|| format!("row {}", row + 1)),
            _ => format!("row {}", row + 1),
        }
    }
}

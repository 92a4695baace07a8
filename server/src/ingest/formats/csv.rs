//! CSV and TSV with a header: plain long or wide tables, W&B chart and history exports,
//! Lightning's `metrics.csv`, scaling tables.
//!
//! Speed: roles are decided from the header and a text sample of the first rows; then
//! polars reads only the columns used, parsing the numeric ones itself (fast, parallel).
//! Only when that fails are the same columns read again as text, so that the bad cell
//! can be reported with its line and column.

use std::io::Cursor;
use std::sync::Arc;

use polars::prelude::*;

use super::super::detect::{count_fields, sniff_separator};
use super::super::error::excerpt;
use super::super::mapping::Mapping;
use super::super::origin::Origin;
use super::{IngestError, Limits, ParsedFile, TableInfo};

/// Rows read as text to decide the roles.
const SAMPLE_ROWS: usize = 1000;

pub fn read(
    file: &str,
    text: &str,
    mapping: &Mapping,
    limits: &Limits,
) -> Result<ParsedFile, IngestError> {
    let bytes = text.as_bytes();
    let header = text.lines().next().unwrap_or_default();
    let separator = sniff_separator(header);
    let header_fields = count_fields(header, separator);
    // Checked before polars reads a sample of every column.
    if header_fields > limits.max_columns {
        return Err(IngestError::too_large(
            file,
            "max_columns",
            format!(
                "the header has {header_fields} columns, more than {}",
                limits.max_columns
            ),
        )
        .with_line(1));
    }

    let sample = read_frame(
        file,
        bytes,
        separator,
        Some(SAMPLE_ROWS),
        None,
        header_fields,
    )?;
    let plan = super::plan_table(file, &sample, mapping)?;
    let names: Vec<String> = sample
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let format = label(&names, separator);

    // The full read: only the columns used; numbers parsed by polars.
    let needed: Vec<usize> = plan.needed();
    let mut schema = Schema::default();
    for &c in &needed {
        let dtype = if plan.is_text(c) {
            DataType::String
        } else {
            DataType::Float64
        };
        schema.with_column(names[c].as_str().into(), dtype);
    }
    let projection = Projection {
        columns: needed.iter().map(|&c| names[c].clone()).collect(),
        schema: Some(schema),
    };
    let limit = Some(limits.max_rows + 1);
    let df = match read_frame(
        file,
        bytes,
        separator,
        limit,
        Some(&projection),
        header_fields,
    ) {
        Ok(df) => df,
        // A cell polars could not parse: read the same columns as text to say where.
        Err(_) => read_frame(
            file,
            bytes,
            separator,
            limit,
            Some(&Projection {
                schema: None,
                ..projection
            }),
            header_fields,
        )?,
    };
    // Keep the plan's column numbers valid: the projected frame is re-widened by name.
    let df = widen(&df, &names);
    let info = TableInfo {
        format: format.to_string(),
        origin: Origin::Lines { first_line: 2 },
        default_run: super::run_name_for(file),
        attrs: Vec::new(),
        notes: Vec::new(),
        mapping,
    };
    super::table_file_with_plan(file, &df, &plan, info, limits)
}

/// The sub-format, from the header.
fn label(names: &[String], separator: u8) -> &'static str {
    let has = |n: &str| names.iter().any(|c| c == n);
    if names
        .iter()
        .any(|c| c.ends_with("__MIN") || c.ends_with("__MAX"))
        || (has("Step") && names.iter().any(|c| c.contains(" - ")))
    {
        "wandb_chart_csv"
    } else if has("_step") && (has("_runtime") || has("_timestamp")) {
        "wandb_history_csv"
    } else if names.iter().any(|c| c.starts_with("lr-"))
        || (has("epoch")
            && has("step")
            && names
                .iter()
                .any(|c| c.ends_with("_step") || c.ends_with("_epoch")))
    {
        "lightning_csv"
    } else if separator == b'\t' {
        "tsv"
    } else {
        "csv"
    }
}

pub(in crate::ingest) struct Projection {
    columns: Vec<String>,
    /// `None`: every column as text.
    schema: Option<Schema>,
}

pub(in crate::ingest) fn read_frame(
    file: &str,
    bytes: &[u8],
    separator: u8,
    n_rows: Option<usize>,
    projection: Option<&Projection>,
    header_fields: usize,
) -> Result<DataFrame, IngestError> {
    let mut options = CsvReadOptions::default()
        .with_has_header(true)
        .with_n_rows(n_rows)
        .map_parse_options(|o| o.with_separator(separator));
    options = match projection {
        Some(Projection {
            columns,
            schema: Some(schema),
        }) => options
            .with_columns(Some(
                columns
                    .iter()
                    .map(|c| PlSmallStr::from(c.as_str()))
                    .collect(),
            ))
            .with_schema_overwrite(Some(Arc::new(schema.clone())))
            .with_infer_schema_length(Some(0)),
        Some(Projection {
            columns,
            schema: None,
        }) => options
            .with_columns(Some(
                columns
                    .iter()
                    .map(|c| PlSmallStr::from(c.as_str()))
                    .collect(),
            ))
            .with_infer_schema_length(Some(0)),
        None => options.with_infer_schema_length(Some(0)),
    };
    let frame = options
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish();
    frame.map_err(|e| {
        if let Some((line, fields)) = ragged_line(bytes, separator, header_fields) {
            return IngestError::malformed(
                file,
                format!("this row has {fields} fields, the header has {header_fields}"),
            )
            .with_line(line);
        }
        IngestError::malformed(
            file,
            format!(
                "not a readable CSV table: {}",
                excerpt_error(&e.to_string())
            ),
        )
    })
}

/// The first line whose field count differs from the header's.
fn ragged_line(bytes: &[u8], separator: u8, header_fields: usize) -> Option<(usize, usize)> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.lines().enumerate().skip(1).find_map(|(i, line)| {
        let line = line.trim_end_matches('\r');
        let n = count_fields(line, separator);
        (!line.trim().is_empty() && n != header_fields).then_some((i + 1, n))
    })
}

fn excerpt_error(message: &str) -> String {
    excerpt(message.lines().next().unwrap_or(message))
}

/// A frame with every column of `names`, in that order (columns not read are nulls),
/// so that the plan's column numbers index it.
fn widen(df: &DataFrame, names: &[String]) -> DataFrame {
    let height = df.height();
    let columns: Vec<Column> = names
        .iter()
        .map(|n| match df.column(n) {
            Ok(c) => c.clone(),
            Err(_) => Column::full_null(n.as_str().into(), height, &DataType::Null),
        })
        .collect();
    DataFrame::new(height, columns).unwrap_or_else(|_| df.clone())
}

#[cfg(test)]
mod tests {
    use super::super::super::frame::parse_number;
    use super::super::super::{IngestErrorKind, Limits, ingest};

    fn check_err(csv: &str, kind: IngestErrorKind, line: Option<usize>, column: Option<&str>) {
        let err = ingest("run.csv", csv.as_bytes(), &Limits::default()).expect_err("should fail");
        assert_eq!(
            (err.kind, err.line, err.column.as_deref()),
            (kind, line, column),
            "{err}"
        );
    }

    #[test]
    fn reads_step_lr_loss() {
        let file = ingest(
            "dir/my-run.csv",
            b"step,lr,loss\n1,0.1,3.0\n2,0.2,2.5\n",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(file.runs.len(), 1);
        let run = &file.runs[0];
        assert_eq!(run.name, "my-run");
        assert_eq!(run.series["loss"].steps, vec![1.0, 2.0]);
        assert_eq!(run.series["loss"].values, vec![3.0, 2.5]);
        assert_eq!(run.series["lr"].values, vec![0.1, 0.2]);
    }

    #[test]
    fn groups_long_format_by_run_and_sorts() {
        let csv = "run,step,loss\na,2,2.0\nb,1,5.0\na,1,3.0\na,2,1.5\n";
        let file = ingest("x.csv", csv.as_bytes(), &Limits::default()).unwrap();
        let names: Vec<_> = file.runs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(file.runs[0].series["loss"].values, vec![3.0, 1.5]);
        assert!(
            file.warnings.iter().any(|w| w.contains("repeated")),
            "{:?}",
            file.warnings
        );
    }

    #[test]
    fn non_finite_losses_are_reported() {
        let file = ingest(
            "x.csv",
            b"step,loss\n1,3.0\n2,nan\n3,2.0\n",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(file.runs[0].series["loss"].steps, vec![1.0, 3.0]);
        assert!(file.warnings[0].contains("line 3"), "{:?}", file.warnings);
    }

    #[test]
    fn errors_say_where() {
        check_err(
            "step,loss\n1,3.0\n2,abc\n",
            IngestErrorKind::Malformed,
            Some(3),
            Some("loss"),
        );
        check_err("", IngestErrorKind::Empty, None, None);
        check_err("step,loss\n", IngestErrorKind::Empty, None, None);
        check_err(
            "step,accuracy\n1,0.5\n",
            IngestErrorKind::Missing,
            None,
            None,
        );
        check_err(
            "step,loss\n1,nan\n",
            IngestErrorKind::Missing,
            None,
            Some("loss"),
        );
        check_err(
            "step,loss\n1,3.0\n2,2.0,7\n",
            IngestErrorKind::Malformed,
            Some(3),
            None,
        );
    }

    #[test]
    fn a_bad_cell_after_the_sample_is_located() {
        let mut csv = String::from("step,loss\n");
        for i in 0..3000 {
            csv.push_str(&format!(
                "{i},{}\n",
                if i == 2500 {
                    "oops".to_string()
                } else {
                    format!("{}", 3.0 - i as f64 * 1e-4)
                }
            ));
        }
        check_err(&csv, IngestErrorKind::Malformed, Some(2502), Some("loss"));
    }

    #[test]
    fn row_limit_is_enforced() {
        let limits = Limits {
            max_rows: 2,
            ..Limits::default()
        };
        let err = ingest("x.csv", b"step,loss\n1,1\n2,1\n3,1\n", &limits).unwrap_err();
        assert_eq!(err.kind, IngestErrorKind::TooLarge);
        assert!(err.message.contains("max_rows"), "{err}");
    }

    #[test]
    fn numbers_as_trainers_write_them() {
        for (text, value) in [
            ("1.5E-04", 1.5e-4),
            (" 2 ", 2.0),
            ("inf", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
        ] {
            assert_eq!(parse_number(text), Some(value), "{text}");
        }
        assert!(parse_number("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_number("abc"), None);
    }
}

//! From a table of text cells to runs: finds column roles, parses numbers, groups rows
//! by run, sorts by step and reports what it had to handle.

use std::collections::BTreeMap;

use shared::api::Series;

use super::csv::TextTable;
use super::roles::{self, Role};
use super::{IngestError, IngestErrorKind, Limits, ParsedFile, ParsedRun};

/// Lines of the file before the first data row (the header).
const HEADER_LINES: usize = 1;

pub fn into_runs(
    file_name: &str,
    format: &str,
    table: &TextTable,
    limits: &Limits,
) -> Result<ParsedFile, IngestError> {
    let roles: Vec<(String, Role)> = table
        .columns
        .iter()
        .filter_map(|(name, _)| roles::detect(name).map(|role| (name.clone(), role)))
        .collect();
    let column_of = |role: Role| {
        table
            .columns
            .iter()
            .position(|(name, _)| roles::detect(name) == Some(role))
    };
    let Some(loss_col) = column_of(Role::Loss) else {
        let names: Vec<&str> = table.columns.iter().map(|(n, _)| n.as_str()).collect();
        return Err(IngestError::new(
            IngestErrorKind::Missing,
            file_name,
            format!(
                "no loss column found among the columns [{}]; name one `loss`",
                names.join(", ")
            ),
        ));
    };
    if table.n_rows == 0 {
        return Err(IngestError::new(
            IngestErrorKind::Empty,
            file_name,
            "the file has a header but no data rows",
        ));
    }
    let mut warnings = Vec::new();
    let steps = match column_of(Role::Step) {
        Some(col) => parse_column(file_name, table, col)?,
        None => {
            warnings.push("no step column: the row number is used as the step".to_string());
            (0..table.n_rows).map(|i| Some(i as f64)).collect()
        }
    };
    let run_names: Vec<String> = match column_of(Role::Run) {
        Some(col) => table.columns[col]
            .1
            .iter()
            .map(|c| c.clone().unwrap_or_default())
            .collect(),
        None => vec![file_stem(file_name); table.n_rows],
    };
    let value_cols: Vec<(&'static str, usize)> = [Role::Loss, Role::EvalLoss, Role::Lr]
        .into_iter()
        .filter_map(|role| Some((role.series_name()?, column_of(role)?)))
        .collect();
    debug_assert!(value_cols.iter().any(|&(_, c)| c == loss_col));

    // Series per run, in first-seen order of runs.
    let mut order: Vec<String> = Vec::new();
    let mut builders: BTreeMap<String, BTreeMap<&'static str, Vec<(f64, f64, usize)>>> =
        BTreeMap::new();
    for (series, col) in &value_cols {
        let values = parse_column(file_name, table, *col)?;
        let mut non_finite = Vec::new();
        for row in 0..table.n_rows {
            let (Some(step), Some(value)) = (steps[row], values[row]) else {
                continue;
            };
            if !value.is_finite() {
                non_finite.push(row + HEADER_LINES + 1);
                continue;
            }
            let run = &run_names[row];
            if !builders.contains_key(run) {
                if order.len() == limits.max_runs {
                    return Err(IngestError::new(
                        IngestErrorKind::TooLarge,
                        file_name,
                        format!(
                            "more than {} runs in one file (the run limit)",
                            limits.max_runs
                        ),
                    ));
                }
                order.push(run.clone());
                builders.insert(run.clone(), BTreeMap::new());
            }
            builders
                .get_mut(run)
                .expect("inserted above")
                .entry(series)
                .or_default()
                .push((step, value, row));
        }
        if let Some(first) = non_finite.first() {
            warnings.push(format!(
                "{} non-finite {series} value(s) (NaN or inf) left out, the first at line {first}",
                non_finite.len()
            ));
        }
    }

    let mut runs = Vec::with_capacity(order.len());
    for name in order {
        let mut series = BTreeMap::new();
        for (key, mut points) in builders.remove(&name).unwrap_or_default() {
            let (points, note) = sort_and_dedup(&mut points);
            if let Some(note) = note {
                warnings.push(format!("run '{name}', {key}: {note}"));
            }
            series.insert(key.to_string(), points);
        }
        if !series.contains_key("loss") {
            warnings.push(format!(
                "run '{name}' has no finite loss value and was left out"
            ));
            continue;
        }
        runs.push(ParsedRun { name, series });
    }
    if runs.is_empty() {
        return Err(IngestError {
            column: Some(table.columns[loss_col].0.clone()),
            ..IngestError::new(
                IngestErrorKind::Missing,
                file_name,
                "no row has both a step and a finite loss",
            )
        });
    }
    Ok(ParsedFile {
        format: format.to_string(),
        runs,
        roles,
        warnings,
    })
}

/// Parses a column of text cells as numbers; an empty cell is `None`.
fn parse_column(
    file_name: &str,
    table: &TextTable,
    col: usize,
) -> Result<Vec<Option<f64>>, IngestError> {
    let (name, cells) = &table.columns[col];
    cells
        .iter()
        .enumerate()
        .map(|(row, cell)| match cell {
            None => Ok(None),
            Some(text) => parse_number(text).map(Some).ok_or_else(|| IngestError {
                line: Some(row + HEADER_LINES + 1),
                column: Some(name.clone()),
                ..IngestError::new(
                    IngestErrorKind::Malformed,
                    file_name,
                    format!("'{}' is not a number", truncate(text)),
                )
            }),
        })
        .collect()
}

/// A number as trainers write it, including `nan`, `inf`, `1.5E-04`.
fn parse_number(text: &str) -> Option<f64> {
    text.parse::<f64>()
        .ok()
        .or_else(|| match text.to_ascii_lowercase().as_str() {
            "nan" | "+nan" | "-nan" => Some(f64::NAN),
            "inf" | "+inf" | "infinity" => Some(f64::INFINITY),
            "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        })
}

/// Sorts points by step and keeps the last row of a repeated step (a restarted run
/// logs the same steps again; the later rows are the ones that count).
fn sort_and_dedup(points: &mut [(f64, f64, usize)]) -> (Series, Option<String>) {
    let was_sorted = points.windows(2).all(|w| w[0].0 <= w[1].0);
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
    let mut series = Series {
        steps: Vec::with_capacity(points.len()),
        values: Vec::with_capacity(points.len()),
    };
    let mut duplicates = 0;
    for &(step, value, _) in points.iter() {
        if series.steps.last() == Some(&step) {
            duplicates += 1;
            *series.values.last_mut().expect("a step was pushed") = value;
        } else {
            series.steps.push(step);
            series.values.push(value);
        }
    }
    let mut notes = Vec::new();
    if !was_sorted {
        notes.push("steps were not in order and were sorted".to_string());
    }
    if duplicates > 0 {
        notes.push(format!(
            "{duplicates} repeated step(s): the last row of each was kept"
        ));
    }
    (series, (!notes.is_empty()).then(|| notes.join("; ")))
}

fn file_stem(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    base.split('.')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(base)
        .to_string()
}

fn truncate(text: &str) -> String {
    if text.chars().count() > 40 {
        format!("{}...", text.chars().take(40).collect::<String>())
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{IngestErrorKind, Limits, ingest};

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
    }

    #[test]
    fn row_limit_is_enforced() {
        let limits = Limits {
            max_rows: 2,
            ..Limits::default()
        };
        let err = ingest("x.csv", b"step,loss\n1,1\n2,1\n3,1\n", &limits).unwrap_err();
        assert_eq!(err.kind, IngestErrorKind::TooLarge);
    }
}

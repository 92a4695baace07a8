//! [`Report`]: what the reader found in each file (format, runs, series, column roles,
//! LR source, point counts, warnings), serialisable for the CLI's `--json` and for an
//! upload preview in the API, plus a plain-text rendering for people.

use std::fmt::Write;

use serde::Serialize;
use shared::api::LrSource;

use super::{IngestError, ParsedFile};

pub use shared::api::{
    ColumnReport, ErrorReport, FileReport, IngestReport as Report, RunReport, SeriesReport,
};

/// The report of one file's reading (or of why it could not be read).
pub fn file_report(file: &str, result: &Result<ParsedFile, IngestError>) -> FileReport {
    match result {
        Ok(parsed) => parsed_report(file, parsed),
        Err(e) => FileReport {
            file: file.to_string(),
            error: Some(ErrorReport {
                kind: snake_name(e.kind),
                message: e.to_string(),
                line: e.line,
                at: e.at.clone(),
                column: e.column.clone(),
            }),
            ..FileReport::default()
        },
    }
}

fn parsed_report(file: &str, parsed: &ParsedFile) -> FileReport {
    let runs = parsed
        .runs
        .iter()
        .map(|run| RunReport {
            name: run.name.clone(),
            lr_source: if run.series.contains_key("lr") {
                LrSource::Logged
            } else {
                LrSource::None
            },
            series: run
                .series
                .iter()
                .map(|(name, s)| SeriesReport {
                    name: name.clone(),
                    points: s.steps.len(),
                    first_step: s.steps.first().copied(),
                    last_step: s.steps.last().copied(),
                    source: run.sources.get(name).cloned().unwrap_or_default(),
                })
                .collect(),
            attrs: run.attrs.clone(),
            attr_sources: run
                .attrs
                .keys()
                .filter_map(|k| Some((k.clone(), run.sources.get(k)?.clone())))
                .collect(),
        })
        .collect();
    FileReport {
        file: file.to_string(),
        format: Some(parsed.format.clone()),
        layout: Some(snake_name(parsed.layout)),
        columns: parsed
            .roles
            .iter()
            .map(|(column, role)| ColumnReport {
                column: column.clone(),
                role: role.key().to_string(),
            })
            .collect(),
        ignored_columns: parsed.ignored.clone(),
        runs,
        warnings: parsed.warnings.clone(),
        notes: parsed.notes.clone(),
        error: None,
    }
}

/// The serde (snake_case) name of a unit enum variant.
fn snake_name(value: impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Plain text of a report, for a terminal.
pub fn to_text(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.files {
        let _ = writeln!(out, "{}", f.file);
        if let Some(e) = &f.error {
            let _ = writeln!(out, "  error: {}", e.message);
            continue;
        }
        let layout = f.layout.as_deref().unwrap_or_default();
        let _ = writeln!(
            out,
            "  format: {} ({layout} layout), {} run(s)",
            f.format.as_deref().unwrap_or("?"),
            f.runs.len()
        );
        let roles: Vec<String> = f
            .columns
            .iter()
            .map(|c| format!("{} -> {}", c.column, c.role))
            .collect();
        let _ = writeln!(out, "  columns: {}", roles.join(", "));
        if !f.ignored_columns.is_empty() {
            let _ = writeln!(out, "  not used: {}", shorten(&f.ignored_columns, 12));
        }
        const SHOWN_RUNS: usize = 20;
        for run in f.runs.iter().take(SHOWN_RUNS) {
            let series: Vec<String> = run
                .series
                .iter()
                .map(|s| {
                    format!(
                        "{} {} pts [{}..{}]",
                        s.name,
                        s.points,
                        s.first_step.unwrap_or(f64::NAN),
                        s.last_step.unwrap_or(f64::NAN)
                    )
                })
                .collect();
            let lr = match run.lr_source {
                LrSource::Logged => "logged",
                LrSource::Schedule => "schedule",
                LrSource::None => "none",
            };
            let _ = writeln!(out, "  run '{}': {}; lr: {lr}", run.name, series.join(", "));
            if !run.attrs.is_empty() {
                let attrs: Vec<String> =
                    run.attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let _ = writeln!(out, "    attrs: {}", attrs.join(", "));
            }
        }
        if f.runs.len() > SHOWN_RUNS {
            let _ = writeln!(out, "  ... and {} more run(s)", f.runs.len() - SHOWN_RUNS);
        }
        for note in &f.notes {
            let _ = writeln!(out, "  note: {note}");
        }
        for warning in &f.warnings {
            let _ = writeln!(out, "  warning: {warning}");
        }
    }
    out
}

fn shorten(items: &[String], n: usize) -> String {
    let shown: Vec<&str> = items.iter().take(n).map(String::as_str).collect();
    let more = if items.len() > n {
        format!(", ... ({} more)", items.len() - n)
    } else {
        String::new()
    };
    format!("{}{more}", shown.join(", "))
}

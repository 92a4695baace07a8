//! [`Report`]: what the reader found in each file (format, runs, series, column roles,
//! LR source, point counts, warnings), serialisable for the CLI's `--json` and for an
//! upload preview in the API, plus a plain-text rendering for people.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};
use shared::api::LrSource;

use super::{IngestError, IngestErrorKind, Layout, ParsedFile, Role};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub files: Vec<FileReport>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FileReport {
    pub file: String,
    /// The detected format (`csv`, `wandb_chart_csv`, `tfevents`, `megatron_log`...).
    pub format: Option<String>,
    pub layout: Option<Layout>,
    /// Columns (tags, log keys) used and their role.
    pub columns: Vec<ColumnReport>,
    /// Columns seen and not used.
    pub ignored_columns: Vec<String>,
    pub runs: Vec<RunReport>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    /// Set when the file could not be read; the rest is then empty.
    pub error: Option<ErrorReport>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnReport {
    pub column: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub name: String,
    /// `logged` when the run has an `lr` series, else `none`.
    pub lr_source: LrSource,
    pub series: Vec<SeriesReport>,
    pub attrs: BTreeMap<String, f64>,
    /// Where each attribute came from.
    pub attr_sources: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeriesReport {
    pub name: String,
    pub points: usize,
    pub first_step: f64,
    pub last_step: f64,
    /// The column it was read from, or how it was derived.
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorReport {
    pub kind: IngestErrorKind,
    /// The whole sentence: what is wrong and where.
    pub message: String,
    pub line: Option<usize>,
    pub at: Option<String>,
    pub column: Option<String>,
}

impl FileReport {
    pub fn new(file: &str, result: &Result<ParsedFile, IngestError>) -> Self {
        match result {
            Ok(parsed) => Self::from_parsed(file, parsed),
            Err(e) => Self {
                file: file.to_string(),
                error: Some(ErrorReport {
                    kind: e.kind,
                    message: e.to_string(),
                    line: e.line,
                    at: e.at.clone(),
                    column: e.column.clone(),
                }),
                ..Self::default()
            },
        }
    }

    pub fn from_parsed(file: &str, parsed: &ParsedFile) -> Self {
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
                        first_step: s.steps.first().copied().unwrap_or(f64::NAN),
                        last_step: s.steps.last().copied().unwrap_or(f64::NAN),
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
        Self {
            file: file.to_string(),
            format: Some(parsed.format.clone()),
            layout: Some(parsed.layout),
            columns: parsed
                .roles
                .iter()
                .map(|(column, role)| ColumnReport {
                    column: column.clone(),
                    role: *role,
                })
                .collect(),
            ignored_columns: parsed.ignored.clone(),
            runs,
            warnings: parsed.warnings.clone(),
            notes: parsed.notes.clone(),
            error: None,
        }
    }
}

impl Report {
    /// Plain text for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            let _ = writeln!(out, "{}", f.file);
            if let Some(e) = &f.error {
                let _ = writeln!(out, "  error: {}", e.message);
                continue;
            }
            let layout = f
                .layout
                .map(|l| format!("{l:?}").to_lowercase())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  format: {} ({layout} layout), {} run(s)",
                f.format.as_deref().unwrap_or("?"),
                f.runs.len()
            );
            let roles: Vec<String> = f
                .columns
                .iter()
                .map(|c| format!("{} -> {}", c.column, c.role.key()))
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
                            s.name, s.points, s.first_step, s.last_step
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

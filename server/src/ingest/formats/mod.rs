//! The format readers, one module per family, and what they share: text checks, run
//! names from file names, and the table -> runs path every table format ends in.

pub mod console;
pub mod csv;
pub mod json;
pub mod ndjson;
pub mod parquet;
pub mod tfevents;
pub mod zip;

use polars::prelude::DataFrame;

use super::assemble::Assembler;
use super::frame::{self, Hints, Kind, Plan};
use super::mapping::Mapping;
use super::origin::Origin;
use super::roles::Role;
use super::{Format, IngestError, IngestErrorKind, Layout, Limits, ParsedFile, detect};

/// Reads a file of a known format family.
pub fn read(
    format: Format,
    file: &str,
    bytes: &[u8],
    mapping: &Mapping,
    limits: &Limits,
) -> Result<ParsedFile, IngestError> {
    match format {
        Format::Zip => zip::read(file, bytes, mapping, limits),
        Format::Parquet => parquet::read(file, bytes, mapping, limits),
        Format::Tfevents => tfevents::read(&[(file.to_string(), bytes)], mapping, limits),
        Format::Csv => csv::read(file, text(file, bytes, limits)?, mapping, limits),
        // A JSON document may be one long line; `max_json_bytes` bounds it instead.
        Format::Json => json::read(file, utf8(file, bytes)?, mapping, limits),
        Format::Ndjson => ndjson::read(file, text(file, bytes, limits)?, mapping, limits),
        Format::Log => console::read(file, text(file, bytes, limits)?, mapping, limits),
    }
}

/// Several files at once: TensorBoard event files of one folder make one run.
pub fn batch(
    files: &[(String, Vec<u8>)],
    mapping: &Mapping,
    limits: &Limits,
) -> Vec<(String, Result<ParsedFile, IngestError>)> {
    let mut out = Vec::new();
    let mut events: Vec<(String, &[u8])> = Vec::new();
    for (name, bytes) in files {
        let is_events = match &mapping.format {
            Some(f) => Format::from_name(f) == Some(Format::Tfevents),
            None => detect::detect(name, bytes).ok() == Some(Format::Tfevents),
        };
        if is_events {
            events.push((name.clone(), bytes));
        } else {
            out.push((
                name.clone(),
                super::ingest_with(name, bytes, mapping, limits),
            ));
        }
    }
    for group in tfevents::group_by_folder(&events) {
        let label = group
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(" + ");
        out.push((label, tfevents::read(&group, mapping, limits)));
    }
    out
}

/// The text of a file: UTF-8, a BOM skipped.
fn utf8<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str, IngestError> {
    let bytes = detect::strip_bom(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        IngestError::malformed(file, "the file is not UTF-8 text (is it a binary file?)")
            .with_line(line)
    })
}

/// The text of a line-based format: UTF-8 (a BOM is skipped), no line over the limit.
pub fn text<'a>(file: &str, bytes: &'a [u8], limits: &Limits) -> Result<&'a str, IngestError> {
    let text = utf8(file, bytes)?;
    let bytes = text.as_bytes();
    let mut start = 0;
    for (line, end) in memchr::memchr_iter(b'\n', bytes)
        .chain(std::iter::once(bytes.len()))
        .enumerate()
    {
        if end - start > limits.max_line_bytes {
            return Err(IngestError::too_large(
                file,
                "max_line_bytes",
                format!(
                    "a line of {} bytes, longer than {}",
                    end - start,
                    limits.max_line_bytes
                ),
            )
            .with_line(line + 1));
        }
        start = end + 1;
    }
    Ok(text)
}

/// File stems that say nothing about the run: the folder names it instead.
const GENERIC_STEMS: &[&str] = &[
    "metrics",
    "trainer_state",
    "log",
    "logs",
    "train",
    "training",
    "output",
    "stdout",
    "history",
    "events",
    "results",
    "data",
    "progress",
    "all_results",
    "train_log",
    "log_history",
    "scalars",
    "summary",
];

/// The name of the run a file holds when it does not name it: its stem (without a known
/// extension), or its folder for generic names such as `metrics.csv`.
pub fn run_name_for(file_name: &str) -> String {
    let parts: Vec<&str> = file_name
        .split(['/', '\\'])
        .filter(|p| !p.is_empty())
        .collect();
    let base = parts.last().copied().unwrap_or("run");
    let stem = match base.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && [
                    "csv", "tsv", "txt", "json", "jsonl", "ndjson", "parquet", "log", "out", "zip",
                ]
                .contains(&ext.to_ascii_lowercase().as_str()) =>
        {
            stem
        }
        _ => base,
    };
    if GENERIC_STEMS.contains(&stem.to_ascii_lowercase().as_str()) {
        let folder = parts
            .iter()
            .rev()
            .skip(1)
            .find(|p| !p.starts_with("checkpoint-"));
        if let Some(folder) = folder {
            return folder.to_string();
        }
    }
    stem.to_string()
}

/// Run-level numbers a file gives for all its runs (HF's `train_batch_size`, a run
/// export's config), as (role, value, where from).
pub type FileAttrs = Vec<(Role, f64, String)>;

/// The plan of a whole table: roles from the header, kinds and hints from the data.
pub fn plan_table(file: &str, df: &DataFrame, mapping: &Mapping) -> Result<Plan, IngestError> {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let kinds: Vec<Kind> = df.columns().iter().map(frame::kind_of).collect();
    let plan = frame::plan(file, &names, &kinds, mapping, Hints::default())?;
    match (plan.step, plan.run) {
        (Some(step), None) if frame::steps_go_back(&df.columns()[step]) => frame::plan(
            file,
            &names,
            &kinds,
            mapping,
            Hints {
                steps_go_back: true,
            },
        ),
        _ => Ok(plan),
    }
}

/// What a table reader knows besides the table.
pub struct TableInfo<'a> {
    pub format: String,
    pub origin: Origin,
    pub default_run: String,
    pub attrs: FileAttrs,
    pub notes: Vec<String>,
    pub mapping: &'a Mapping,
}

/// A whole table -> runs.
pub fn table_file(
    file: &str,
    df: &DataFrame,
    info: TableInfo,
    limits: &Limits,
) -> Result<ParsedFile, IngestError> {
    let plan = plan_table(file, df, info.mapping)?;
    table_file_with_plan(file, df, &plan, info, limits)
}

pub fn table_file_with_plan(
    file: &str,
    df: &DataFrame,
    plan: &Plan,
    info: TableInfo,
    limits: &Limits,
) -> Result<ParsedFile, IngestError> {
    if df.height() > limits.max_rows {
        return Err(IngestError::too_large(
            file,
            "max_rows",
            format!("more than {} data rows", limits.max_rows),
        ));
    }
    let mut asm = Assembler::new(file, limits);
    let layout = frame::assemble(&mut asm, df, &info.origin, &info.default_run, plan)?;
    let mut notes = info.notes;
    notes.extend(plan.notes.iter().cloned());
    finish(
        asm,
        info.mapping,
        &info.attrs,
        Output {
            format: info.format,
            layout,
            roles: plan.used.clone(),
            ignored: plan.ignored.clone(),
            notes,
        },
    )
}

/// The parts of a [`ParsedFile`] a reader decides.
pub struct Output {
    pub format: String,
    pub layout: Layout,
    pub roles: Vec<(String, Role)>,
    pub ignored: Vec<String>,
    pub notes: Vec<String>,
}

/// Ends a file: sorted series, attributes, warnings; an error when no run has a loss.
pub fn finish(
    asm: Assembler,
    mapping: &Mapping,
    attrs: &FileAttrs,
    out: Output,
) -> Result<ParsedFile, IngestError> {
    let file = asm.file().to_string();
    let (runs, warnings, asm_notes) = asm.finish(mapping, attrs);
    if runs.is_empty() {
        let loss = out
            .roles
            .iter()
            .find(|(_, r)| *r == Role::Loss)
            .map(|(c, _)| c.clone());
        let mut err = IngestError::new(
            IngestErrorKind::Missing,
            &file,
            "no row has both a step and a finite loss",
        );
        err.column = loss;
        return Err(err);
    }
    let mut notes = out.notes;
    notes.extend(asm_notes);
    Ok(ParsedFile {
        format: out.format,
        layout: out.layout,
        runs,
        roles: out.roles,
        ignored: out.ignored,
        warnings,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_names_from_file_names() {
        for (file, name) in [
            ("dir/my-run.csv", "my-run"),
            (
                "ann124-0.1_lr0.0001_seed0.json",
                "ann124-0.1_lr0.0001_seed0",
            ),
            ("lightning_logs/version_3/metrics.csv", "version_3"),
            ("out/run7/checkpoint-500/trainer_state.json", "run7"),
            ("trainer_state.json", "trainer_state"),
            ("run.v2", "run.v2"),
        ] {
            assert_eq!(run_name_for(file), name, "{file}");
        }
    }
}

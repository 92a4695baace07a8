//! Zip archives, e.g. a zipped run folder: every entry is read by content like an
//! uploaded file (TensorBoard event files of one folder are one run), and the runs of
//! all entries are returned together. Entries that are no known format (configs,
//! checkpoints) are skipped with a note. Unpacked bytes count against `max_bytes` and
//! entries against `max_files`, so a zip bomb stops early.

use std::io::{Cursor, Read};

use super::super::mapping::Mapping;
use super::super::{Format, detect};
use super::{IngestError, Layout, Limits, ParsedFile, tfevents};

pub fn read(
    file: &str,
    bytes: &[u8],
    mapping: &Mapping,
    limits: &Limits,
) -> Result<ParsedFile, IngestError> {
    let bad = |e: zip::result::ZipError| {
        IngestError::malformed(file, format!("not a readable zip archive: {e}"))
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(bad)?;
    if archive.len() > limits.max_files {
        return Err(IngestError::too_large(
            file,
            "max_files",
            format!(
                "an archive of {} entries, more than {}",
                archive.len(),
                limits.max_files
            ),
        ));
    }
    let mut notes = Vec::new();
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let mut unpacked = 0usize;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(bad)?;
        let name = entry.name().map_err(bad)?.to_string();
        let base = name.rsplit('/').next().unwrap_or(&name);
        if entry.is_dir() || name.starts_with("__MACOSX/") || base.starts_with('.') {
            continue;
        }
        let remaining = limits.max_bytes.saturating_sub(unpacked);
        let mut data = Vec::new();
        (&mut entry)
            .take(remaining as u64 + 1)
            .read_to_end(&mut data)
            .map_err(|e| {
                IngestError::malformed(file, format!("the entry '{name}' cannot be unpacked: {e}"))
            })?;
        unpacked += data.len();
        if unpacked > limits.max_bytes {
            return Err(IngestError::too_large(
                file,
                "max_bytes",
                format!(
                    "the archive unpacks to more than {} bytes",
                    limits.max_bytes
                ),
            ));
        }
        entries.push((name, data));
    }

    // Each entry by content; event files grouped by folder; unknown formats skipped.
    let inner = Mapping {
        format: None,
        ..mapping.clone()
    };
    let mut events = Vec::new();
    let mut results: Vec<(String, Result<ParsedFile, IngestError>)> = Vec::new();
    for (name, data) in &entries {
        match detect::detect(name, data) {
            Ok(Format::Tfevents) => events.push((name.clone(), data.as_slice())),
            Ok(Format::Zip) => {
                notes.push(format!("{name}: an archive inside the archive, skipped"))
            }
            Ok(format) => results.push((
                name.clone(),
                super::read(format, name, data, &inner, limits),
            )),
            Err(_) => notes.push(format!("{name}: not a known log format, skipped")),
        }
    }
    for group in tfevents::group_by_folder(&events) {
        let label = group
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(" + ");
        results.push((label, tfevents::read(&group, &inner, limits)));
    }

    let mut merged = ParsedFile {
        format: "zip".into(),
        layout: Layout::Long,
        ..ParsedFile::default()
    };
    let mut first_error = None;
    let mut formats = Vec::new();
    for (name, result) in results {
        match result {
            Ok(parsed) => {
                formats.push(format!("{name} ({})", parsed.format));
                for mut run in parsed.runs {
                    let base = run.name.clone();
                    let mut n = 2;
                    while merged.runs.iter().any(|r| r.name == run.name) {
                        run.name = format!("{base} ({n})");
                        n += 1;
                    }
                    merged.runs.push(run);
                    if merged.runs.len() > limits.max_runs {
                        return Err(IngestError::too_large(
                            file,
                            "max_runs",
                            format!("more than {} runs", limits.max_runs),
                        ));
                    }
                }
                for role in parsed.roles {
                    if !merged.roles.contains(&role) {
                        merged.roles.push(role);
                    }
                }
                for column in parsed.ignored {
                    if !merged.ignored.contains(&column) {
                        merged.ignored.push(column);
                    }
                }
                merged
                    .warnings
                    .extend(parsed.warnings.into_iter().map(|w| format!("{name}: {w}")));
                merged
                    .notes
                    .extend(parsed.notes.into_iter().map(|w| format!("{name}: {w}")));
                if parsed.layout != Layout::Long {
                    merged.layout = parsed.layout;
                }
            }
            Err(e) => {
                notes.push(format!("{name}: skipped: {e}"));
                first_error.get_or_insert(e);
            }
        }
    }
    if merged.runs.is_empty() {
        return Err(match first_error {
            Some(e) => e.in_archive(file),
            None => IngestError::missing(file, "the archive holds no file of a known log format"),
        });
    }
    merged
        .notes
        .insert(0, format!("read from the archive: {}", formats.join(", ")));
    merged.notes.extend(notes);
    Ok(merged)
}

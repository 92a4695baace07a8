//! TensorBoard event files (`events.out.tfevents.*`): framed records ([`record`]) with
//! masked CRC-32C checks ([`crc32c`]), each an `Event` decoded with `prost` ([`proto`]).
//! Scalars are `simple_value`s or one-element float tensors; other summaries (images,
//! histograms, text) are skipped. A file that ends inside a record (a run still
//! writing) is read up to its last whole record, with a warning.
//!
//! A run is a folder, as in TensorBoard: the event files of one folder (a restarted run
//! writes a new file) are read in name order, which is time order, into one run. Keras'
//! `train/` and `validation/` sub-folders are one run whose tags get the sub-folder as a
//! prefix (`validation/epoch_loss` is an eval loss). Tags get roles like columns do.

pub mod crc32c;
pub mod proto;
pub mod record;
pub mod writer;

use std::collections::HashMap;

use prost::Message;

use super::super::assemble::Assembler;
use super::super::frame::{self, Hints, Kind};
use super::super::mapping::Mapping;
use super::super::origin::Origin;
use super::super::roles::Role;
use super::{IngestError, IngestErrorKind, Layout, Limits, Output, ParsedFile};

use proto::Event;
pub use writer::EventWriter;

/// Sub-folders that hold one phase of a run (Keras).
const PHASE_FOLDERS: &[&str] = &[
    "train",
    "training",
    "validation",
    "val",
    "eval",
    "evaluation",
    "test",
];

/// Whether the bytes start like an event file.
pub fn looks_like(bytes: &[u8]) -> bool {
    record::starts_with_record(bytes)
}

/// The run a file belongs to, and the tag prefix its phase sub-folder gives.
fn run_of(file: &str) -> (String, String) {
    let parts: Vec<&str> = file.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
    let folders = &parts[..parts.len().saturating_sub(1)];
    match folders {
        [.., run, phase] if PHASE_FOLDERS.contains(&phase.to_ascii_lowercase().as_str()) => {
            (run.to_string(), format!("{phase}/"))
        }
        [.., run] => (run.to_string(), String::new()),
        [] => {
            let base = parts.last().copied().unwrap_or("events");
            let name = base.split_once("tfevents.").map_or(base, |(_, rest)| rest);
            (name.to_string(), String::new())
        }
    }
}

/// Groups event files by run folder, keeping the order of first appearance.
pub fn group_by_folder<'a>(files: &[(String, &'a [u8])]) -> Vec<Vec<(String, &'a [u8])>> {
    let mut groups: Vec<(String, Vec<(String, &'a [u8])>)> = Vec::new();
    for (name, bytes) in files {
        let (run, _) = run_of(name);
        // Files without a folder are uploaded side by side: one run.
        let key = if name.contains(['/', '\\']) {
            run
        } else {
            String::new()
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, group)) => group.push((name.clone(), bytes)),
            None => groups.push((key, vec![(name.clone(), bytes)])),
        }
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

/// The points of one tag: step, value, record number.
#[derive(Default)]
struct TagPoints {
    steps: Vec<f64>,
    values: Vec<f64>,
    records: Vec<u32>,
}

/// Reads the event files of one run.
pub fn read(
    files: &[(String, &[u8])],
    mapping: &Mapping,
    limits: &Limits,
) -> Result<ParsedFile, IngestError> {
    let Some((first, _)) = files.first() else {
        return Err(IngestError::new(
            IngestErrorKind::Empty,
            "",
            "no event file",
        ));
    };
    let label = files
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(" + ");
    let mut files: Vec<&(String, &[u8])> = files.iter().collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let (run_name, _) = run_of(first);

    let mut tags: Vec<String> = Vec::new();
    let mut points: Vec<TagPoints> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    // The plugin a tag's first value names (TF2 names it once per tag).
    let mut plugins: HashMap<String, String> = HashMap::new();
    let mut warnings = Vec::new();
    let mut n_scalars = 0usize;
    for (name, bytes) in &files {
        let (_, prefix) = run_of(name);
        if bytes.len() > limits.max_bytes {
            return Err(IngestError::too_large(
                name,
                "max_bytes",
                format!("an event file of {} bytes", bytes.len()),
            ));
        }
        let (records, problem) = record::read(bytes);
        match problem {
            None => {}
            Some(record::Problem::Truncated { number, offset }) => warnings.push(format!(
                "{name}: the file ends inside record {number} (byte {offset}), as a run still writing would; \
                 the {} whole record(s) before it were read",
                records.len()
            )),
            Some(record::Problem::BadLengthCrc { number, offset } | record::Problem::BadDataCrc { number, offset }) => {
                return Err(IngestError::malformed(
                    name,
                    format!("a CRC check fails at byte {offset}: the file is corrupt (or not a TensorBoard event file)"),
                )
                .with_at(format!("record {number}")));
            }
        }
        if records.is_empty() {
            return Err(IngestError::malformed(
                name,
                "no whole record: not a TensorBoard event file, or an empty one",
            ));
        }
        for rec in records {
            let event = Event::decode(rec.data).map_err(|e| {
                IngestError::malformed(name, format!("the record is not a TensorBoard Event: {e}"))
                    .with_at(format!("record {}", rec.number))
            })?;
            let Some(summary) = event.summary else {
                continue;
            };
            for value in summary.value {
                let tag = format!("{prefix}{}", value.tag);
                if let Some(plugin) = value.metadata.as_ref().and_then(|m| m.plugin_data.as_ref()) {
                    plugins
                        .entry(tag.clone())
                        .or_insert_with(|| plugin.plugin_name.clone());
                }
                let scalar = match (value.simple_value, &value.tensor) {
                    (Some(v), _) => Some(f64::from(v)),
                    (None, Some(tensor))
                        if plugins
                            .get(&tag)
                            .is_none_or(|p| p == "scalars" || p.is_empty()) =>
                    {
                        tensor.scalar()
                    }
                    _ => None,
                };
                let Some(scalar) = scalar else { continue };
                n_scalars += 1;
                if n_scalars > limits.max_rows {
                    return Err(IngestError::too_large(
                        name,
                        "max_rows",
                        format!("more than {} scalars", limits.max_rows),
                    ));
                }
                let i = *index.entry(tag.clone()).or_insert_with(|| {
                    tags.push(tag.clone());
                    points.push(TagPoints::default());
                    tags.len() - 1
                });
                points[i].steps.push(event.step as f64);
                points[i].values.push(scalar);
                points[i].records.push(rec.number as u32);
            }
        }
    }
    if tags.is_empty() {
        return Err(IngestError::missing(
            first,
            "the event file has no scalar summaries",
        ));
    }

    // Tags get roles like the columns of a table (a step "column" is implied).
    let mut names = vec!["step".to_string()];
    names.extend(tags.iter().cloned());
    let kinds = vec![Kind::Numeric; names.len()];
    let plan = frame::plan(first, &names, &kinds, mapping, Hints::default())?;
    let mut asm = Assembler::new(first, limits);
    asm.warnings = warnings;
    let run = asm.run(&run_name)?;
    // Column 0 is the implied step: a mapping that names it as a value is ignored.
    for &(col, role) in &plan.values {
        let Some(tag_points) = col.checked_sub(1).and_then(|i| points.get(i)) else {
            continue;
        };
        let series = asm.series(run, role, &names[col]);
        let origin = Origin::Records(tag_points.records.clone());
        for (i, (&step, &value)) in tag_points.steps.iter().zip(&tag_points.values).enumerate() {
            asm.push(run, series, step, value, i, &origin)?;
        }
    }
    for (col, wide_run, role) in &plan.wide {
        let Some(tag_points) = col.checked_sub(1).and_then(|i| points.get(i)) else {
            continue;
        };
        let run = asm.run(wide_run)?;
        let series = asm.series(run, *role, &names[*col]);
        let origin = Origin::Records(tag_points.records.clone());
        for (i, (&step, &value)) in tag_points.steps.iter().zip(&tag_points.values).enumerate() {
            asm.push(run, series, step, value, i, &origin)?;
        }
    }
    let roles = plan
        .used
        .iter()
        .filter(|(_, r)| *r != Role::Step)
        .cloned()
        .collect();
    let mut notes = plan.notes.clone();
    if files.len() > 1 {
        notes.push(format!(
            "{} event files read as one run ({label})",
            files.len()
        ));
    }
    super::finish(
        asm,
        mapping,
        &Vec::new(),
        Output {
            format: "tfevents".into(),
            layout: if plan.wide.is_empty() {
                Layout::Long
            } else {
                Layout::Wide
            },
            roles,
            ignored: plan.ignored.clone(),
            notes,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two records of TensorBoard's own reader tests (see formats.md).
    fn reference_file() -> Vec<u8> {
        let mut data1 = vec![
            0x09, 0x00, 0x00, 0x80, 0x38, 0x99, 0xd6, 0xd7, 0x41, 0x1a, 0x0d,
        ];
        data1.extend_from_slice(b"brain.Event:2");
        let mut data2 = vec![
            0x09, 0xc4, 0x05, 0xb7, 0x3d, 0x99, 0xd6, 0xd7, 0x41, 0x10, 0x4d, 0x2a, 0x25, 0x0a,
            0x23, 0x0a, 0x08,
        ];
        data2.extend_from_slice(b"accuracy");
        data2.extend_from_slice(&[
            0x42, 0x0a, 0x08, 0x01, 0x12, 0x00, 0x22, 0x04, 0xa4, 0x70, 0x7d, 0x3f,
        ]);
        data2.extend_from_slice(&[0x4a, 0x0b, 0x0a, 0x09, 0x0a, 0x07]);
        data2.extend_from_slice(b"scalars");
        assert_eq!((data1.len(), data2.len()), (24, 50));
        let mut file = Vec::new();
        file.extend_from_slice(&24u64.to_le_bytes());
        file.extend_from_slice(&[0xa3, 0x7f, 0x4b, 0x22]);
        file.extend_from_slice(&data1);
        file.extend_from_slice(&[0x12, 0x4b, 0x36, 0xab]);
        file.extend_from_slice(&50u64.to_le_bytes());
        file.extend_from_slice(&[0x24, 0x19, 0x56, 0xec]);
        file.extend_from_slice(&data2);
        file.extend_from_slice(&[0xa5, 0x5b, 0x64, 0x33]);
        file
    }

    #[test]
    fn tensorboard_test_vectors_decode() {
        let file = reference_file();
        let (records, problem) = record::read(&file);
        assert_eq!((records.len(), problem), (2, None));
        let first = Event::decode(records[0].data).unwrap();
        assert_eq!(first.file_version.as_deref(), Some("brain.Event:2"));
        assert_eq!(first.wall_time, 1599759586.0);
        let second = Event::decode(records[1].data).unwrap();
        assert_eq!(second.step, 77);
        let value = &second.summary.as_ref().unwrap().value[0];
        assert_eq!(value.tag, "accuracy");
        assert_eq!(
            value.tensor.as_ref().unwrap().scalar(),
            Some(f64::from(0.99f32))
        );
        assert_eq!(
            value
                .metadata
                .as_ref()
                .unwrap()
                .plugin_data
                .as_ref()
                .unwrap()
                .plugin_name,
            "scalars"
        );
    }

    #[test]
    fn the_writer_reproduces_the_test_vectors_byte_for_byte() {
        let mut writer = EventWriter::new(1599759586.0);
        let second = Event::decode(record::read(&reference_file()).0[1].data).unwrap();
        writer.add_tensor_scalar("accuracy", 77, 0.99, second.wall_time);
        assert_eq!(writer.into_bytes(), reference_file());
    }

    #[test]
    fn a_truncated_last_record_is_read_up_to_the_last_whole_record() {
        let mut writer = EventWriter::new(1.0);
        for step in 0..10 {
            writer.add_scalar("loss", step, 5.0 - step as f32 * 0.1, 1.0 + step as f64);
        }
        let bytes = writer.into_bytes();
        let cut = &bytes[..bytes.len() - 7];
        let file = read(
            &[("run/events.out.tfevents.1.host".into(), cut)],
            &Mapping::default(),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(file.runs[0].name, "run");
        assert_eq!(file.runs[0].series["loss"].steps.len(), 9);
        assert!(
            file.warnings
                .iter()
                .any(|w| w.contains("ends inside record 11")),
            "{:?}",
            file.warnings
        );
    }

    #[test]
    fn a_bad_crc_is_an_error_that_names_the_record() {
        let mut writer = EventWriter::new(1.0);
        writer.add_scalar("loss", 1, 3.0, 2.0);
        let mut bytes = writer.into_bytes();
        let last = bytes.len() - 6;
        bytes[last] ^= 0xff;
        let err = read(
            &[("events.out.tfevents.1.host".into(), &bytes)],
            &Mapping::default(),
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(err.at.as_deref(), Some("record 2"), "{err}");
    }

    #[test]
    fn run_names_come_from_folders() {
        for (file, run, prefix) in [
            ("logs/run1/events.out.tfevents.1.h", "run1", ""),
            (
                "logs/run1/validation/events.out.tfevents.1.h",
                "run1",
                "validation/",
            ),
            ("events.out.tfevents.1599.host", "1599.host", ""),
        ] {
            assert_eq!(
                run_of(file),
                (run.to_string(), prefix.to_string()),
                "{file}"
            );
        }
    }
}

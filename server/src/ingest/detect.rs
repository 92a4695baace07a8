//! Which format a file is, from its content first: magic bytes (zip, Parquet), a valid
//! TensorBoard record header, JSON's first character, then a table header with
//! consistent rows, then lines that look like a trainer's console log. The file name
//! only breaks ties (`events.out.tfevents.*`).

use serde::{Deserialize, Serialize};

use super::formats::{console, tfevents};
use super::{IngestError, IngestErrorKind};

/// A format family: the reader that handles it. Sub-formats (W&B exports, Lightning,
/// Megatron...) are found by the reader and named in [`super::ParsedFile::format`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// CSV or TSV with a header (long, wide, W&B, Lightning, scaling tables).
    Csv,
    /// One JSON document: records, columns, HF `trainer_state.json`, a run export.
    Json,
    /// JSON lines: one record per line.
    Ndjson,
    Parquet,
    /// TensorBoard event file.
    Tfevents,
    /// A trainer's console output (Megatron-LM, NeMo, nanoGPT, torchtitan).
    Log,
    /// A zip archive of any of the above (a run folder).
    Zip,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::Csv,
        Format::Json,
        Format::Ndjson,
        Format::Parquet,
        Format::Tfevents,
        Format::Log,
        Format::Zip,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Parquet => "parquet",
            Format::Tfevents => "tfevents",
            Format::Log => "log",
            Format::Zip => "zip",
        }
    }

    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|f| f.name()).collect()
    }

    /// A family name, or one of the sub-format names readers report (`tsv`, `jsonl`...).
    pub fn from_name(name: &str) -> Option<Format> {
        let name = name.trim().to_ascii_lowercase();
        let family = match name.as_str() {
            "csv" | "tsv" | "wandb_chart_csv" | "wandb_history_csv" | "lightning_csv" => {
                Format::Csv
            }
            "json" | "hf_trainer_state" | "run_json" => Format::Json,
            "ndjson" | "jsonl" | "json_lines" => Format::Ndjson,
            "parquet" => Format::Parquet,
            "tfevents" | "tensorboard" => Format::Tfevents,
            "log" | "megatron_log" | "nemo_log" | "nanogpt_log" | "torchtitan_log" | "text_log" => {
                Format::Log
            }
            "zip" => Format::Zip,
            _ => return None,
        };
        Some(family)
    }
}

/// Finds the format of a file from its bytes (and, for ties, its name).
pub fn detect(file_name: &str, bytes: &[u8]) -> Result<Format, IngestError> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Ok(Format::Zip);
    }
    if bytes.starts_with(b"PAR1") {
        return Ok(Format::Parquet);
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(IngestError::malformed(
            file_name,
            "a gzip-compressed file: unpack it first, or upload a .zip",
        ));
    }
    if tfevents::looks_like(bytes) {
        return Ok(Format::Tfevents);
    }
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let Ok(text) = std::str::from_utf8(strip_bom(bytes)) else {
        // A damaged event file: its reader says which record is bad.
        if base.starts_with("events.out.tfevents") {
            return Ok(Format::Tfevents);
        }
        return Err(IngestError::malformed(
            file_name,
            "a binary file of an unknown format (not CSV/TSV, JSON, Parquet, a TensorBoard event file or a zip)",
        ));
    };
    let trimmed = text.trim_start();
    if looks_like_json(trimmed) {
        return Ok(if looks_like_json_lines(trimmed) {
            Format::Ndjson
        } else {
            Format::Json
        });
    }
    if looks_like_table(text) {
        return Ok(Format::Csv);
    }
    if console::looks_like_log(text) {
        return Ok(Format::Log);
    }
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    Err(IngestError::new(
        IngestErrorKind::Malformed,
        file_name,
        format!(
            "not a recognised format: the first line '{}' is not a table header, and no line looks like a \
             training log line with a step and a loss",
            super::error::excerpt(first)
        ),
    ))
}

/// `{"...` or `[` then a JSON value (not `[NeMo I ...` or `[titan]` of a log line).
fn looks_like_json(text: &str) -> bool {
    let mut chars = text.chars();
    let next = || {
        text.get(1..)
            .unwrap_or_default()
            .trim_start()
            .chars()
            .next()
    };
    match chars.next() {
        Some('{') => matches!(next(), Some('"' | '}')),
        Some('[') => matches!(next(), Some('{' | '[' | ']' | '"' | '-' | '0'..='9')),
        _ => false,
    }
}

pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// JSON lines: the first line is a whole JSON object and another object line follows.
fn looks_like_json_lines(text: &str) -> bool {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let (Some(first), Some(second)) = (lines.next(), lines.next()) else {
        return false;
    };
    first.starts_with('{')
        && second.starts_with('{')
        && serde_json::from_str::<serde::de::IgnoredAny>(first).is_ok()
}

/// The separator of a table: tab, comma or semicolon, whichever the header uses.
pub fn sniff_separator(header: &str) -> u8 {
    let count = |sep: u8| count_fields(header, sep) - 1;
    if count(b'\t') > 0 && count(b',') == 0 {
        b'\t'
    } else if count(b',') > 0 {
        b','
    } else if count(b';') > 0 {
        b';'
    } else {
        b','
    }
}

/// Fields of a line, with separators inside double quotes not counted.
pub fn count_fields(line: &str, sep: u8) -> usize {
    let mut quoted = false;
    let mut fields = 1;
    for &b in line.as_bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if b == sep && !quoted {
            fields += 1;
        }
    }
    fields
}

/// A header line, then rows mostly with as many fields (of the first 20; a ragged row is
/// reported by the CSV reader with its line), and a header that is not itself a log line.
fn looks_like_table(text: &str) -> bool {
    let mut lines = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        return false;
    };
    if console::parse_line(header).is_some() {
        return false;
    }
    let sep = sniff_separator(header);
    let n = count_fields(header, sep);
    if n < 2 && super::roles::detect(header).is_none() {
        return false;
    }
    let rows: Vec<&str> = lines.take(20).collect();
    2 * rows.iter().filter(|l| count_fields(l, sep) == n).count() >= rows.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, bytes: &[u8], expected: Option<Format>) {
        assert_eq!(
            detect(name, bytes).ok(),
            expected,
            "{name}: {:?}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(60)])
        );
    }

    #[test]
    fn detects_by_content() {
        check("a.txt", b"step,loss\n1,2\n", Some(Format::Csv));
        check("a.txt", b"step\tloss\n1\t2\n", Some(Format::Csv));
        check("a.csv", b"{\"log_history\": []}", Some(Format::Json));
        check(
            "a.json",
            b"{\"step\": 1, \"loss\": 2}\n{\"step\": 2, \"loss\": 1}\n",
            Some(Format::Ndjson),
        );
        check("x", b"PAR1....", Some(Format::Parquet));
        check("x", b"PK\x03\x04....", Some(Format::Zip));
        check(
            "train.log",
            b"iter 0: loss 10.9, time 100ms, mfu 1.0%\niter 1: loss 9.5, time 100ms, mfu 1.0%\n",
            Some(Format::Log),
        );
        check("x", b"\x00\x01\x02\xff\xfe", None);
        check("x", b"hello world\nthis is not data\n", None);
        check(
            "nemo.log",
            b"[NeMo I 2024-01-01] start\nTraining epoch 0, iteration 1/9 | global_step: 1 | reduced_train_loss: 1.3\n",
            Some(Format::Log),
        );
        check(
            "a.json",
            b"[\n  {\"step\": 1, \"loss\": 2}\n]",
            Some(Format::Json),
        );
    }
}

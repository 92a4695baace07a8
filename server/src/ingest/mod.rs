//! Ingestion: turns an uploaded file's bytes into runs (named series of points).
//!
//! Architecture invariant: this is the only module that knows polars. It does no IO
//! of its own: callers hand it bytes and get runs or an [`IngestError`] that says what
//! is wrong and where (file, line or record, column).
//!
//! Module map:
//! - [`detect`]: which format a file is, from its content (then its name);
//! - `formats/*`: one reader per format family (CSV/TSV, JSON, NDJSON, Parquet,
//!   trainer_state.json, TensorBoard events, console logs, zip archives);
//! - [`roles`]: the role of a column from its header; [`mapping`]: the user's overrides;
//! - `frame`: a polars table -> runs (layouts, numbers, bad cells located);
//! - `assemble`: points -> sorted, deduplicated series, attributes, derived tokens, warnings;
//! - [`report`]: the serialisable summary of what was found (CLI, upload preview);
//! - [`samples`]: writes a sample file of every format (fixtures and round-trip tests);
//! - [`table`]: a plain CSV table as text cells (reduced batch sweeps);
//! - [`LineGuard`]: the longest-line limit, checked while an upload streams in.
//! - [`values`]: the rules every step and value obeys where it enters (files through
//!   `assemble`, JSON points through `points`).
//!
//! Safety: [`Limits`] bound the bytes, rows, runs, line length, archive entries and JSON
//! documents (each error names its limit; `TooLarge` is HTTP 413) and the values
//! ([`values`]: steps, losses, learning rates; `Malformed`, HTTP 422); a panic inside a
//! reader becomes an error for that file. `tests/ingest_fuzz.rs` fuzzes every format.
//! polars-parquet can abort the process on some corrupt Parquet data pages (a huge
//! allocation, not a panic), so callers read Parquet and archives through
//! [`crate::isolated`], which runs this reader in a child process.
//!
//! Representation: one [`ParsedRun`] per training run, with series keyed `loss`,
//! `eval_loss`, `lr`, `tokens`, ... over the step, and run-level numbers in `attrs`
//! (`n_params`, `batch_size`, `seq_len`, `tokens_per_step`; for a run that is a single
//! row of a scaling table also `tokens` (D), `flops` (C) and `lr`). Whole runs stay
//! together, so that later fits can resample whole runs.

mod assemble;
pub mod detect;
mod error;
mod formats;
mod frame;
mod line_guard;
pub mod mapping;
mod origin;
mod points;
pub mod report;
pub mod roles;
pub mod samples;
pub mod table;
pub mod values;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shared::api::Series;

pub use detect::Format;
pub use error::{IngestError, IngestErrorKind};
pub use formats::tfevents;
pub use line_guard::LineGuard;
pub use mapping::Mapping;
pub use points::from_points;
pub use report::Report;
pub use roles::Role;

/// Bounds that keep a hostile or mistaken upload from exhausting the server. Every
/// error for a bound names its field. The size bounds (`max_bytes` ... `max_json_bytes`)
/// are HTTP 413; the value bounds (`max_step`, `max_loss`, `max_lr`) are checked for
/// every point where it enters (see [`values`]) and are HTTP 422 naming the file, the
/// line or record, the column and the value.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Bytes of one file; for an archive, of all its files once unpacked.
    pub max_bytes: usize,
    /// Data rows in one file (lines, records, TensorBoard scalars).
    pub max_rows: usize,
    /// Runs in one file.
    pub max_runs: usize,
    /// Bytes of one line of a text file.
    pub max_line_bytes: usize,
    /// Files in one archive or batch.
    pub max_files: usize,
    /// Bytes of a JSON document that is parsed whole (JSON lines and CSV stream instead).
    pub max_json_bytes: usize,
    /// Columns of a table (a W&B chart export has three per run).
    pub max_columns: usize,
    /// Largest step (default [`shared::schedule::MAX_STEPS`], ten million: above any real
    /// training run; fits build per-step arrays up to the last step, 80 MB at this length).
    pub max_step: u64,
    /// Largest loss (and eval loss), default 1e6. A cross-entropy in nats starts near
    /// ln(vocabulary size), 10 to 12.5 for vocabularies of 32k to 256k tokens; 1e6 leaves
    /// five orders of magnitude above that for spikes and diverging runs (whose NaN or
    /// inf points are left out with a warning). A larger value is a column that is not a
    /// per-token loss (tokens, a loss summed over a batch), and near f64's range it would
    /// overflow the fits (the laws' irreducible loss is bounded by 20).
    pub max_loss: f64,
    /// Largest learning rate, default 100. Adam runs use 1e-5 to 1e-2; SGD with the linear
    /// scaling rule logs 0.1 x batch / 256, e.g. 25.6 at batch 64k (so 10 would refuse
    /// real large-batch vision runs). A larger value is a column of steps, tokens or
    /// sequence lengths mapped as the learning rate.
    pub max_lr: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 256 * 1024 * 1024,
            max_rows: 5_000_000,
            max_runs: 10_000,
            max_line_bytes: 1024 * 1024,
            max_files: 1_000,
            max_json_bytes: 64 * 1024 * 1024,
            max_columns: 10_000,
            max_step: shared::schedule::MAX_STEPS,
            max_loss: 1e6,
            max_lr: 100.0,
        }
    }
}

/// How runs were laid out in a table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Step, values, and optionally a run column (or a log: one record per step).
    #[default]
    Long,
    /// One column per run (W&B chart export, pivoted tables).
    Wide,
    /// One run per row (scaling tables without run names).
    RowPerRun,
}

/// One run read from a file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedRun {
    pub name: String,
    /// `loss` always; `eval_loss`, `lr`, `tokens`, ... when the file has them.
    pub series: BTreeMap<String, Series>,
    /// Run-level numbers: `n_params`, `batch_size`, `seq_len`, `tokens_per_step`, and for
    /// a single-row run `tokens`, `flops`, `lr`.
    pub attrs: BTreeMap<String, f64>,
    /// Where each series or attribute came from (a column, a derivation, the mapping).
    pub sources: BTreeMap<String, String>,
}

/// What a file held.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedFile {
    /// The detected format, e.g. `csv`, `wandb_chart_csv`, `tfevents` (see [`Format`]).
    pub format: String,
    pub layout: Layout,
    pub runs: Vec<ParsedRun>,
    /// Columns (or tags, or log keys) used, with their role.
    pub roles: Vec<(String, Role)>,
    /// Columns seen and not used.
    pub ignored: Vec<String>,
    /// What was handled on the way (non-finite values, repeated steps, spikes...).
    pub warnings: Vec<String>,
    /// Decisions taken (derived tokens, the layout chosen, entries of an archive...).
    pub notes: Vec<String>,
}

/// Reads one uploaded file, finding everything automatically.
pub fn ingest(file_name: &str, bytes: &[u8], limits: &Limits) -> Result<ParsedFile, IngestError> {
    ingest_with(file_name, bytes, &Mapping::default(), limits)
}

/// Reads one uploaded file with the user's overrides.
pub fn ingest_with(
    file_name: &str,
    bytes: &[u8],
    mapping: &Mapping,
    limits: &Limits,
) -> Result<ParsedFile, IngestError> {
    if bytes.len() > limits.max_bytes {
        return Err(IngestError::too_large(
            file_name,
            "max_bytes",
            format!(
                "the file has {} bytes, more than {}",
                bytes.len(),
                limits.max_bytes
            ),
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(IngestError::new(
            IngestErrorKind::Empty,
            file_name,
            "the file is empty",
        ));
    }
    let format = match &mapping.format {
        Some(name) => Format::from_name(name).ok_or_else(|| {
            IngestError::malformed(
                file_name,
                format!(
                    "unknown format '{name}'; known: {}",
                    Format::names().join(", ")
                ),
            )
        })?,
        None => detect::detect(file_name, bytes)?,
    };
    // A last line of defence: a panic inside a reader (ours or a library's) becomes an
    // error for this file instead of taking the request or the CLI down.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        formats::read(format, file_name, bytes, mapping, limits)
    }))
    .unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(IngestError::malformed(
            file_name,
            format!(
                "the {} reader failed on this file (a bug; please report it): {why}",
                format.name()
            ),
        ))
    })
}

/// Reads several files uploaded together: TensorBoard event files of the same folder
/// are one run (a restarted run writes a new file); the others are read one by one.
pub fn ingest_batch(
    files: &[(String, Vec<u8>)],
    mapping: &Mapping,
    limits: &Limits,
) -> Vec<(String, Result<ParsedFile, IngestError>)> {
    formats::batch(files, mapping, limits)
}

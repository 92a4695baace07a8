//! Wire types of ingestion: the user's column [`Mapping`] and the [`IngestReport`] of what
//! the reader found (format, column roles, runs, LR source, point counts, warnings).
//!
//! The same report is printed by `curvecast ingest`, returned by `POST /api/runs/preview`
//! and shown by the web app before import. Roles, layouts and error kinds travel as their
//! snake_case names (`loss`, `eval_loss`, `row_per_run`, `malformed`, ...).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::LrSource;

/// The user's overrides of what was found automatically: which column has which role,
/// and run-level numbers the file does not hold. A column named here must exist.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Mapping {
    /// Read the file as this format instead of detecting it (`csv`, `tfevents`, ...).
    pub format: Option<String>,
    pub step_col: Option<String>,
    /// One column: the loss. Several: a wide table, one run per column, named after it.
    pub loss_col: Vec<String>,
    pub eval_loss_col: Option<String>,
    pub lr_col: Option<String>,
    pub run_col: Option<String>,
    pub tokens_col: Option<String>,
    pub samples_col: Option<String>,
    pub batch_size_col: Option<String>,
    pub n_params_col: Option<String>,
    pub flops_col: Option<String>,
    /// Sequence length in tokens, for every run (tokens = samples or step x batch x this).
    pub seq_len: Option<f64>,
    /// Global batch size in sequences, for every run.
    pub batch_size: Option<f64>,
    /// Tokens per optimiser step, for every run (tokens = step x this).
    pub tokens_per_step: Option<f64>,
    /// Model parameters, for every run.
    pub n_params: Option<f64>,
}

impl Mapping {
    pub fn is_empty(&self) -> bool {
        *self == Mapping::default()
    }
}

/// What the reader found in each file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestReport {
    pub files: Vec<FileReport>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct FileReport {
    pub file: String,
    /// The detected format (`csv`, `wandb_chart_csv`, `tfevents`, `megatron_log`...).
    pub format: Option<String>,
    /// `long`, `wide` or `row_per_run`.
    pub layout: Option<String>,
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ColumnReport {
    pub column: String,
    /// `run`, `step`, `loss`, `eval_loss`, `lr`, `tokens`, `samples`, `batch_size`,
    /// `seq_len`, `tokens_per_step`, `n_params` or `flops`.
    pub role: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesReport {
    pub name: String,
    pub points: usize,
    pub first_step: Option<f64>,
    pub last_step: Option<f64>,
    /// The column it was read from, or how it was derived.
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorReport {
    /// `empty`, `malformed`, `missing` or `too_large`.
    pub kind: String,
    /// The whole sentence: what is wrong and where.
    pub message: String,
    pub line: Option<usize>,
    pub at: Option<String>,
    pub column: Option<String>,
}

//! The JSON API's types: the one wire format, shared by the server and the browser app.
//!
//! Internal server types are converted to these at the HTTP edge; nothing else is
//! serialised to clients.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The body of every error answer: `{"error": {"code", "message", "details"}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `invalid_file`, `upload_too_large`, `not_found`.
    pub code: String,
    /// A sentence for people: what is wrong and where.
    pub message: String,
    /// Where the problem is (file, row, column, limit...), when known.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
}

/// `GET /api/health`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
    pub runs: u64,
}

/// Where a run's learning rate comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrSource {
    /// A column of the uploaded file.
    Logged,
    /// A schedule the user gave.
    Schedule,
    /// None: schedule-aware laws refuse this run.
    None,
}

/// One run as listed: everything but its points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub id: i64,
    pub name: String,
    /// The uploaded file the run came from.
    pub file_name: String,
    /// The detected format, e.g. `csv`.
    pub format: String,
    /// RFC 3339 time of the upload.
    pub created_at: String,
    /// Names of the run's series (`loss`, `lr`, `eval_loss`, ...).
    pub series: Vec<String>,
    /// Number of points of the `loss` series.
    pub n_points: u64,
    pub lr_source: LrSource,
}

/// A series of a run: values at increasing steps, column-wise for compact JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub steps: Vec<f64>,
    pub values: Vec<f64>,
}

/// `GET /api/runs/{id}`: a run with all its series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    #[serde(flatten)]
    pub summary: RunSummary,
    pub points: BTreeMap<String, Series>,
}

/// `POST /api/runs`: the runs created from the uploaded files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UploadResponse {
    pub runs: Vec<RunSummary>,
    /// Things the reader handled that the user should know (dropped rows, ...).
    #[serde(default)]
    pub warnings: Vec<String>,
}

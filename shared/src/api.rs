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

/// One fitted parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamEstimate {
    pub name: String,
    pub meaning: String,
    pub value: f64,
    /// The start the best optimisation began from.
    pub init: f64,
    pub lower: f64,
    pub upper: f64,
    pub fixed: bool,
    /// Standard error from the Gauss-Newton covariance at the optimum.
    pub stderr: Option<f64>,
    /// Why `stderr` is missing (fixed, at a bound, singular curvature...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr_missing: Option<String>,
    /// Bootstrap percentile confidence interval (level in [`FitReport::ci_level`]).
    pub ci: Option<[f64; 2]>,
}

/// Goodness of fit on one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    pub run: String,
    pub n_points: usize,
    /// `None` when the run's losses do not vary (e.g. a single point).
    pub r2: Option<f64>,
    pub mae: f64,
    pub rmse: f64,
    /// Mean of |L - L^| / L.
    pub mean_rel_error: f64,
    /// Max of |L - L^| / L.
    pub worst_rel_error: f64,
}

/// Bootstrap settings and outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BootstrapSummary {
    pub resamples: usize,
    pub seed: u64,
    /// Resamples whose refit failed (left out of the intervals).
    pub failed: usize,
    /// What is resampled: whole runs (groups), never single points of a run.
    pub unit: String,
    /// Parameter vectors of the successful refits (for prediction bands).
    pub samples: Vec<Vec<f64>>,
}

/// Everything a fit found and everything needed to reproduce it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    pub law: String,
    /// The law's formula, as text.
    pub form: String,
    /// Law-specific settings (index convention, lambda, ...).
    pub settings: serde_json::Value,
    /// Objective: penalty, delta, scale, asymmetry.
    pub objective: serde_json::Value,
    pub optimizer: String,
    /// How the starts were chosen, and how many.
    pub start_grid: String,
    pub n_starts: usize,
    /// Points left out of the fit, and why.
    pub excluded: Vec<String>,
    pub params: Vec<ParamEstimate>,
    /// Names of the free parameters, in the order of `correlations`.
    pub correlation_names: Vec<String>,
    pub correlations: Vec<Vec<f64>>,
    pub objective_value: f64,
    pub n_points: usize,
    pub aic: f64,
    pub bic: f64,
    pub convergence: serde_json::Value,
    pub evaluations: u64,
    pub train: Vec<RunMetrics>,
    pub holdout: Vec<RunMetrics>,
    pub ci_level: f64,
    pub bootstrap: Option<BootstrapSummary>,
    /// Things the user should know (weak identifiability, extrapolation...).
    pub warnings: Vec<String>,
    /// A prior on weakly identified parameters and how its strength was chosen
    /// (stage-one fit, prior terms, cross-validation table); absent for a plain fit.
    #[serde(default)]
    pub regularisation: Option<serde_json::Value>,
    /// What the data alone identify: per free parameter the profile and conditional
    /// standard deviations (quadratic approximation) and their ratio.
    #[serde(default)]
    pub identifiability: Option<serde_json::Value>,
}

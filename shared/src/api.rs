//! The JSON API's types: the one wire format, shared by the server and the browser app.
//!
//! Internal server types are converted to these at the HTTP edge; nothing else is
//! serialised to clients.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The batch-size workflow's types.
pub use crate::api_batch as batch;
pub use crate::api_ingest::{
    ColumnReport, ErrorReport, FileReport, IngestReport, Mapping, RunReport, SeriesReport,
};

/// The body of every error answer: `{"error": {"code", "message", "details"}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
    pub version: String,
    pub runs: u64,
    /// Fit jobs queued or running in this server process (their work included: a
    /// cancelled fit counts until its optimisers have stopped).
    #[serde(default)]
    pub active_fits: usize,
}

/// Where a run's learning rate comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Run-level numbers: `n_params`, `batch_size`, `seq_len`, `tokens`, `flops`, ...
    #[serde(default)]
    pub attrs: BTreeMap<String, f64>,
    /// The schedule (text form) the user gave for the run (`PATCH /api/runs/{id}`); schedule
    /// laws use it when the run has no logged LR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
}

/// `POST /api/runs` with `Content-Type: application/json`: one run given as points.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RunUpload {
    pub name: String,
    /// Series by name; `loss` is required, `lr`, `eval_loss`, `tokens`, ... optional.
    pub points: BTreeMap<String, Series>,
    #[serde(default)]
    pub attrs: BTreeMap<String, f64>,
}

/// `PATCH /api/runs/{id}`: fields left out are unchanged; `"schedule": null` removes it.
/// All given changes are applied together or not at all.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RunPatch {
    pub name: Option<String>,
    /// `Some(None)` (JSON `null`) clears the schedule.
    #[serde(default, deserialize_with = "some_or_null")]
    pub schedule: Option<Option<String>>,
    /// Re-read the run from its kept upload with this column mapping, replacing its series,
    /// attributes and sources (refused while a fit uses the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<Mapping>,
}

/// A present field, even `null`, is `Some`: tells "absent" from "set to null".
fn some_or_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A series of a run: values at increasing steps, column-wise for compact JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Series {
    pub steps: Vec<f64>,
    pub values: Vec<f64>,
}

/// `GET /api/runs/{id}`: a run with all its series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunDetail {
    #[serde(flatten)]
    pub summary: RunSummary,
    pub points: BTreeMap<String, Series>,
    /// Where each series and attribute came from: its column (the detected role) or how it
    /// was derived, as the upload's ingest report said.
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
}

/// `POST /api/runs`: the runs created from the uploaded files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadResponse {
    pub runs: Vec<RunSummary>,
    /// Things the reader handled that the user should know (dropped rows, ...).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// One fitted parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BootstrapSummary {
    pub resamples: usize,
    pub seed: u64,
    /// Resamples whose refit failed (left out of the intervals).
    pub failed: usize,
    /// What is resampled: whole runs (groups) with 4 runs or more, else blocks of
    /// residuals within each run; never single points independently.
    pub unit: String,
    /// Parameter vectors of the successful refits (for prediction bands).
    pub samples: Vec<Vec<f64>>,
}

/// Everything a fit found and everything needed to reproduce it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Dense runs averaged into bins of steps before fitting (each bin weighted by its
    /// count), one line per run.
    #[serde(default)]
    pub aggregation: Vec<String>,
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
    /// Schedule laws: the peak LRs, lengths and schedule families of the fitted runs;
    /// forecasts outside them carry warnings (`shared::extrapolation`). Absent for table
    /// laws and for fits saved before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
    /// Natural-unit values of parameters fitted as logarithms (Chinchilla's `A = e^a`,
    /// Kaplan's `N_c = e^log_nc`, ...), derived from `params`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub derived: Vec<DerivedEstimate>,
    /// A law comparison (`"law": "compare"`): every schedule law's held-out forecast error;
    /// such a report has no parameters of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<LawComparison>,
}

/// Which schedule law forecasts these runs best: each law fitted on every fold (part of
/// the runs hidden) and scored on the hidden part.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LawComparison {
    /// What each fold hid and forecast, e.g. `cosine: last third` or `cosine: whole run`.
    pub folds: Vec<String>,
    /// One row per law, best first: by held-out mean, then worst; failed laws last.
    pub rows: Vec<ComparisonRow>,
}

/// One law's forecast errors over the folds of a [`LawComparison`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComparisonRow {
    pub law: String,
    /// Mean over folds of the hidden points' mean |L - L^| / L (`None` if a fold failed).
    pub mean_rel_error: Option<f64>,
    /// Largest |L - L^| / L of any hidden point of any fold.
    pub worst_rel_error: Option<f64>,
    /// Per fold (in the order of `folds`), the hidden points' mean |L - L^| / L.
    pub fold_errors: Vec<Option<f64>>,
    /// Why a fold's fit failed, for the first one that did.
    pub error: Option<String>,
    /// Seconds spent fitting this law on every fold.
    pub seconds: f64,
}

/// A value derived from a fitted log-form parameter: `value = exp(param)`, the standard
/// error by the delta method (`value * stderr(param)`), the interval the exponentiated
/// ends of the parameter's interval (exact for percentiles, since `exp` is monotone).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DerivedEstimate {
    /// E.g. `A`.
    pub name: String,
    /// The fitted parameter it comes from, e.g. `a` (`A = exp(a)`).
    pub from: String,
    pub meaning: String,
    pub value: f64,
    pub stderr: Option<f64>,
    /// At [`FitReport::ci_level`], like the parameter's.
    pub ci: Option<[f64; 2]>,
}

/// What one fitted run of a schedule-law fit covered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunCoverage {
    pub run: String,
    /// Largest learning rate up to `last_step`.
    pub peak_lr: f64,
    /// Step of the run's last fitted loss point.
    pub last_step: usize,
    /// Schedule family of its learning rates up to `last_step`: `constant`, `cosine`,
    /// `linear`, `inverse_sqrt`, `step`, `wsd-linear`, `wsd-sqrt`, `wsd-cosine`,
    /// `wsd-square`, `wsd-geometric` or `other`.
    pub family: String,
}

/// What a schedule-law fit's data covered; forecasts outside it carry warnings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Coverage {
    /// Smallest and largest peak LR of the fitted runs (forecasts beyond them, with 1%
    /// tolerance, are flagged).
    pub peak_lr: [f64; 2],
    /// The longest fitted run's last step (forecasts over 3 times longer are flagged).
    pub last_step: usize,
    /// The fitted runs' schedule families, sorted.
    pub families: Vec<String>,
    pub runs: Vec<RunCoverage>,
}

/// A forecast that leaves what the fit saw: `code` is `peak_lr_outside_fit`,
/// `horizon_beyond_fit`, `family_not_fitted` or `coverage_unknown`; `message` a sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForecastWarning {
    pub code: String,
    pub message: String,
}

/// `POST /api/fits`: what to fit.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FitRequest {
    /// Schedule laws (loss curves with LRs): `momentum`, `multipower`, `fsl`, `convex`,
    /// `power-s1`; table laws: `chinchilla`, `kaplan-n`, `kaplan-d`, `kaplan-nd`, `kaplan-ns`, `power`.
    pub law: String,
    /// Runs to fit.
    pub runs: Vec<i64>,
    /// Runs to hold out and report errors on.
    #[serde(default)]
    pub holdout: Vec<i64>,
    #[serde(default)]
    pub options: FitRequestOptions,
}

impl FitRequest {
    /// Every run the fit reads: the fitted ones, then the held-out ones.
    pub fn all_runs(&self) -> Vec<i64> {
        self.runs.iter().chain(&self.holdout).copied().collect()
    }
}

/// Options of the fitting engine; every field has the field's default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct FitRequestOptions {
    /// `code` (the authors' released code, default) or `paper`.
    pub convention: Option<String>,
    /// `huber` (default) or `least_squares`.
    pub penalty: Option<String>,
    /// Huber delta (default 1e-3).
    pub delta: Option<f64>,
    /// `log` (default) or `raw` residuals.
    pub scale: Option<String>,
    /// Penalty multiplier on over-predicted points (default 1).
    pub over_prediction_weight: Option<f64>,
    /// Leave out points before this step.
    pub exclude_before_step: Option<usize>,
    /// Leave out the first fraction (0-1) of each run's logged steps.
    pub exclude_first_fraction: Option<f64>,
    /// Leave out these inclusive step ranges of every run.
    pub exclude_ranges: Vec<[usize; 2]>,
    /// Leave out the k highest losses.
    pub exclude_highest: usize,
    /// Weights of the points of fitted runs, by run id (default 1).
    pub run_weights: BTreeMap<String, f64>,
    /// Bootstrap resamples (0: none; at most 10,000): of whole runs with 4 runs or more,
    /// else of blocks of residuals within each run.
    pub bootstrap: usize,
    pub seed: Option<u64>,
    /// Parameters held at a value, by name (names of the law's `report.params`).
    pub fixed: BTreeMap<String, f64>,
    /// `[lower, upper]` bounds replacing a parameter's default ones, by name.
    pub bounds: BTreeMap<String, [f64; 2]>,
    /// Schedules (text form) for runs without a logged LR, by run id.
    pub schedules: BTreeMap<String, String>,
    /// `"law": "compare"` only: the schedule laws to compare (default: every one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub laws: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FitStatus {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

/// A fit as listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FitSummary {
    pub id: i64,
    pub law: String,
    pub status: FitStatus,
    pub created_at: String,
    pub finished_at: Option<String>,
    /// Why it failed, for `failed`.
    pub error: Option<String>,
}

/// `GET /api/fits/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FitDetail {
    #[serde(flatten)]
    pub summary: FitSummary,
    pub request: FitRequest,
    /// The best parameters, in the order of `report.params`.
    pub params: Option<Vec<f64>>,
    pub report: Option<FitReport>,
    pub report_text: Option<String>,
    /// How far it is, while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
}

/// `POST /api/fits/{id}/predict`: a schedule law's forecast under a schedule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PredictRequest {
    /// Text form, e.g. `cosine:peak=3e-4,final=3e-5,warmup=2160,total=24000`.
    pub schedule: Option<String>,
    /// Or explicit per-step learning rates.
    pub lrs: Option<Vec<f64>>,
    /// Steps between predicted points (default 100; 1 to `schedule::MAX_STEPS`).
    pub every: Option<usize>,
}

/// One predicted point; `lower`/`upper` bound the bootstrap band when the fit has one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PredictedPoint {
    pub step: usize,
    pub loss: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// One row of a prediction as `POST /api/fits/{id}/predict` returns it in JSON (CSV and
/// Parquet have the same columns): `run` names the forecast (the schedule's text, or `lrs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PredictionRow {
    pub run: String,
    pub step: usize,
    pub loss: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// `POST /api/fits/{id}/plan` (Chinchilla and Kaplan N-D fits): give `compute` budgets for
/// the compute-optimal allocation, and/or `n` with `d` (equal lengths) for the loss of
/// proposed sizes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct PlanRequest {
    /// Budgets C in FLOPs (`C = 6 N D`).
    pub compute: Vec<f64>,
    /// Parameters N of proposed models.
    pub n: Vec<f64>,
    /// Tokens D of proposed models, one per `n`.
    pub d: Vec<f64>,
}

/// A value with its bootstrap percentile interval (level `PlanResponse::ci_level`);
/// `lower`/`upper` are absent when the fit has no bootstrap.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Estimate {
    pub value: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// The compute-optimal model for one budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptimalPoint {
    pub compute: f64,
    pub n_opt: Estimate,
    pub d_opt: Estimate,
    pub tokens_per_param: Estimate,
    pub loss: Estimate,
}

/// The predicted loss of one proposed (N, D).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposedPoint {
    pub n: f64,
    pub d: f64,
    pub compute: f64,
    pub loss: Estimate,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanResponse {
    pub law: String,
    pub ci_level: f64,
    /// Bootstrap resamples behind the intervals (0: none).
    pub resamples: usize,
    pub optimal: Vec<OptimalPoint>,
    pub proposed: Vec<ProposedPoint>,
}

/// `POST /api/fits/{id}/best-schedule` (schedule-law fits): candidates ranked by their
/// predicted loss at the last step of the horizon.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BestScheduleRequest {
    /// Schedules in text form.
    pub candidates: Vec<String>,
    /// Steps of training; each schedule is evaluated up to this step (1 to
    /// `schedule::MAX_STEPS`). Default: each schedule's own total.
    #[serde(default)]
    pub horizon: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RankedSchedule {
    /// 1 = lowest predicted final loss.
    pub rank: usize,
    pub schedule: String,
    pub step: usize,
    pub loss: Estimate,
    /// Where this candidate leaves what the fit saw (empty: nowhere).
    #[serde(default)]
    pub warnings: Vec<ForecastWarning>,
}

/// A fit job's state, as sent by `GET /api/fits/{id}/events` (Server-Sent Events): one
/// event per change of status, named after the status, and `progress` events while it
/// runs; the stream ends when the fit ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FitProgress {
    pub id: i64,
    pub status: FitStatus,
    /// Why it failed, for `failed`.
    pub error: Option<String>,
    /// How far a running fit is (in `progress` events, sent as it advances).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
}

/// How far a running fit is: `done` of `total` units of its current `stage`
/// (`starts`: optimisations from the start grid; `bootstrap`: resample refits).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Progress {
    pub stage: String,
    pub done: u64,
    pub total: u64,
}

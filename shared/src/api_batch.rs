//! Wire types of the batch-size workflow (`/api/batch/*`, `/api/hyper/fit`): critical batch
//! size from batch sweeps (McCandlish, Zhang), the `B_crit(L)` law, Su et al.'s
//! `L(N, S_min)` predictions and hyper-parameter laws. Exposed as `shared::api::batch`.
//!
//! Batch sizes are in the user's unit (sequences or tokens, as given); `seq_len`, when
//! given, converts them to tokens for the token counts.

use serde::{Deserialize, Serialize};

/// One row of a reduced sweep: steps a model needed to reach a target loss at a batch size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepsRow {
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_params: Option<f64>,
    /// The target loss, when known (rows without one form a single target per model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_loss: Option<f64>,
    pub batch: f64,
    pub steps: f64,
}

/// One training run of a sweep: its loss curve and batch size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SweepRun {
    pub name: String,
    /// Runs of one model share this (default: the `n_params` value, else one model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_params: Option<f64>,
    pub batch: f64,
    pub steps: Vec<f64>,
    pub loss: Vec<f64>,
}

/// Choices of the analysis (all optional).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct BatchOptions {
    /// Target losses; empty: `n_targets` chosen in the range every run of a model reaches.
    pub targets: Vec<f64>,
    pub n_targets: usize,
    /// Centered moving average over this many logged points before finding the first
    /// crossing (1: none).
    pub smoothing_window: usize,
    /// Zhang et al.'s reference batch `B0` (default: the smallest batch of the model's sweep).
    pub reference_batch: Option<f64>,
    /// Zhang et al.'s overhead over linear scaling (0.2 = 20%).
    pub overhead: f64,
    pub ci_level: f64,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self {
            targets: Vec::new(),
            n_targets: 8,
            smoothing_window: 1,
            reference_batch: None,
            overhead: 0.2,
            ci_level: 0.95,
        }
    }
}

/// `POST /api/batch/analyze`: stored runs (with a `batch_size` attribute), inline runs,
/// or a reduced table; any combination of runs, or a table alone.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct AnalyzeRequest {
    pub run_ids: Vec<i64>,
    pub runs: Vec<SweepRun>,
    pub table: Vec<StepsRow>,
    pub options: BatchOptions,
}

/// A fitted number with its standard error and confidence interval (level in the answer).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = BatchEstimate))]
pub struct Estimate {
    pub value: f64,
    pub stderr: Option<f64>,
    pub ci: Option<[f64; 2]>,
}

/// `(batch, steps)` of one run at one target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepsPoint {
    pub run: String,
    pub batch: f64,
    pub steps: f64,
}

/// Zhang et al.'s critical batch: where steps exceed linear scaling from `B0` by `overhead`,
/// `CBS = (1 + overhead) B0 + overhead E_min / S_min`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ZhangCbs {
    pub reference_batch: f64,
    pub overhead: f64,
    pub cbs: Estimate,
}

/// The McCandlish fit `S(B) = S_min + E_min / B` at one target loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TargetFit {
    pub target_loss: Option<f64>,
    pub points: Vec<StepsPoint>,
    pub s_min: Estimate,
    pub e_min: Estimate,
    /// McCandlish's `B_crit = E_min / S_min`.
    pub b_crit: Estimate,
    pub zhang_cbs: ZhangCbs,
    /// Root mean square of `ln S_obs - ln S_fit`.
    pub rms_log_error: f64,
}

/// A power law `y = k x^exponent` fitted in log space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PowerFit {
    pub form: String,
    pub k: Estimate,
    pub exponent: Estimate,
    pub n_points: usize,
}

/// All targets of one model, and its `B_crit(L) = B* / L^(1/alpha_B)` when >= 3 targets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelBatch {
    pub model: String,
    pub n_params: Option<f64>,
    pub targets: Vec<TargetFit>,
    pub b_crit_law: Option<BcritLaw>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BcritLaw {
    pub b_star: Estimate,
    pub alpha_b: Estimate,
    pub n_points: usize,
    /// Correlation of the errors of `ln B*` and `alpha_B` (for predictions' intervals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<f64>,
}

impl BcritLaw {
    /// `B_crit` at `loss` on the fitted line, with its interval there (at the confidence
    /// level of B*'s interval). The line is `ln B_crit = ln B* + s ln L` with slope
    /// `s = -1/alpha_B`, so `var = se(ln B*)^2 + (ln L se(s))^2 + 2 ln L rho se(ln B*) se(s)`,
    /// where `se(s) = se(alpha_B) / alpha_B^2` and `rho` is [`Self::correlation`] (an error
    /// of `alpha_B` has the sign of the slope's). The interval is `None` without standard
    /// errors.
    pub fn at(&self, loss: f64) -> (f64, Option<[f64; 2]>) {
        let (b_star, alpha) = (self.b_star.value, self.alpha_b.value);
        let ln_b = b_star.ln() - loss.ln() / alpha;
        let band = || -> Option<[f64; 2]> {
            let se_int = self.b_star.stderr? / b_star;
            let t = (self.b_star.ci?[1] / b_star).ln() / se_int;
            let se_slope = self.alpha_b.stderr? / (alpha * alpha);
            let rho = self.correlation.unwrap_or(0.0);
            let x = loss.ln();
            let var = se_int * se_int + (x * se_slope).powi(2) + 2.0 * x * rho * se_int * se_slope;
            let half = t * var.max(0.0).sqrt();
            (half.is_finite() && se_int > 0.0).then(|| [(ln_b - half).exp(), (ln_b + half).exp()])
        };
        (ln_b.exp(), band())
    }
}

/// The answer of `POST /api/batch/analyze` and `curvecast batch --json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnalyzeResponse {
    pub models: Vec<ModelBatch>,
    /// Zhang's CBS vs model size, `CBS = k (N / 1e6)^exponent`, when >= 3 models have N
    /// (first target of each model).
    pub cbs_vs_n: Option<PowerFit>,
    /// McCandlish's `B_crit` vs model size, same form.
    pub b_crit_vs_n: Option<PowerFit>,
    /// `B_crit(L)` over the targets of every model together (Su et al.: it depends on the
    /// loss only), when >= 3 targets.
    pub b_crit_law: Option<BcritLaw>,
    pub ci_level: f64,
    /// How the numbers were obtained (smoothing, targets, fits).
    pub method: Vec<String>,
    pub warnings: Vec<String>,
}

/// One run of a learning-rate x batch-size sweep: its cell (N and D, or C) and final loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HyperRow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_params: Option<f64>,
    /// Training tokens D.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<f64>,
    /// Compute C in FLOPs (default 6 N D).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<f64>,
    pub lr: f64,
    pub batch: f64,
    pub loss: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct HyperOptions {
    /// Tokens per batch unit (e.g. the sequence length), so that `B_opt` is in tokens.
    pub tokens_per_batch_unit: f64,
    /// The smooth fit uses the runs within this relative distance of a cell's best loss.
    pub window: f64,
    /// Bootstrap resamples over cells for the power laws' intervals.
    pub bootstrap: usize,
    pub seed: u64,
    pub ci_level: f64,
}

impl Default for HyperOptions {
    fn default() -> Self {
        Self {
            tokens_per_batch_unit: 1.0,
            window: 0.02,
            bootstrap: 200,
            seed: 1,
            ci_level: 0.95,
        }
    }
}

/// `POST /api/hyper/fit`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct HyperRequest {
    pub rows: Vec<HyperRow>,
    pub options: HyperOptions,
    /// Stored runs, one row each: LR = the `lr` attribute, else the largest logged LR (the
    /// schedule's peak); batch = `batch_size`; N = `n_params`; D = the `tokens` attribute,
    /// else the last logged tokens; loss = the mean of the last `final_points` logged losses.
    pub run_ids: Vec<i64>,
    /// How many of a stored run's last logged losses are averaged (default 1: the last one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_points: Option<usize>,
}

/// The best (LR, batch) of one cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HyperCell {
    pub n_params: Option<f64>,
    pub tokens: Option<f64>,
    pub compute: f64,
    pub n_runs: usize,
    /// The runs the smooth fit used.
    pub n_used: usize,
    /// The lowest observed loss and where.
    pub best_lr: f64,
    pub best_batch: f64,
    pub best_loss: f64,
    /// The minimum of the smooth fit (batch in tokens).
    pub lr_opt: f64,
    pub batch_opt_tokens: f64,
    pub loss_opt: f64,
    /// `quadratic` (the smooth fit's minimum) or `best run` (when the fit has no interior minimum).
    pub source: String,
}

/// `y = k N^a D^b` fitted in log space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PowerFitNd {
    pub form: String,
    pub k: Estimate,
    pub a: Estimate,
    pub b: Estimate,
    pub n_points: usize,
}

/// The answer of `POST /api/hyper/fit` and `curvecast hyper --json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HyperResponse {
    pub cells: Vec<HyperCell>,
    /// `eta_opt = k N^a D^b` (cells with N and D).
    pub lr_vs_nd: Option<PowerFitNd>,
    /// `B_opt = k D^b` (tokens).
    pub batch_vs_d: Option<PowerFit>,
    /// `eta_opt = k C^a`.
    pub lr_vs_c: Option<PowerFit>,
    /// `B_opt = k C^a` (tokens).
    pub batch_vs_c: Option<PowerFit>,
    pub ci_level: f64,
    pub method: Vec<String>,
    pub warnings: Vec<String>,
}

/// `POST /api/batch/su-fit`: curves of several model sizes at several batch sizes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct SuFitRequest {
    pub run_ids: Vec<i64>,
    pub runs: Vec<SweepRun>,
    /// How `B_crit(L)` is measured first (targets, smoothing).
    pub options: BatchOptions,
}

/// Su et al.'s fitted law: `L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S` on the
/// curves with steps converted by the fitted `B_crit(L) = B*/L^(1/alpha_B)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuFitResponse {
    pub law: crate::laws::batch::SuParams,
    pub n_c: Estimate,
    pub alpha_n: Estimate,
    pub s_c: Estimate,
    pub alpha_s: Estimate,
    pub b_crit_law: BcritLaw,
    pub n_points: usize,
    /// Mean `|L - L_fit| / L` over the fitted points.
    pub mean_rel_error: f64,
    pub method: Vec<String>,
    pub warnings: Vec<String>,
    /// Covariance of `[ln N_c, alpha_N, ln S_c, alpha_S, ln B*, alpha_B]` (the two fits'
    /// blocks, taken as independent); predictions' intervals come from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covariance: Option<Vec<Vec<f64>>>,
}

/// `POST /api/batch/predict`: what a model of `n_params` trained at `batch` will do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuPredictRequest {
    pub law: crate::laws::batch::SuParams,
    pub n_params: f64,
    /// In the unit of `law.b_star`.
    pub batch: f64,
    /// Loss curve from step 1 to this step.
    pub max_steps: f64,
    #[serde(default = "default_points")]
    pub n_points: usize,
    #[serde(default)]
    pub target_losses: Vec<f64>,
    /// Tokens per batch unit (1 when batches are in tokens).
    #[serde(default = "one")]
    pub tokens_per_batch_unit: f64,
    /// The law's covariance (`SuFitResponse::covariance`): when given, every prediction gets
    /// a delta-method interval at `ci_level` (default 0.95).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covariance: Option<Vec<Vec<f64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_level: Option<f64>,
}

fn default_points() -> usize {
    200
}

fn one() -> f64 {
    1.0
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CurvePoint {
    pub step: f64,
    pub tokens: f64,
    pub loss: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_ci: Option<[f64; 2]>,
}

/// Steps and tokens to reach one loss at the asked batch, and the compute-optimal batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TargetPrediction {
    pub loss: f64,
    /// `None` when the loss is below the lowest reachable one.
    pub steps: Option<f64>,
    pub tokens: Option<f64>,
    pub s_min: Option<f64>,
    pub e_min: Option<f64>,
    /// `B_crit(L)`: the batch that balances steps against examples (2 S_min steps,
    /// 2 E_min examples), McCandlish's compute-optimal trade-off.
    pub b_crit: f64,
    pub steps_at_b_crit: Option<f64>,
    pub tokens_at_b_crit: Option<f64>,
    /// Intervals (when the request gave the law's covariance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps_ci: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_ci: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b_crit_ci: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps_at_b_crit_ci: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_at_b_crit_ci: Option<[f64; 2]>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuPredictResponse {
    /// `(N_c/N)^alpha_N`: the loss with unlimited steps.
    pub lowest_loss: f64,
    pub curve: Vec<CurvePoint>,
    pub targets: Vec<TargetPrediction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lowest_loss_ci: Option<[f64; 2]>,
    /// The level of the intervals, when there are any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_level: Option<f64>,
}

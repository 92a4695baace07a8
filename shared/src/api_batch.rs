//! Wire types of the batch-size workflow (`/api/batch/*`, `/api/hyper/fit`): critical batch
//! size from batch sweeps (McCandlish, Zhang), the `B_crit(L)` law, Su et al.'s
//! `L(N, S_min)` predictions and hyper-parameter laws. Exposed as `shared::api::batch`.
//!
//! Batch sizes are in the user's unit (sequences or tokens, as given); `seq_len`, when
//! given, converts them to tokens for the token counts.

use serde::{Deserialize, Serialize};

/// One row of a reduced sweep: steps a model needed to reach a target loss at a batch size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
#[serde(default)]
pub struct AnalyzeRequest {
    pub run_ids: Vec<i64>,
    pub runs: Vec<SweepRun>,
    pub table: Vec<StepsRow>,
    pub options: BatchOptions,
}

/// A fitted number with its standard error and confidence interval (level in the answer).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub stderr: Option<f64>,
    pub ci: Option<[f64; 2]>,
}

/// `(batch, steps)` of one run at one target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepsPoint {
    pub run: String,
    pub batch: f64,
    pub steps: f64,
}

/// Zhang et al.'s critical batch: where steps exceed linear scaling from `B0` by `overhead`,
/// `CBS = (1 + overhead) B0 + overhead E_min / S_min`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZhangCbs {
    pub reference_batch: f64,
    pub overhead: f64,
    pub cbs: Estimate,
}

/// The McCandlish fit `S(B) = S_min + E_min / B` at one target loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
pub struct PowerFit {
    pub form: String,
    pub k: Estimate,
    pub exponent: Estimate,
    pub n_points: usize,
}

/// All targets of one model, and its `B_crit(L) = B* / L^(1/alpha_B)` when >= 3 targets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelBatch {
    pub model: String,
    pub n_params: Option<f64>,
    pub targets: Vec<TargetFit>,
    pub b_crit_law: Option<BcritLaw>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BcritLaw {
    pub b_star: Estimate,
    pub alpha_b: Estimate,
    pub n_points: usize,
}

/// The answer of `POST /api/batch/analyze` and `curvecast batch --json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

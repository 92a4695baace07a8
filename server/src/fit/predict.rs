//! Predictions from a saved fit: a schedule law's loss curve under any learning-rate
//! schedule, with a bootstrap band when the fit has one, and the warnings of a schedule
//! that leaves what the fit saw.

use serde::{Deserialize, Serialize};
use shared::api::{FitReport, ForecastWarning, PredictedPoint};
use shared::forecast::{self, CurveSettings};
use shared::laws::Law;

use super::FitError;
use super::laws::{Convention, LawName, LawSettings};

/// What `curvecast fit --out` saves and `curvecast predict --fit` reads.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedFit {
    pub law: LawName,
    pub settings: LawSettings,
    pub params: Vec<f64>,
    pub report: FitReport,
}

/// The law instance of a schedule law at `steps` of per-step learning rates `lrs`: the
/// same instance the fit used and the browser builds (`shared::forecast`).
pub fn schedule_law(
    law: LawName,
    settings: &LawSettings,
    lrs: &[f64],
    steps: &[usize],
) -> Result<Box<dyn Law>, FitError> {
    let settings = CurveSettings {
        code_convention: settings.convention == Convention::Code,
        lambda: settings.lambda,
    };
    forecast::schedule_law(law.as_str(), settings, lrs, steps)
        .map_err(|e| FitError::Input(e.to_string()))
}

/// The predicted curve at `steps` with a band at the fit's CI level.
pub fn predict_curve(
    fit: &SavedFit,
    lrs: &[f64],
    steps: &[usize],
) -> Result<Vec<PredictedPoint>, FitError> {
    let law = schedule_law(fit.law, &fit.settings, lrs, steps)?;
    let samples = fit
        .report
        .bootstrap
        .as_ref()
        .map_or(&[][..], |b| &b.samples[..]);
    let curve = forecast::predict(law.as_ref(), &fit.params, samples, fit.report.ci_level)
        .map_err(|e| FitError::Input(e.to_string()))?;
    let band = |side: &Option<Vec<f64>>, i: usize| {
        side.as_ref().map(|v| v[i]).filter(|v: &f64| v.is_finite())
    };
    Ok(steps
        .iter()
        .enumerate()
        .map(|(i, &step)| PredictedPoint {
            step,
            loss: curve.loss[i],
            lower: band(&curve.lower, i),
            upper: band(&curve.upper, i),
        })
        .collect())
}

/// Where a forecast of `steps` steps under `lrs` (the schedule's own per-step learning
/// rates) leaves what the fit saw (`shared::extrapolation`, the browser's rules too).
pub fn warnings(fit: &SavedFit, lrs: &[f64], steps: usize) -> Vec<ForecastWarning> {
    shared::extrapolation::check(fit.report.coverage.as_ref(), lrs, steps)
}

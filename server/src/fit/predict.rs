//! Predictions from a saved fit: a schedule law's loss curve under any learning-rate
//! schedule, with a bootstrap band when the fit has one.

use serde::{Deserialize, Serialize};
use shared::api::{FitReport, PredictedPoint};
use shared::laws::Law;
use shared::laws::momentum::{MomentumLaw, WarmupConvention};
use shared::laws::multipower::{MplConvention, MultiPowerLaw};

use super::FitError;
use super::laws::{Convention, LawName, LawSettings};
use super::uncertainty::quantile;

/// What `curvecast fit --out` saves and `curvecast predict --fit` reads.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedFit {
    pub law: LawName,
    pub settings: LawSettings,
    pub params: Vec<f64>,
    pub report: FitReport,
}

/// The law instance of a schedule law at `steps` of per-step learning rates `lrs`.
pub fn schedule_law(
    law: LawName,
    settings: &LawSettings,
    lrs: &[f64],
    steps: &[usize],
) -> Result<Box<dyn Law>, FitError> {
    let warmup = super::laws::warmup_len(lrs);
    let input = |e: shared::laws::LawError| FitError::Input(e.to_string());
    Ok(match (law, settings.convention) {
        (LawName::Momentum, Convention::Code) => Box::new(
            MomentumLaw::new(
                lrs,
                steps,
                settings.lambda,
                WarmupConvention::AtPeak { warmup },
            )
            .map_err(input)?,
        ),
        (LawName::Momentum, Convention::Paper) => Box::new(
            MomentumLaw::new(lrs, steps, settings.lambda, WarmupConvention::Literal)
                .map_err(input)?,
        ),
        (LawName::Multipower, Convention::Code) => {
            Box::new(MultiPowerLaw::new(lrs, steps, MplConvention::AuthorsCode).map_err(input)?)
        }
        (LawName::Multipower, Convention::Paper) => Box::new(
            MultiPowerLaw::new(lrs, steps, MplConvention::Paper { warmup }).map_err(input)?,
        ),
        (other, _) => {
            return Err(FitError::Input(format!(
                "{} does not predict loss curves from a schedule",
                other.as_str()
            )));
        }
    })
}

/// The predicted curve at `steps` with a band at the fit's CI level.
pub fn predict_curve(
    fit: &SavedFit,
    lrs: &[f64],
    steps: &[usize],
) -> Result<Vec<PredictedPoint>, FitError> {
    let law = schedule_law(fit.law, &fit.settings, lrs, steps)?;
    let central = law
        .predict(&fit.params)
        .map_err(|e| FitError::Input(e.to_string()))?;
    let samples: Vec<Vec<f64>> = fit
        .report
        .bootstrap
        .as_ref()
        .map(|b| {
            b.samples
                .iter()
                .filter_map(|p| law.predict(p).ok())
                .collect()
        })
        .unwrap_or_default();
    let tail = (1.0 - fit.report.ci_level) / 2.0;
    Ok(steps
        .iter()
        .enumerate()
        .map(|(i, &step)| {
            let mut column: Vec<f64> = samples
                .iter()
                .map(|s| s[i])
                .filter(|v| v.is_finite())
                .collect();
            PredictedPoint {
                step,
                loss: central[i],
                lower: quantile(&mut column, tail),
                upper: quantile(&mut column, 1.0 - tail),
            }
        })
        .collect())
}

//! A saved schedule-law fit evaluated under any schedule, for the browser's instant
//! forecasts: the same law instances the server's `fit/predict.rs` builds (index
//! convention, warmup read off the learning rates), then a band from bootstrap samples.

use crate::laws::Law;
use crate::laws::LawError;
use crate::laws::convex::ConvexLaw;
use crate::laws::fsl::{FslConvention, FslLaw};
use crate::laws::momentum::{MomentumLaw, WarmupConvention};
use crate::laws::multipower::{MplConvention, MultiPowerLaw};
use crate::laws::power_s1::PowerS1Law;

/// The laws that predict a loss curve from a learning-rate schedule, by their API names.
pub const SCHEDULE_LAWS: [&str; 5] = ["momentum", "multipower", "fsl", "convex", "power-s1"];

/// Law settings as a fit report's `settings` JSON holds them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CurveSettings {
    /// `true`: the authors' code convention (default); `false`: the papers' text.
    pub code_convention: bool,
    /// Momentum decay of S2 (momentum law).
    pub lambda: f64,
}

impl CurveSettings {
    /// Reads `{"convention": "code"|"paper", "lambda": 0.999}` (missing keys: defaults).
    pub fn from_json(settings: &serde_json::Value) -> Self {
        Self {
            code_convention: settings["convention"].as_str() != Some("paper"),
            lambda: settings["lambda"].as_f64().unwrap_or(0.999),
        }
    }
}

/// Steps before the first at the peak learning rate (the warmup), as the server reads it.
pub fn warmup_len(lrs: &[f64]) -> usize {
    let peak = lrs.iter().copied().fold(0.0, f64::max);
    lrs.iter()
        .position(|&v| v >= peak * (1.0 - 1e-9))
        .unwrap_or(0)
}

/// The law instance of `law` (one of [`SCHEDULE_LAWS`]) at `steps` of `lrs`. Conventions
/// (`code` / `paper`): momentum and `power-s1` count warmup steps at the peak LR / take the
/// ramp as given; multipower sums from step 1 / after warmup; fsl sums every LR change
/// from step 1 / only after warmup (no released code: "code" is the formula on the whole LR
/// array); convex takes the LRs as given under both (as the reference code does).
pub fn schedule_law(
    law: &str,
    settings: CurveSettings,
    lrs: &[f64],
    steps: &[usize],
) -> Result<Box<dyn Law>, LawError> {
    let warmup = warmup_len(lrs);
    Ok(match (law, settings.code_convention) {
        ("momentum", true) => Box::new(MomentumLaw::new(
            lrs,
            steps,
            settings.lambda,
            WarmupConvention::AtPeak { warmup },
        )?),
        ("momentum", false) => Box::new(MomentumLaw::new(
            lrs,
            steps,
            settings.lambda,
            WarmupConvention::Literal,
        )?),
        ("multipower", true) => {
            Box::new(MultiPowerLaw::new(lrs, steps, MplConvention::AuthorsCode)?)
        }
        ("multipower", false) => Box::new(MultiPowerLaw::new(
            lrs,
            steps,
            MplConvention::Paper { warmup },
        )?),
        ("fsl", true) => Box::new(FslLaw::new(lrs, steps, FslConvention::Literal)?),
        ("fsl", false) => Box::new(FslLaw::new(
            lrs,
            steps,
            FslConvention::AfterWarmup { warmup },
        )?),
        ("convex", _) => Box::new(ConvexLaw::new(lrs, steps)?),
        ("power-s1", true) => Box::new(PowerS1Law::new(
            lrs,
            steps,
            WarmupConvention::AtPeak { warmup },
        )?),
        ("power-s1", false) => Box::new(PowerS1Law::new(lrs, steps, WarmupConvention::Literal)?),
        (other, _) => {
            return Err(LawError::Input(format!(
                "{other} does not predict loss curves from a schedule"
            )));
        }
    })
}

/// A predicted curve: the central values and, with bootstrap samples, a band.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    pub loss: Vec<f64>,
    pub lower: Option<Vec<f64>>,
    pub upper: Option<Vec<f64>>,
}

/// The curve of `params` at `steps`, with the `level` band of the bootstrap `samples`.
pub fn predict(
    law: &dyn Law,
    params: &[f64],
    samples: &[Vec<f64>],
    level: f64,
) -> Result<Curve, LawError> {
    let loss = law.predict(params)?;
    if samples.is_empty() {
        return Ok(Curve {
            loss,
            lower: None,
            upper: None,
        });
    }
    let draws: Vec<Vec<f64>> = samples.iter().filter_map(|p| law.predict(p).ok()).collect();
    let tail = (1.0 - level) / 2.0;
    let column = |i: usize| draws.iter().map(|d| d[i]).collect::<Vec<f64>>();
    let q = |tail: f64| {
        (0..loss.len())
            .map(|i| crate::display::quantile(&column(i), tail).unwrap_or(f64::NAN))
            .collect()
    };
    Ok(Curve {
        lower: Some(q(tail)),
        upper: Some(q(1.0 - tail)),
        loss,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::Schedule;

    #[test]
    fn momentum_curve_falls_and_decay_helps_at_the_end() {
        let params = [2.5, 0.6, 0.5, 300.0]; // L0, A, alpha, C
        let settings = CurveSettings::from_json(&serde_json::json!({}));
        let steps: Vec<usize> = (100..24_000).step_by(100).collect();
        let curve = |spec: &str| {
            let lrs = spec.parse::<Schedule>().unwrap().to_array_len(24_000);
            let law = schedule_law("momentum", settings, &lrs, &steps).unwrap();
            law.predict(&params).unwrap()
        };
        let constant = curve("constant:peak=3e-4,warmup=2000,total=24000");
        let wsd = curve("wsd:peak=3e-4,warmup=2000,total=24000,decay=0.2,shape=linear");
        assert!(constant.windows(2).all(|w| w[1] <= w[0] + 1e-12));
        assert!(wsd.last().unwrap() < constant.last().unwrap());
        // Identical before the decay starts (step 19200).
        assert_eq!(wsd[..150], constant[..150]);
    }

    #[test]
    fn every_schedule_law_forecasts_under_both_conventions() {
        // Magnitudes of fits to the multi-power-law data's 25M runs.
        let params: [(&str, &[f64]); 5] = [
            ("momentum", &[3.25, 0.54, 0.83, 0.39]),
            ("multipower", &[3.04, 0.52, 0.51, 364.0, 2.07, 0.58, 0.64]),
            ("fsl", &[3.01, 0.54, 0.49, 1000.0, 785.0, 0.5, 0.25]),
            ("convex", &[1.0, 18.7, 1.5, -7.5e-5, 0.14, 0.0, 3.24, 0.43]),
            ("power-s1", &[3.27, 0.52, 0.98]),
        ];
        let steps: Vec<usize> = (2200..24_000).step_by(200).collect();
        let lrs = |spec: &str| spec.parse::<Schedule>().unwrap().to_array_len(24_000);
        let constant = lrs("constant:peak=3e-4,warmup=2160,total=24000");
        let wsd = lrs("wsd:peak=3e-4,warmup=2160,total=24000,decay=0.2,shape=sqrt");
        for (law, p) in params {
            assert!(SCHEDULE_LAWS.contains(&law));
            for convention in ["code", "paper"] {
                let settings =
                    CurveSettings::from_json(&serde_json::json!({"convention": convention}));
                let curve = |lrs: &[f64]| {
                    schedule_law(law, settings, lrs, &steps)
                        .unwrap()
                        .predict(p)
                        .unwrap()
                };
                let (c, w) = (curve(&constant), curve(&wsd));
                assert!(
                    c.iter()
                        .chain(&w)
                        .all(|v| v.is_finite() && *v > 2.0 && *v < 5.0),
                    "{law}"
                );
                // The cooldown helps every law but the area-only baseline, which it hurts.
                let (end_c, end_w) = (c[c.len() - 1], w[w.len() - 1]);
                if law == "power-s1" {
                    assert!(end_w > end_c, "{law} {convention}");
                } else {
                    assert!(end_w < end_c, "{law} {convention}: {end_w} vs {end_c}");
                }
            }
        }
    }

    #[test]
    fn band_brackets_the_samples_and_bad_laws_are_errors() {
        let lrs = vec![1e-3; 1000];
        let steps = vec![10, 500, 999];
        let law = schedule_law(
            "momentum",
            CurveSettings::from_json(&serde_json::json!({"convention": "paper"})),
            &lrs,
            &steps,
        )
        .unwrap();
        let p = vec![2.0, 1.0, 0.5, 10.0];
        let samples = vec![vec![1.9, 1.0, 0.5, 10.0], vec![2.1, 1.0, 0.5, 10.0]];
        let c = predict(law.as_ref(), &p, &samples, 0.95).unwrap();
        let (lo, hi) = (c.lower.unwrap(), c.upper.unwrap());
        for i in 0..3 {
            assert!(lo[i] < c.loss[i] && c.loss[i] < hi[i]);
            assert!((hi[i] - lo[i] - 0.2 * 0.95).abs() < 1e-9);
        }
        assert!(
            schedule_law(
                "chinchilla",
                CurveSettings::from_json(&serde_json::Value::Null),
                &lrs,
                &steps
            )
            .is_err()
        );
        assert!(
            schedule_law(
                "momentum",
                CurveSettings::from_json(&serde_json::Value::Null),
                &lrs,
                &[5000]
            )
            .is_err()
        );
    }
}

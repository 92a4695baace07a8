//! The regressions of the workflow, each by the fitting engine (least squares on log
//! values, so every batch size weighs alike): `S(B) = S_min + E_min/B` per target,
//! `B_crit(L) = B*/L^(1/alpha_B)` over targets, and power laws in model size.

use shared::api::batch::{BcritLaw, Estimate, PowerFit, StepsPoint, TargetFit, ZhangCbs};
use shared::laws::batch::{CriticalBatchLaw, McCandlishLaw};
use shared::laws::hyper::PowerLawCLaw;

use super::stats::{exp_of, linear, ratio, t_quantile};
use crate::fit::points::{PointsOptions, fit_points};
use crate::fit::{FitError, Fitted};

/// Ordinary least squares of `y` on `x`: `(intercept, slope)` (the fits' starts).
pub fn ols(x: &[f64], y: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (my - slope * mx, slope)
}

/// Standard error of parameter `j` and the correlation of the first two parameters.
fn stderr(f: &Fitted, j: usize) -> Option<f64> {
    f.report.params[j].stderr
}

fn correlation01(f: &Fitted) -> f64 {
    f.report
        .correlations
        .first()
        .and_then(|row| row.get(1))
        .copied()
        .unwrap_or(0.0)
}

/// Needs more points than parameters, so that a standard error exists.
fn enough(what: &str, n: usize, k: usize) -> Result<(), FitError> {
    if n <= k {
        return Err(FitError::Input(format!(
            "{what}: {n} points cannot give {k} parameters with an uncertainty; need at least {}",
            k + 1
        )));
    }
    Ok(())
}

/// McCandlish's fit at one target, with Zhang's critical batch from `reference_batch`
/// (default: the smallest batch).
pub fn fit_target(
    target_loss: Option<f64>,
    points: Vec<StepsPoint>,
    reference_batch: Option<f64>,
    overhead: f64,
    ci_level: f64,
) -> Result<TargetFit, FitError> {
    let at = target_loss.map_or(String::new(), |l| format!(" at target loss {l}"));
    let mut batches: Vec<f64> = points.iter().map(|p| p.batch).collect();
    batches.sort_by(f64::total_cmp);
    batches.dedup();
    enough(
        &format!("steps vs batch{at} (distinct batch sizes)"),
        batches.len(),
        2,
    )?;
    for p in &points {
        if !(p.steps.is_finite() && p.steps > 0.0) {
            return Err(FitError::Input(format!(
                "run '{}'{at}: steps {} is not a positive number",
                p.run, p.steps
            )));
        }
    }
    let b: Vec<f64> = points.iter().map(|p| p.batch).collect();
    let s: Vec<f64> = points.iter().map(|p| p.steps).collect();
    let max_s = s.iter().copied().fold(0.0, f64::max);
    // Batches in units of their geometric mean, so that the two columns of the
    // Jacobian are of one size (batches in tokens would make the curvature look singular).
    let scale = (b.iter().map(|v| v.ln()).sum::<f64>() / b.len() as f64).exp();
    let scaled: Vec<f64> = b.iter().map(|v| v / scale).collect();
    let inv: Vec<f64> = scaled.iter().map(|b| 1.0 / b).collect();
    let (a0, b0) = ols(&inv, &s);
    let s_start = if a0 > 0.0 {
        a0
    } else {
        s.iter().copied().fold(f64::INFINITY, f64::min) / 2.0
    };
    let e_start = b0.max(s_start * batches[0] / scale);
    let law = McCandlishLaw::new(&scaled).map_err(|e| FitError::Input(e.to_string()))?;
    let names = points.iter().map(|p| p.run.clone()).collect();
    let fitted = fit_points(
        Box::new(law),
        "S(B) = S_min + E_min / B",
        &s,
        names,
        vec![vec![s_start, e_start], vec![s_start * 0.5, e_start * 2.0]],
        &PointsOptions {
            bounds: [
                ("s_min".to_string(), [0.0, 100.0 * max_s]),
                (
                    "e_min".to_string(),
                    [0.0, 100.0 * max_s * batches[batches.len() - 1] / scale],
                ),
            ]
            .into(),
            ..PointsOptions::default()
        },
    )?;
    let t = t_quantile(ci_level, points.len() - 2);
    let s_min = linear(fitted.params[0], stderr(&fitted, 0), t);
    let e_min = linear(
        fitted.params[1] * scale,
        stderr(&fitted, 1).map(|se| se * scale),
        t,
    );
    let b_crit = ratio(&e_min, &s_min, correlation01(&fitted), t);
    let reference = reference_batch.unwrap_or(batches[0]);
    // S(B) = (1 + o) S(B0) B0 / B  <=>  B = (1 + o) B0 + o E_min / S_min.
    let shift = (1.0 + overhead) * reference;
    let cbs = Estimate {
        value: shift + overhead * b_crit.value,
        stderr: b_crit.stderr.map(|se| overhead * se),
        ci: b_crit
            .ci
            .map(|[lo, hi]| [shift + overhead * lo, shift + overhead * hi]),
    };
    let rms = (s
        .iter()
        .zip(&b)
        .map(|(s, b)| (s.ln() - (s_min.value + e_min.value / b).ln()).powi(2))
        .sum::<f64>()
        / s.len() as f64)
        .sqrt();
    Ok(TargetFit {
        target_loss,
        points,
        s_min,
        e_min,
        b_crit,
        zhang_cbs: ZhangCbs {
            reference_batch: reference,
            overhead,
            cbs,
        },
        rms_log_error: rms,
    })
}

/// `B_crit(L) = B* / L^(1/alpha_B)` over `(loss, B_crit)` pairs.
pub fn fit_bcrit_law(pairs: &[(f64, f64)], ci_level: f64) -> Result<BcritLaw, FitError> {
    enough("B_crit vs loss (targets)", pairs.len(), 2)?;
    let (loss, bc): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
    let ln_l: Vec<f64> = loss.iter().map(|l| l.ln()).collect();
    let ln_b: Vec<f64> = bc.iter().map(|b| b.ln()).collect();
    let (c, slope) = ols(&ln_l, &ln_b);
    let alpha0 = if slope < 0.0 {
        (-1.0 / slope).clamp(2e-3, 9.0)
    } else {
        0.21
    };
    let law = CriticalBatchLaw::new(&loss).map_err(|e| FitError::Input(e.to_string()))?;
    let names = loss.iter().map(|l| format!("L = {l}")).collect();
    let fitted = fit_points(
        Box::new(law),
        "B_crit(L) = B* / L^(1/alpha_B)",
        &bc,
        names,
        vec![vec![c, alpha0], vec![c, 0.21]],
        &PointsOptions::default(),
    )?;
    let t = t_quantile(ci_level, pairs.len() - 2);
    Ok(BcritLaw {
        b_star: exp_of(fitted.params[0], stderr(&fitted, 0), t),
        alpha_b: linear(fitted.params[1], stderr(&fitted, 1), t),
        n_points: pairs.len(),
    })
}

/// `y = k x^a` over `(x, y)` pairs; `form` names the variables for the answer.
pub fn fit_power(pairs: &[(f64, f64)], form: &str, ci_level: f64) -> Result<PowerFit, FitError> {
    enough(form, pairs.len(), 2)?;
    let (x, y): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
    let ln_x: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let ln_y: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let (c, a) = ols(&ln_x, &ln_y);
    let law = PowerLawCLaw::new(&x).map_err(|e| FitError::Input(e.to_string()))?;
    let names = x.iter().map(|v| format!("x = {v}")).collect();
    let fitted = fit_points(
        Box::new(law),
        form,
        &y,
        names,
        vec![vec![c, a.clamp(-2.9, 2.9)]],
        &PointsOptions::default(),
    )?;
    let t = t_quantile(ci_level, pairs.len() - 2);
    Ok(PowerFit {
        form: form.to_string(),
        k: exp_of(fitted.params[0], stderr(&fitted, 0), t),
        exponent: linear(fitted.params[1], stderr(&fitted, 1), t),
        n_points: pairs.len(),
    })
}

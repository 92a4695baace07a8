//! The regressions of the workflow (least squares on log values, so every batch size weighs
//! alike): `S(B) = S_min + E_min/B` per target and power laws in model size by the fitting
//! engine, `B_crit(L) = B*/L^(1/alpha_B)` over targets in closed form (a line in logs).

use shared::api::batch::{BcritLaw, Estimate, PowerFit, StepsPoint, TargetFit, ZhangCbs};
use shared::laws::batch::McCandlishLaw;
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

/// One target's `B_crit` for the `B_crit(L)` fit: the loss, the value and the standard
/// error of its logarithm (from its McCandlish fit; `None`: unknown).
#[derive(Clone, Copy, Debug)]
pub struct BcritPoint {
    pub loss: f64,
    pub b_crit: f64,
    pub log_stderr: Option<f64>,
}

impl BcritPoint {
    pub fn of(fit: &TargetFit) -> Option<Self> {
        let v = fit.b_crit.value;
        Some(Self {
            loss: fit.target_loss?,
            b_crit: v,
            log_stderr: fit.b_crit.stderr.map(|se| se / v),
        })
    }
}

/// `B_crit(L) = B* / L^(1/alpha_B)`, i.e. `ln B_crit = ln B* - k ln L` with `k = 1/alpha_B`,
/// by ordinary least squares on `ln B_crit` (closed form). The standard errors are the larger
/// of two: the sandwich with each target's own variance of `ln B_crit` (from the scatter of
/// its runs about `S(B)`), and the scatter of the targets about the line. The scatter alone
/// was too narrow (the targets' errors are not independent), and weighting by the targets'
/// estimated variances (6 dof each) too; over 10 synthetic seeds this choice held the truth in
/// 39 of 40 laws for alpha_B and 38 of 40 for B* (`tests/batch_synthetic.rs`: 3 models and
/// the pooled law). Intervals: t with n - 2 dof; alpha_B's is `1/k`
/// at the ends of k's interval (asymmetric).
pub fn fit_bcrit_law(points: &[BcritPoint], ci_level: f64) -> Result<BcritLaw, FitError> {
    enough("B_crit vs loss (targets)", points.len(), 2)?;
    if let Some(p) = points
        .iter()
        .find(|p| !(p.loss > 0.0 && p.b_crit > 0.0 && p.loss.is_finite() && p.b_crit.is_finite()))
    {
        return Err(FitError::Input(format!(
            "B_crit vs loss: target loss {} with B_crit {} (both must be positive)",
            p.loss, p.b_crit
        )));
    }
    let x: Vec<f64> = points.iter().map(|p| p.loss.ln()).collect();
    let y: Vec<f64> = points.iter().map(|p| p.b_crit.ln()).collect();
    let n = x.len() as f64;
    let xm = x.iter().sum::<f64>() / n;
    let ym = y.iter().sum::<f64>() / n;
    let sxx: f64 = x.iter().map(|x| (x - xm).powi(2)).sum();
    if !(sxx > 0.0) {
        return Err(FitError::Input(
            "B_crit vs loss: the targets must have at least 2 different losses".into(),
        ));
    }
    let sxy: f64 = x.iter().zip(&y).map(|(x, y)| (x - xm) * (y - ym)).sum();
    let slope = sxy / sxx;
    let intercept = ym - slope * xm;
    let dof = points.len() - 2;
    let s2 = x
        .iter()
        .zip(&y)
        .map(|(x, y)| (y - intercept - slope * x).powi(2))
        .sum::<f64>()
        / dof as f64;
    // Both estimates are linear in y: slope = sum c_i y_i, intercept = sum d_i y_i.
    let (mut var_slope, mut var_intercept) = (s2 / sxx, s2 * (1.0 / n + xm * xm / sxx));
    let mut cov = -s2 * xm / sxx;
    if points
        .iter()
        .all(|p| p.log_stderr.is_some_and(|se| se.is_finite()))
    {
        let (mut vs, mut vi, mut cv) = (0.0, 0.0, 0.0);
        for (x, p) in x.iter().zip(points) {
            let v = p.log_stderr.unwrap_or(0.0).powi(2);
            let c = (x - xm) / sxx;
            vs += c * c * v;
            vi += (1.0 / n - xm * c).powi(2) * v;
            cv += c * (1.0 / n - xm * c) * v;
        }
        if vs > var_slope {
            cov = cv;
        }
        var_slope = var_slope.max(vs);
        var_intercept = var_intercept.max(vi);
    }
    let (se_slope, se_intercept) = (var_slope.sqrt(), var_intercept.sqrt());
    let t = t_quantile(ci_level, dof);
    let k = -slope;
    if !(k > 0.0) {
        return Err(FitError::Input(format!(
            "B_crit vs loss: B_crit does not grow as the loss falls (slope {slope:.3} of ln B_crit on ln L); no alpha_B"
        )));
    }
    let (lo, hi) = (k - t * se_slope, k + t * se_slope);
    let alpha_b = Estimate {
        value: 1.0 / k,
        stderr: Some(se_slope / (k * k)),
        ci: Some(if lo > 0.0 {
            [1.0 / hi, 1.0 / lo]
        } else {
            // k's interval reaches 0: alpha_B is unbounded above; the delta method's
            // symmetric interval instead.
            [
                1.0 / k - t * se_slope / (k * k),
                1.0 / k + t * se_slope / (k * k),
            ]
        }),
    };
    // alpha_B = 1/k = -1/slope: its error is the slope's times 1/k^2, same sign.
    let correlation = (se_slope > 0.0 && se_intercept > 0.0)
        .then(|| (cov / (se_slope * se_intercept)).clamp(-1.0, 1.0));
    Ok(BcritLaw {
        b_star: exp_of(intercept, Some(se_intercept), t),
        alpha_b,
        n_points: points.len(),
        correlation,
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

//! Su et al.'s workflow: fit `L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S` on
//! curves of several model sizes, each step converted to `S_min = S / (1 + B_crit(L)/B)`
//! with the `B_crit(L)` fitted from the same sweep; then predict for a new `N` and `B` the
//! loss curve (the implicit equation, solved per step), steps and tokens to a loss, the
//! lowest reachable loss and the compute-optimal batch `B_crit(L)`, each with a delta-method
//! interval when the law's covariance is given.

use shared::api::batch::{
    BatchOptions, BcritLaw, CurvePoint, SuFitResponse, SuPredictRequest, SuPredictResponse,
    SweepRun, TargetPrediction,
};
use shared::laws::batch::{SuParams, critical_batch, s_min};

use super::stats::{exp_of, linear, t_quantile};
use super::steps;
use crate::fit::laws::{Exclusion, LawName, TableRow, prepare_table};
use crate::fit::{FitError, FitOptions, Fitted, fit};

/// Points used per run at most (evenly thinned), so that long logs do not dominate.
const MAX_POINTS_PER_RUN: usize = 100;

pub fn fit_su(runs: &[SweepRun], options: &BatchOptions) -> Result<SuFitResponse, FitError> {
    let analysis = super::analyze(runs, &[], options)?;
    let single = analysis.models.first().and_then(|m| m.b_crit_law.clone());
    let b_crit_law = analysis.b_crit_law.clone().or(single).ok_or_else(|| {
        FitError::Input(
            "B_crit(L) could not be fitted (it needs at least 3 target losses with a McCandlish fit)"
                .into(),
        )
    })?;
    let (b_star, alpha_b) = (b_crit_law.b_star.value, b_crit_law.alpha_b.value);
    let highest_target = analysis
        .models
        .iter()
        .flat_map(|m| m.targets.iter().filter_map(|t| t.target_loss))
        .fold(f64::NEG_INFINITY, f64::max);
    let mut models = std::collections::BTreeSet::new();
    for run in runs {
        let n = run.n_params.ok_or_else(|| {
            FitError::Input(format!("run '{}' has no model size (n_params)", run.name))
        })?;
        models.insert(n.to_bits());
    }
    if models.len() < 2 {
        return Err(FitError::Input(format!(
            "L(N, S_min) needs runs of at least 2 model sizes; got {}",
            models.len()
        )));
    }
    let fit_at = |b_star: f64, alpha_b: f64| -> Result<(Fitted, usize), FitError> {
        let rows = su_rows(runs, options, highest_target, b_star, alpha_b);
        let prepared = prepare_table(LawName::KaplanNs, &rows, &[], &Exclusion::default())?;
        Ok((fit(prepared, &FitOptions::default())?, rows.len()))
    };
    let (fitted, n_rows) = fit_at(b_star, alpha_b)?;
    // The S_min conversion uses the fitted B_crit(L): refit with ln B* and alpha_B each moved
    // by one standard error, so that their uncertainty reaches L(N, S_min)'s parameters.
    let mut sensitivity = Vec::new();
    let b_se = [
        b_crit_law.b_star.stderr.map(|se| se / b_star),
        b_crit_law.alpha_b.stderr,
    ];
    for (k, h) in b_se.iter().enumerate() {
        let Some(h) = h.filter(|h| *h > 0.0) else {
            break;
        };
        let (bs, ab) = if k == 0 {
            (b_star * h.exp(), alpha_b)
        } else {
            (b_star, alpha_b + h)
        };
        let (moved, _) = fit_at(bs, ab)?;
        sensitivity.push(
            (0..4)
                .map(|j| (moved.params[j] - fitted.params[j]) / h)
                .collect::<Vec<f64>>(),
        );
    }
    let covariance = covariance(&fitted, &b_crit_law)
        .and_then(|c| (sensitivity.len() == 2).then(|| propagate(c, &sensitivity)));
    let rows_len = n_rows;
    let p = &fitted.params;
    let t = t_quantile(options.ci_level, rows_len.saturating_sub(4).max(1));
    // Standard errors with B_crit(L)'s share when known, else the fit's own.
    let se = |j: usize| match &covariance {
        Some(c) => Some(c[j][j].sqrt()),
        None => fitted.report.params[j].stderr,
    };
    let law = SuParams {
        n_c: p[0].exp(),
        alpha_n: p[1],
        s_c: p[2].exp(),
        alpha_s: p[3],
        b_star,
        alpha_b,
    };
    let mean_rel_error = fitted
        .report
        .train
        .last()
        .map_or(f64::NAN, |m| m.mean_rel_error);
    Ok(SuFitResponse {
        law,
        n_c: exp_of(p[0], se(0), t),
        alpha_n: linear(p[1], se(1), t),
        s_c: exp_of(p[2], se(2), t),
        alpha_s: linear(p[3], se(3), t),
        b_crit_law,
        n_points: rows_len,
        mean_rel_error,
        covariance,
        method: vec![
            "B_crit(L) from the same sweep (see `curvecast batch`): pooled over model sizes".into(),
            format!(
                "points: each run's (smoothed) loss below the highest target, at most {MAX_POINTS_PER_RUN} per run; S_min = S / (1 + B_crit(L)/B)"
            ),
            "L(N, S_min) by the fit engine's default objective (Huber 1e-3 on ln L); intervals t x standard error".into(),
            "covariance of [ln N_c, alpha_N, ln S_c, alpha_S, ln B*, alpha_B]: the L(N, S_min) fit's own, plus B_crit(L)'s carried through refits with ln B* and alpha_B each moved by one standard error (J cov_B J^T); the intervals of N_c ... alpha_S above include it".into(),
        ],
        warnings: analysis.warnings,
    })
}

/// The points of the `L(N, S_min)` fit: each run's (smoothed) loss below the highest target,
/// at most [`MAX_POINTS_PER_RUN`] per run, steps converted with `B_crit(L)` of `(b_star, alpha_b)`.
fn su_rows(
    runs: &[SweepRun],
    options: &BatchOptions,
    highest_target: f64,
    b_star: f64,
    alpha_b: f64,
) -> Vec<TableRow> {
    let mut rows = Vec::new();
    for run in runs {
        let smoothed = steps::smooth(&run.loss, options.smoothing_window);
        // Only the range where B_crit(L) was measured (below the highest target).
        let kept: Vec<usize> = (0..run.loss.len())
            .filter(|&i| smoothed[i] <= highest_target)
            .collect();
        let stride = kept.len().div_ceil(MAX_POINTS_PER_RUN).max(1);
        for &i in kept.iter().step_by(stride) {
            let l = smoothed[i];
            rows.push(TableRow {
                run: run.name.clone(),
                n: run.n_params,
                d: None,
                x: Some(s_min(
                    run.steps[i],
                    run.batch,
                    critical_batch(l, b_star, alpha_b),
                )),
                loss: l,
            });
        }
    }
    rows
}

/// Adds B_crit(L)'s share to the `L(N, S_min)` block: with `J[k][j] = d p_j / d b_k`,
/// `cov_su += J^T cov_B J` and the cross block `cov_B J`.
fn propagate(mut c: Vec<Vec<f64>>, j: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let cb = [[c[4][4], c[4][5]], [c[5][4], c[5][5]]];
    for a in 0..4 {
        for b in 0..4 {
            let mut v = 0.0;
            for k in 0..2 {
                for l in 0..2 {
                    v += j[k][a] * cb[k][l] * j[l][b];
                }
            }
            c[a][b] += v;
        }
        for k in 0..2 {
            let v: f64 = (0..2).map(|l| cb[k][l] * j[l][a]).sum();
            c[4 + k][a] = v;
            c[a][4 + k] = v;
        }
    }
    c
}

/// Covariance of `[ln N_c, alpha_N, ln S_c, alpha_S, ln B*, alpha_B]` from the standard errors
/// and correlations of both fits; `None` when a standard error is missing.
fn covariance(fitted: &Fitted, b: &BcritLaw) -> Option<Vec<Vec<f64>>> {
    let r = &fitted.report;
    let mut se = Vec::new();
    for p in r.params.iter().take(4) {
        se.push(p.stderr?);
    }
    se.push(b.b_star.stderr? / b.b_star.value);
    se.push(b.alpha_b.stderr?);
    let corr = |i: usize, j: usize| -> Option<f64> {
        if i == j {
            return Some(1.0);
        }
        if (i.min(j), i.max(j)) == (4, 5) {
            return Some(b.correlation.unwrap_or(0.0));
        }
        if i >= 4 || j >= 4 {
            return Some(0.0);
        }
        let at = |k: usize| {
            r.correlation_names
                .iter()
                .position(|n| *n == r.params[k].name)
        };
        Some(
            r.correlations
                .get(at(i)?)?
                .get(at(j)?)
                .copied()
                .unwrap_or(0.0),
        )
    };
    let mut cov = vec![vec![0.0; 6]; 6];
    for i in 0..6 {
        for j in 0..6 {
            cov[i][j] = corr(i, j)? * se[i] * se[j];
        }
    }
    Some(cov)
}

/// The law of a parameter vector `[ln N_c, alpha_N, ln S_c, alpha_S, ln B*, alpha_B]`.
fn law_of(p: &[f64; 6]) -> SuParams {
    SuParams {
        n_c: p[0].exp(),
        alpha_n: p[1],
        s_c: p[2].exp(),
        alpha_s: p[3],
        b_star: p[4].exp(),
        alpha_b: p[5],
    }
}

/// Delta-method intervals of positive quantities of the law: `value exp(+- z se)` with `se`
/// the standard error of `ln value` from central differences over the parameters.
struct Delta<'a> {
    center: [f64; 6],
    cov: &'a [Vec<f64>],
    z: f64,
}

impl Delta<'_> {
    fn ci(&self, f: impl Fn(&SuParams) -> Option<f64>) -> Option<[f64; 2]> {
        let v = f(&law_of(&self.center))?;
        if !(v > 0.0) {
            return None;
        }
        let mut g = [0.0; 6];
        for (k, gk) in g.iter_mut().enumerate() {
            let h = 1e-5 * self.center[k].abs().max(1e-2);
            let (mut up, mut down) = (self.center, self.center);
            up[k] += h;
            down[k] -= h;
            *gk = (f(&law_of(&up))?.ln() - f(&law_of(&down))?.ln()) / (2.0 * h);
        }
        let var: f64 = (0..6)
            .flat_map(|i| (0..6).map(move |j| (i, j)))
            .map(|(i, j)| g[i] * self.cov[i][j] * g[j])
            .sum();
        let se = var.max(0.0).sqrt();
        Some([v * (-self.z * se).exp(), v * (self.z * se).exp()])
    }
}

/// Steps to reach `loss` at batch `b`: `S_min(L) (1 + B_crit(L)/B)` with
/// `S_min(L) = S_c / (L - X)^(1/alpha_S)`; `None` at or below `X`.
fn target(law: &SuParams, n: f64, b: f64, tokens_per: f64, loss: f64) -> TargetPrediction {
    let x = (law.n_c / n).powf(law.alpha_n);
    let bc = critical_batch(loss, law.b_star, law.alpha_b);
    let sm = (loss > x).then(|| law.s_c / (loss - x).powf(1.0 / law.alpha_s));
    let steps = sm.map(|s| s * (1.0 + bc / b));
    TargetPrediction {
        loss,
        steps,
        tokens: steps.map(|s| s * b * tokens_per),
        s_min: sm,
        e_min: sm.map(|s| s * bc),
        b_crit: bc,
        steps_at_b_crit: sm.map(|s| 2.0 * s),
        tokens_at_b_crit: sm.map(|s| 2.0 * s * bc * tokens_per),
        steps_ci: None,
        tokens_ci: None,
        b_crit_ci: None,
        steps_at_b_crit_ci: None,
        tokens_at_b_crit_ci: None,
    }
}

pub fn predict(r: &SuPredictRequest) -> Result<SuPredictResponse, FitError> {
    let law = &r.law;
    for (what, v) in [
        ("n_params", r.n_params),
        ("batch", r.batch),
        ("max_steps", r.max_steps),
        ("tokens_per_batch_unit", r.tokens_per_batch_unit),
        ("n_c", law.n_c),
        ("s_c", law.s_c),
        ("b_star", law.b_star),
        ("alpha_s", law.alpha_s),
        ("alpha_b", law.alpha_b),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return Err(FitError::Input(format!(
                "{what} {v} is not a positive number"
            )));
        }
    }
    if !(2..=10_000).contains(&r.n_points) {
        return Err(FitError::Input(format!(
            "n_points {} is not in 2..=10000",
            r.n_points
        )));
    }
    if let Some(l) = r
        .target_losses
        .iter()
        .find(|l| !(l.is_finite() && **l > 0.0))
    {
        return Err(FitError::Input(format!(
            "target loss {l} is not a positive number"
        )));
    }
    let level = r.ci_level.unwrap_or(0.95);
    if !(level > 0.0 && level < 1.0) {
        return Err(FitError::Input(format!(
            "ci_level {level} is not in (0, 1)"
        )));
    }
    let delta = match &r.covariance {
        Some(c)
            if c.len() != 6
                || c.iter()
                    .any(|row| row.len() != 6 || row.iter().any(|v| !v.is_finite())) =>
        {
            return Err(FitError::Input(
                "covariance must be 6 x 6 finite numbers ([ln N_c, alpha_N, ln S_c, alpha_S, ln B*, alpha_B])".into(),
            ));
        }
        Some(c) => Some(Delta {
            center: law.to_params(),
            cov: c,
            // A normal quantile: the fits have hundreds of points.
            z: t_quantile(level, 10_000),
        }),
        None => None,
    };
    let ci = |f: &dyn Fn(&SuParams) -> Option<f64>| delta.as_ref().and_then(|d| d.ci(f));
    let (nn, b, per) = (r.n_params, r.batch, r.tokens_per_batch_unit);
    let n = r.n_points;
    let curve = (0..n)
        .map(|i| {
            // Log-spaced steps from 1 to max_steps.
            let step = r.max_steps.powf(i as f64 / (n - 1) as f64);
            let loss = law
                .loss(r.n_params, step, r.batch)
                .map_err(|e| FitError::Input(e.to_string()))?;
            Ok(CurvePoint {
                step,
                tokens: step * r.batch * r.tokens_per_batch_unit,
                loss,
                loss_ci: ci(&|l| l.loss(nn, step, b).ok()),
            })
        })
        .collect::<Result<Vec<_>, FitError>>()?;
    let targets = r
        .target_losses
        .iter()
        .map(|&l| {
            let t = |law: &SuParams| target(law, nn, b, per, l);
            TargetPrediction {
                steps_ci: ci(&|law| t(law).steps),
                tokens_ci: ci(&|law| t(law).tokens),
                b_crit_ci: ci(&|law| Some(t(law).b_crit)),
                steps_at_b_crit_ci: ci(&|law| t(law).steps_at_b_crit),
                tokens_at_b_crit_ci: ci(&|law| t(law).tokens_at_b_crit),
                ..t(law)
            }
        })
        .collect();
    Ok(SuPredictResponse {
        lowest_loss: (law.n_c / r.n_params).powf(law.alpha_n),
        curve,
        targets,
        lowest_loss_ci: ci(&|law| Some((law.n_c / nn).powf(law.alpha_n))),
        ci_level: delta.as_ref().map(|_| level),
    })
}

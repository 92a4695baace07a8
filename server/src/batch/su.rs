//! Su et al.'s workflow: fit `L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S` on
//! curves of several model sizes, each step converted to `S_min = S / (1 + B_crit(L)/B)`
//! with the `B_crit(L)` fitted from the same sweep; then predict for a new `N` and `B` the
//! loss curve (the implicit equation, solved per step), steps and tokens to a loss, the
//! lowest reachable loss and the compute-optimal batch `B_crit(L)`.

use shared::api::batch::{
    BatchOptions, CurvePoint, SuFitResponse, SuPredictRequest, SuPredictResponse, SweepRun,
    TargetPrediction,
};
use shared::laws::batch::{SuParams, critical_batch, s_min};

use super::stats::{exp_of, linear, t_quantile};
use super::steps;
use crate::fit::laws::{Exclusion, LawName, TableRow, prepare_table};
use crate::fit::{FitError, FitOptions, fit};

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
    let mut models = std::collections::BTreeSet::new();
    let mut rows = Vec::new();
    let highest_target = analysis
        .models
        .iter()
        .flat_map(|m| m.targets.iter().filter_map(|t| t.target_loss))
        .fold(f64::NEG_INFINITY, f64::max);
    for run in runs {
        let n = run.n_params.ok_or_else(|| {
            FitError::Input(format!("run '{}' has no model size (n_params)", run.name))
        })?;
        models.insert(n.to_bits());
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
                n: Some(n),
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
    if models.len() < 2 {
        return Err(FitError::Input(format!(
            "L(N, S_min) needs runs of at least 2 model sizes; got {}",
            models.len()
        )));
    }
    let prepared = prepare_table(LawName::KaplanNs, &rows, &[], &Exclusion::default())?;
    let fitted = fit(prepared, &FitOptions::default())?;
    let p = &fitted.params;
    let t = t_quantile(options.ci_level, rows.len().saturating_sub(4).max(1));
    let se = |j: usize| fitted.report.params[j].stderr;
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
        n_points: rows.len(),
        mean_rel_error,
        method: vec![
            "B_crit(L) from the same sweep (see `curvecast batch`): pooled over model sizes".into(),
            format!(
                "points: each run's (smoothed) loss below the highest target, at most {MAX_POINTS_PER_RUN} per run; S_min = S / (1 + B_crit(L)/B)"
            ),
            "L(N, S_min) by the fit engine's default objective (Huber 1e-3 on ln L); intervals t x standard error".into(),
        ],
        warnings: analysis.warnings,
    })
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
            })
        })
        .collect::<Result<Vec<_>, FitError>>()?;
    Ok(SuPredictResponse {
        lowest_loss: (law.n_c / r.n_params).powf(law.alpha_n),
        curve,
        targets: r
            .target_losses
            .iter()
            .map(|&l| target(law, r.n_params, r.batch, r.tokens_per_batch_unit, l))
            .collect(),
    })
}

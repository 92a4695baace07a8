//! Hyper-parameter laws from sweeps over learning rate and batch size (Step Law, DeepSeek):
//! per cell (N, D) the best (LR, batch) from a smooth fit of loss over (ln LR, ln B), then
//! power laws `eta_opt = k N^a D^b`, `B_opt = k D^b` and both in compute `C`, with bootstrap
//! intervals over cells.
//!
//! The smooth fit: a quadratic surface in (ln LR, ln B) by linear least squares over the
//! runs within `window` (relative) of the cell's best loss (at least 8 runs); its minimum
//! when the surface is convex and the minimum lies inside the sampled ranges, else the best
//! run (said in `source`).

use std::collections::BTreeMap;

use nalgebra::{DMatrix, DVector};
use shared::api::batch::{HyperCell, HyperOptions, HyperResponse, HyperRow, PowerFit, PowerFitNd};
use shared::laws::hyper::{PowerLawCLaw, PowerLawNDLaw};

use super::stats::{exp_of, linear, t_quantile};
use crate::fit::points::{PointsOptions, fit_points};
use crate::fit::{FitError, Fitted};

/// Fewest runs of the smooth fit (6 coefficients).
const MIN_USED: usize = 8;

pub fn fit_hyper(rows: &[HyperRow], o: &HyperOptions) -> Result<HyperResponse, FitError> {
    check(rows, o)?;
    let mut cells: BTreeMap<(u64, u64, u64), Vec<&HyperRow>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let c = r
            .compute
            .or_else(|| Some(6.0 * r.n_params? * r.tokens?))
            .ok_or_else(|| {
                FitError::Input(format!(
                    "row {}: no compute and no N and D to derive it (C = 6 N D)",
                    i + 1
                ))
            })?;
        let key = (
            r.n_params.unwrap_or(0.0).to_bits(),
            r.tokens.unwrap_or(0.0).to_bits(),
            c.to_bits(),
        );
        cells.entry(key).or_default().push(r);
    }
    let mut warnings = Vec::new();
    let mut out = Vec::new();
    for ((n, d, c), runs) in cells {
        let opt = |bits: u64| Some(f64::from_bits(bits)).filter(|v| *v > 0.0);
        let cell = best_of_cell(opt(n), opt(d), f64::from_bits(c), &runs, o);
        if cell.source != "quadratic" {
            warnings.push(format!(
                "cell N = {:?}, D = {:?}: {}",
                cell.n_params, cell.tokens, cell.source
            ));
        }
        out.push(cell);
    }
    out.sort_by(|a, b| a.compute.total_cmp(&b.compute));
    let with_nd: Vec<&HyperCell> = out
        .iter()
        .filter(|c| c.n_params.is_some() && c.tokens.is_some())
        .collect();
    fn power<T>(warnings: &mut Vec<String>, what: &str, r: Result<T, FitError>) -> Option<T> {
        r.map_err(|e| warnings.push(format!("{what} not fitted: {e}")))
            .ok()
    }
    let lr_vs_nd = power(
        &mut warnings,
        "eta_opt(N, D)",
        fit_nd(
            &with_nd
                .iter()
                .map(|c| (c.n_params.unwrap_or(0.0), c.tokens.unwrap_or(0.0), c.lr_opt))
                .collect::<Vec<_>>(),
            "eta_opt = k N^a D^b",
            o,
        ),
    );
    let batch_vs_d = power(
        &mut warnings,
        "B_opt(D)",
        fit_c(
            &with_nd
                .iter()
                .map(|c| (c.tokens.unwrap_or(0.0), c.batch_opt_tokens))
                .collect::<Vec<_>>(),
            "B_opt = k D^a (tokens)",
            o,
        ),
    );
    let lr_vs_c = power(
        &mut warnings,
        "eta_opt(C)",
        fit_c(
            &out.iter()
                .map(|c| (c.compute, c.lr_opt))
                .collect::<Vec<_>>(),
            "eta_opt = k C^a",
            o,
        ),
    );
    let batch_vs_c = power(
        &mut warnings,
        "B_opt(C)",
        fit_c(
            &out.iter()
                .map(|c| (c.compute, c.batch_opt_tokens))
                .collect::<Vec<_>>(),
            "B_opt = k C^a (tokens)",
            o,
        ),
    );
    Ok(HyperResponse {
        cells: out,
        lr_vs_nd,
        batch_vs_d,
        lr_vs_c,
        batch_vs_c,
        ci_level: o.ci_level,
        method: vec![
            format!(
                "per cell: loss = quadratic in (ln LR, ln B) by linear least squares over the runs within {}% of the cell's best loss (at least {MIN_USED}); its minimum if convex and inside the sampled ranges, else the best run",
                o.window * 100.0
            ),
            format!(
                "power laws: least squares on ln y (fit engine); intervals: {} bootstrap resamples of the cells (percentile, seed {}), else t x standard error",
                o.bootstrap, o.seed
            ),
            format!("batch in tokens = batch x {}", o.tokens_per_batch_unit),
        ],
        warnings,
    })
}

fn check(rows: &[HyperRow], o: &HyperOptions) -> Result<(), FitError> {
    if rows.is_empty() {
        return Err(FitError::Input(
            "no rows: give (N, D or C, lr, batch, loss) per run".into(),
        ));
    }
    if !(o.ci_level > 0.0 && o.ci_level < 1.0) {
        return Err(FitError::Input(format!(
            "ci_level {} is not in (0, 1)",
            o.ci_level
        )));
    }
    if !(o.window > 0.0 && o.tokens_per_batch_unit > 0.0) {
        return Err(FitError::Input(
            "window and tokens_per_batch_unit must be positive".into(),
        ));
    }
    for (i, r) in rows.iter().enumerate() {
        for (what, v) in [
            ("lr", Some(r.lr)),
            ("batch", Some(r.batch)),
            ("loss", Some(r.loss)),
            ("n_params", r.n_params),
            ("tokens", r.tokens),
            ("compute", r.compute),
        ] {
            if let Some(v) = v.filter(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(FitError::Input(format!(
                    "row {}: {what} {v} is not a positive number",
                    i + 1
                )));
            }
        }
    }
    Ok(())
}

fn best_of_cell(
    n: Option<f64>,
    d: Option<f64>,
    c: f64,
    runs: &[&HyperRow],
    o: &HyperOptions,
) -> HyperCell {
    let best = runs
        .iter()
        .min_by(|a, b| a.loss.total_cmp(&b.loss))
        .expect("a cell has runs");
    let mut sorted: Vec<&&HyperRow> = runs.iter().collect();
    sorted.sort_by(|a, b| a.loss.total_cmp(&b.loss));
    let within = sorted
        .iter()
        .filter(|r| r.loss <= best.loss * (1.0 + o.window))
        .count();
    let used = &sorted[..within.max(MIN_USED).min(sorted.len())];
    let mut cell = HyperCell {
        n_params: n,
        tokens: d,
        compute: c,
        n_runs: runs.len(),
        n_used: used.len(),
        best_lr: best.lr,
        best_batch: best.batch,
        best_loss: best.loss,
        lr_opt: best.lr,
        batch_opt_tokens: best.batch * o.tokens_per_batch_unit,
        loss_opt: best.loss,
        source: "best run".into(),
    };
    match quadratic_minimum(used, runs) {
        Ok((lr, b, loss)) => {
            cell.lr_opt = lr;
            cell.batch_opt_tokens = b * o.tokens_per_batch_unit;
            cell.loss_opt = loss;
            cell.source = "quadratic".into();
        }
        Err(why) => cell.source = format!("best run ({why})"),
    }
    cell
}

/// The minimum `(lr, batch, loss)` of the quadratic surface through `used`, if it is
/// convex there and inside the ranges sampled by `all`.
fn quadratic_minimum(used: &[&&HyperRow], all: &[&HyperRow]) -> Result<(f64, f64, f64), String> {
    if used.len() < MIN_USED {
        return Err(format!("{} runs, fewer than {MIN_USED}", used.len()));
    }
    // Centred coordinates keep the normal equations well conditioned.
    let mx = used.iter().map(|r| r.lr.ln()).sum::<f64>() / used.len() as f64;
    let my = used.iter().map(|r| r.batch.ln()).sum::<f64>() / used.len() as f64;
    let a = DMatrix::from_fn(used.len(), 6, |i, j| {
        let (x, y) = (used[i].lr.ln() - mx, used[i].batch.ln() - my);
        [1.0, x, y, x * x, y * y, x * y][j]
    });
    let b = DVector::from_iterator(used.len(), used.iter().map(|r| r.loss));
    let coef = a
        .svd(true, true)
        .solve(&b, 1e-12)
        .map_err(|e| format!("the quadratic fit failed: {e}"))?;
    let (h11, h22, h12) = (2.0 * coef[3], 2.0 * coef[4], coef[5]);
    let det = h11 * h22 - h12 * h12;
    if !(h11 > 0.0 && det > 0.0) {
        return Err("the smooth fit is not convex".into());
    }
    // H [x, y] = -[c1, c2].
    let x = (-coef[1] * h22 + coef[2] * h12) / det;
    let y = (-coef[2] * h11 + coef[1] * h12) / det;
    let range = |f: fn(&HyperRow) -> f64| {
        all.iter()
            .map(|r| f(r).ln())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            })
    };
    let (lx, ly) = (range(|r| r.lr), range(|r| r.batch));
    let (lr, batch) = (x + mx, y + my);
    if !(lx.0 <= lr && lr <= lx.1 && ly.0 <= batch && batch <= ly.1) {
        return Err("the smooth fit's minimum lies outside the sampled LR or batch range".into());
    }
    let loss =
        coef[0] + coef[1] * x + coef[2] * y + coef[3] * x * x + coef[4] * y * y + coef[5] * x * y;
    Ok((lr.exp(), batch.exp(), loss))
}

fn boot(o: &HyperOptions) -> PointsOptions {
    PointsOptions {
        resamples: o.bootstrap,
        seed: o.seed,
        ci_level: o.ci_level,
        ..PointsOptions::default()
    }
}

/// Value, bootstrap interval (else t x se) of parameter `j`; `log`: the parameter is ln k.
fn estimate(f: &Fitted, j: usize, log: bool, t: f64) -> shared::api::batch::Estimate {
    let p = &f.report.params[j];
    let mut e = if log {
        exp_of(p.value, p.stderr, t)
    } else {
        linear(p.value, p.stderr, t)
    };
    if let Some([lo, hi]) = p.ci {
        e.ci = Some(if log { [lo.exp(), hi.exp()] } else { [lo, hi] });
    }
    e
}

fn fit_c(pairs: &[(f64, f64)], form: &str, o: &HyperOptions) -> Result<PowerFit, FitError> {
    if pairs.len() < 3 {
        return Err(FitError::Input(format!(
            "{} cells; need at least 3",
            pairs.len()
        )));
    }
    let (x, y): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
    let (c, a) = super::mccandlish::ols(
        &x.iter().map(|v| v.ln()).collect::<Vec<_>>(),
        &y.iter().map(|v| v.ln()).collect::<Vec<_>>(),
    );
    let law = PowerLawCLaw::new(&x).map_err(|e| FitError::Input(e.to_string()))?;
    let names = x.iter().map(|v| format!("cell {v}")).collect();
    let f = fit_points(
        Box::new(law),
        form,
        &y,
        names,
        vec![vec![c, a.clamp(-2.9, 2.9)]],
        &boot(o),
    )?;
    let t = t_quantile(o.ci_level, pairs.len() - 2);
    Ok(PowerFit {
        form: form.into(),
        k: estimate(&f, 0, true, t),
        exponent: estimate(&f, 1, false, t),
        n_points: pairs.len(),
    })
}

fn fit_nd(
    triples: &[(f64, f64, f64)],
    form: &str,
    o: &HyperOptions,
) -> Result<PowerFitNd, FitError> {
    if triples.len() < 4 {
        return Err(FitError::Input(format!(
            "{} cells with N and D; need at least 4",
            triples.len()
        )));
    }
    let n: Vec<f64> = triples.iter().map(|t| t.0).collect();
    let d: Vec<f64> = triples.iter().map(|t| t.1).collect();
    let y: Vec<f64> = triples.iter().map(|t| t.2).collect();
    // Start: ordinary least squares of ln y on (1, ln N, ln D).
    let a = DMatrix::from_fn(triples.len(), 3, |i, j| [1.0, n[i].ln(), d[i].ln()][j]);
    let b = DVector::from_iterator(y.len(), y.iter().map(|v| v.ln()));
    let start = a
        .svd(true, true)
        .solve(&b, 1e-12)
        .map(|s| {
            vec![
                s[0].clamp(-49.0, 49.0),
                s[1].clamp(-2.9, 2.9),
                s[2].clamp(-2.9, 2.9),
            ]
        })
        .unwrap_or_else(|_| vec![0.0, 0.0, 0.0]);
    let law = PowerLawNDLaw::new(&n, &d).map_err(|e| FitError::Input(e.to_string()))?;
    let names = triples
        .iter()
        .map(|t| format!("N {} D {}", t.0, t.1))
        .collect();
    let f = fit_points(Box::new(law), form, &y, names, vec![start], &boot(o))?;
    let t = t_quantile(o.ci_level, triples.len() - 3);
    Ok(PowerFitNd {
        form: form.into(),
        k: estimate(&f, 0, true, t),
        a: estimate(&f, 1, false, t),
        b: estimate(&f, 2, false, t),
        n_points: triples.len(),
    })
}

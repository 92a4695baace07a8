//! The batch-size workflow (Su et al. 2024, McCandlish et al. 2018, Zhang et al. 2025):
//! from a sweep over batch sizes (loss curves, or a reduced table of steps to a target)
//! to `S_min`, `E_min`, `B_crit` per target loss with intervals, Zhang's critical batch,
//! `B_crit(L)`, and critical batch vs model size.
//!
//! - [`steps`]: curves -> steps to each target (smoothing, targets, crossings);
//! - [`mccandlish`]: the regressions (through `fit/`, the only optimiser);
//! - [`stats`]: t quantiles and the delta method behind the intervals;
//! - [`table`]: a reduced CSV table -> rows; [`input`]: runs -> sweep runs; [`report`]: text and CSV;
//!   [`synthetic`]: a sweep with known answers; [`su`]: Su et al.'s `L(N, S_min)` fit and
//!   predictions; [`hyper`]: optimal LR and batch laws from sweeps.

pub mod hyper;
pub mod input;
pub mod mccandlish;
pub mod report;
pub mod stats;
pub mod steps;
pub mod su;
pub mod synthetic;
pub mod table;

use std::collections::BTreeMap;

use shared::api::batch::{
    AnalyzeResponse, BatchOptions, ModelBatch, StepsPoint, StepsRow, SweepRun, TargetFit,
};

use crate::fit::FitError;

/// A model's points: per target (`None`: the table gave no loss), the steps per run.
type Targets = Vec<(Option<f64>, Vec<StepsPoint>)>;

/// The name runs of one model share: `model`, else its size (`N = 20M`), else `model`.
pub fn model_key(model: &Option<String>, n_params: Option<f64>) -> String {
    match (model, n_params) {
        (Some(m), _) => m.clone(),
        (None, Some(n)) => format!("N = {}", size_name(n)),
        (None, None) => "model".into(),
    }
}

/// A parameter count as people write it: 20M, 1.2B, 350K (3 significant digits at most).
pub fn size_name(n: f64) -> String {
    let (value, unit) = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")]
        .into_iter()
        .find(|(scale, _)| n.abs() >= *scale)
        .map_or((n, ""), |(scale, unit)| (n / scale, unit));
    let digits = 2usize.saturating_sub(value.abs().log10().floor().max(0.0) as usize);
    let text = format!("{value:.digits$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    format!("{text}{unit}")
}

/// Runs the whole analysis on curves and/or a reduced table.
pub fn analyze(
    runs: &[SweepRun],
    table: &[StepsRow],
    options: &BatchOptions,
) -> Result<AnalyzeResponse, FitError> {
    check_options(options)?;
    if runs.is_empty() && table.is_empty() {
        return Err(FitError::Input(
            "no data: give runs with batch sizes or a table of (model, batch, steps)".into(),
        ));
    }
    let mut method = vec![
        "per target: S(B) = S_min + E_min / B by least squares on ln S (fit engine); intervals: t quantile x standard error from the Gauss-Newton covariance; B_crit = E_min / S_min with a delta-method interval on ln B_crit".to_string(),
        format!(
            "Zhang's critical batch: CBS = (1 + o) B0 + o E_min / S_min with o = {} and B0 = {}",
            options.overhead,
            options
                .reference_batch
                .map_or("the smallest batch of each model's sweep".to_string(), |b| b.to_string())
        ),
    ];
    let mut warnings = Vec::new();
    let mut models: BTreeMap<String, (Option<f64>, Targets)> = BTreeMap::new();
    if !runs.is_empty() {
        method.push(curve_method(options));
        from_curves(runs, options, &mut models, &mut warnings)?;
    }
    from_table(table, &mut models)?;

    let mut out = Vec::new();
    let mut pooled = Vec::new();
    for (model, (n_params, targets)) in models {
        let mut fits: Vec<TargetFit> = Vec::new();
        let mut last_error = None;
        for (loss, points) in targets {
            match mccandlish::fit_target(
                loss,
                points,
                options.reference_batch,
                options.overhead,
                options.ci_level,
            ) {
                Ok(f) => fits.push(f),
                Err(e) => {
                    warnings.push(format!("model '{model}': target skipped: {e}"));
                    last_error = Some(e);
                }
            }
        }
        if fits.is_empty() {
            let why = last_error.map_or(String::new(), |e| format!(" ({e})"));
            return Err(FitError::Input(format!(
                "model '{model}': no target could be fitted{why}"
            )));
        }
        let pairs: Vec<mccandlish::BcritPoint> =
            fits.iter().filter_map(mccandlish::BcritPoint::of).collect();
        pooled.extend(pairs.iter().copied());
        let b_crit_law = if pairs.len() >= 3 {
            match mccandlish::fit_bcrit_law(&pairs, options.ci_level) {
                Ok(l) => Some(l),
                Err(e) => {
                    warnings.push(format!("model '{model}': B_crit(L) not fitted: {e}"));
                    None
                }
            }
        } else {
            None
        };
        out.push(ModelBatch {
            model,
            n_params,
            targets: fits,
            b_crit_law,
        });
    }
    // Model size order (then name), so that tables read from small to large.
    out.sort_by(|a, b| {
        a.n_params
            .unwrap_or(f64::INFINITY)
            .total_cmp(&b.n_params.unwrap_or(f64::INFINITY))
            .then(a.model.cmp(&b.model))
    });
    let b_crit_law = (pooled.len() >= 3 && out.len() > 1)
        .then(|| mccandlish::fit_bcrit_law(&pooled, options.ci_level))
        .transpose()
        .unwrap_or_else(|e| {
            warnings.push(format!("pooled B_crit(L) not fitted: {e}"));
            None
        });
    let (cbs_vs_n, b_crit_vs_n) = vs_model_size(&out, options.ci_level, &mut warnings);
    if out.iter().any(|m| m.b_crit_law.is_some()) {
        method.push("B_crit(L): least squares of ln B_crit on ln L over the targets (per model, and pooled over models); standard errors: the larger of the sandwich with each target's own ln B_crit variance and the targets' scatter about the line; t intervals, alpha_B's from the ends of 1/alpha_B's".into());
    }
    if cbs_vs_n.is_some() {
        method.push("vs model size: each model's lowest target (or its only one); CBS = k (N/1e6)^a by least squares on ln CBS".into());
    }
    Ok(AnalyzeResponse {
        models: out,
        cbs_vs_n,
        b_crit_vs_n,
        b_crit_law,
        ci_level: options.ci_level,
        method,
        warnings,
    })
}

fn check_options(o: &BatchOptions) -> Result<(), FitError> {
    if !(o.ci_level > 0.0 && o.ci_level < 1.0) {
        return Err(FitError::Input(format!(
            "ci_level {} is not in (0, 1)",
            o.ci_level
        )));
    }
    if !(o.overhead > 0.0 && o.overhead.is_finite()) {
        return Err(FitError::Input(format!(
            "overhead {} is not a positive number",
            o.overhead
        )));
    }
    if let Some(b) = o.reference_batch.filter(|b| !(b.is_finite() && *b > 0.0)) {
        return Err(FitError::Input(format!(
            "reference_batch {b} is not a positive number"
        )));
    }
    if let Some(l) = o.targets.iter().find(|l| !(l.is_finite() && **l > 0.0)) {
        return Err(FitError::Input(format!(
            "target loss {l} is not a positive number"
        )));
    }
    if o.targets.is_empty() && !(1..=100).contains(&o.n_targets) {
        return Err(FitError::Input(format!(
            "n_targets {} is not in 1..=100",
            o.n_targets
        )));
    }
    Ok(())
}

fn curve_method(o: &BatchOptions) -> String {
    let smoothing = if o.smoothing_window > 1 {
        format!(
            "a centered moving average over {} logged points",
            o.smoothing_window
        )
    } else {
        "none".into()
    };
    let targets = if o.targets.is_empty() {
        format!(
            "{} targets evenly spaced in ln L from {}% to {}% of the way from the highest run minimum to the lowest loss at logged point {} of the runs, per model",
            o.n_targets,
            steps::TARGET_RANGE[0] * 100.0,
            steps::TARGET_RANGE[1] * 100.0,
            steps::EARLY_POINT
        )
    } else {
        format!("given targets {:?}", o.targets)
    };
    format!(
        "curves: smoothing {smoothing}; {targets}; steps to target = where a quadratic of ln loss in ln step, fitted by least squares to the logged points within +-{}% in ln step of the rough crossing (at least {} points), reaches the target (refitted once around its answer); the rough crossing = midpoint of the first and the last crossing down, each interpolated in (ln step, ln loss)",
        steps::LOCAL_HALF_WIDTH * 100.0,
        steps::LOCAL_MIN_POINTS
    )
}

/// Curves grouped by model -> steps per target.
fn from_curves(
    runs: &[SweepRun],
    options: &BatchOptions,
    models: &mut BTreeMap<String, (Option<f64>, Targets)>,
    warnings: &mut Vec<String>,
) -> Result<(), FitError> {
    let mut by_model: BTreeMap<String, Vec<&SweepRun>> = BTreeMap::new();
    for run in runs {
        steps::check_run(run)?;
        by_model
            .entry(model_key(&run.model, run.n_params))
            .or_default()
            .push(run);
    }
    for (model, runs) in by_model {
        let smoothed: Vec<Vec<f64>> = runs
            .iter()
            .map(|r| steps::smooth(&r.loss, options.smoothing_window))
            .collect();
        let targets = if options.targets.is_empty() {
            let views: Vec<&[f64]> = smoothed.iter().map(|v| v.as_slice()).collect();
            steps::auto_targets(&views, options.n_targets)
                .map_err(|e| FitError::Input(format!("model '{model}': {e}")))?
        } else {
            options.targets.clone()
        };
        let mut per_target = Targets::new();
        for &target in &targets {
            let mut points = Vec::new();
            for (run, loss) in runs.iter().zip(&smoothed) {
                match steps::crossing(&run.steps, loss, target) {
                    Some(s) => points.push(StepsPoint {
                        run: run.name.clone(),
                        batch: run.batch,
                        steps: s,
                    }),
                    None => warnings.push(format!(
                        "model '{model}', target {target}: run '{}' (batch {}) does not cross it; left out",
                        run.name, run.batch
                    )),
                }
            }
            per_target.push((Some(target), points));
        }
        let n = runs.iter().find_map(|r| r.n_params);
        models.insert(model, (n, per_target));
    }
    Ok(())
}

/// Table rows grouped by model and target.
fn from_table(
    rows: &[StepsRow],
    models: &mut BTreeMap<String, (Option<f64>, Targets)>,
) -> Result<(), FitError> {
    for (i, row) in rows.iter().enumerate() {
        for (what, v) in [("batch", row.batch), ("steps", row.steps)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(FitError::Input(format!(
                    "table row {} (model '{}'): {what} {v} is not a positive number",
                    i + 1,
                    row.model
                )));
            }
        }
        let entry = models
            .entry(row.model.clone())
            .or_insert((row.n_params, Vec::new()));
        if entry.0.is_none() {
            entry.0 = row.n_params;
        }
        let key = row.target_loss;
        let slot = match entry.1.iter().position(|t| t.0 == key) {
            Some(k) => k,
            None => {
                entry.1.push((key, Vec::new()));
                entry.1.len() - 1
            }
        };
        entry.1[slot].1.push(StepsPoint {
            run: format!("{} @ batch {}", row.model, row.batch),
            batch: row.batch,
            steps: row.steps,
        });
    }
    Ok(())
}

/// Zhang's CBS and McCandlish's B_crit vs N, from each model's lowest target.
fn vs_model_size(
    models: &[ModelBatch],
    ci_level: f64,
    warnings: &mut Vec<String>,
) -> (
    Option<shared::api::batch::PowerFit>,
    Option<shared::api::batch::PowerFit>,
) {
    let picks: Vec<(f64, &TargetFit)> = models
        .iter()
        .filter_map(|m| {
            let t = m.targets.iter().min_by(|a, b| {
                a.target_loss
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b.target_loss.unwrap_or(f64::INFINITY))
            })?;
            Some((m.n_params? / 1e6, t))
        })
        .collect();
    if picks.len() < 3 {
        return (None, None);
    }
    let mut fit = |form: &str, y: fn(&TargetFit) -> f64| {
        let pairs: Vec<(f64, f64)> = picks.iter().map(|(n, t)| (*n, y(t))).collect();
        mccandlish::fit_power(&pairs, form, ci_level)
            .map_err(|e| warnings.push(format!("{form}: not fitted: {e}")))
            .ok()
    };
    (
        fit("CBS = k (N/1e6)^a", |t| t.zhang_cbs.cbs.value),
        fit("B_crit = k (N/1e6)^a", |t| t.b_crit.value),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        for (n, name) in [
            (2e7, "20M"),
            (1.2e9, "1.2B"),
            (151e6, "151M"),
            (6.5e10, "65B"),
            (1234567.0, "1.23M"),
            (350e3, "350K"),
            (42.0, "42"),
        ] {
            assert_eq!(size_name(n), name);
        }
    }
}

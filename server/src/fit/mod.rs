//! Fitting laws to runs: multi-start L-BFGS (argmin) + Gauss-Newton polish, standard
//! errors, a whole-run bootstrap, per-run metrics on fitted and held-out runs, and a
//! report that records everything needed to reproduce the fit.
//!
//! Architecture invariant: the only module that knows argmin. It does no IO.

pub mod aggregate;
pub mod compare;
pub mod control;
pub mod crossval;
pub mod curve_starts;
pub mod laws;
mod metrics;
pub mod natural;
pub mod objective;
pub mod optimize;
pub mod plan;
pub mod points;
pub mod predict;
pub mod prior;
pub mod problem;
pub mod report;
pub mod staged;
pub mod transform;
pub(crate) mod uncertainty;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shared::api::{BootstrapSummary, FitReport, ParamEstimate, RunMetrics};
use shared::display::quantile;
use shared::laws::ParamSpec;

use objective::Objective;
use optimize::Settings;
use problem::Problem;
use transform::{Bound, Transform};

/// A law made ready for fitting: its data split into fitted and held-out groups.
pub struct Prepared {
    pub law: String,
    pub form: String,
    pub settings: serde_json::Value,
    pub specs: &'static [ParamSpec],
    /// The fitted data; its groups are the fitted runs.
    pub train: Problem,
    /// The held-out data, evaluated with the fitted parameters.
    pub holdout: Problem,
    pub starts: Vec<Vec<f64>>,
    pub start_grid: String,
    pub excluded: Vec<String>,
    /// Dense runs averaged into bins before fitting (see [`aggregate`]).
    pub aggregation: Vec<String>,
    pub warnings: Vec<String>,
    /// Parameters the predictions depend on affinely (solved, not searched, per start).
    pub linear: Vec<usize>,
    /// The law's two-stage fit with a prior, when it has one (the multi-power law).
    pub staged: Option<staged::Staged>,
    /// Default bounds that depend on the data (the convex bound's `C` <= lowest loss); the
    /// user's bounds take precedence, then these, then the law's.
    pub bounds: BTreeMap<String, [f64; 2]>,
    /// Parameters held by default: a gauge the data cannot determine (the convex bound's
    /// `D`, see `shared::laws::convex`); the user's fixed values take precedence.
    pub fixed: BTreeMap<String, f64>,
    /// Plain multi-start fits: solve the `linear` parameters by least squares at each start,
    /// then run damped Gauss-Newton (not L-BFGS) from it, as stage one of a staged fit does,
    /// screened (a few iterations from every start, the best continued: see
    /// `optimize::screened_gauss_newton`); for the laws whose evaluation is costly.
    pub solve_linear_starts: bool,
    /// Schedule laws: the fitted runs' peak LRs, lengths and schedule families.
    pub coverage: Option<shared::api::Coverage>,
}

/// The user's choices for a fit (everything but the data and the law).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct FitOptions {
    pub objective: Objective,
    /// Parameters held at a value.
    pub fixed: BTreeMap<String, f64>,
    /// Bounds replacing the law's defaults.
    pub bounds: BTreeMap<String, [f64; 2]>,
    /// Bootstrap resamples (0: none).
    pub bootstrap: usize,
    pub seed: u64,
    pub ci_level: f64,
    pub threads: usize,
    pub max_iters: u64,
    /// Relative strength of the law's prior (staged fits only): `None` for the law's
    /// default, 0 for none (the plain maximum-likelihood fit of the full law).
    pub prior_strength: Option<f64>,
    /// Choose that strength by forecast validation on the fitted runs ([`crossval`]).
    pub cross_validate: bool,
    /// Weights of the points of named fitted runs (default 1): e.g. less for a noisy run.
    pub run_weights: BTreeMap<String, f64>,
    /// Cancels the fit and reports its progress (not a setting: never serialised).
    #[serde(skip)]
    pub control: std::sync::Arc<control::Control>,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            objective: Objective::default(),
            fixed: BTreeMap::new(),
            bounds: BTreeMap::new(),
            bootstrap: 0,
            seed: 1,
            ci_level: 0.95,
            threads: 2,
            max_iters: 1000,
            prior_strength: None,
            cross_validate: false,
            run_weights: BTreeMap::new(),
            control: Default::default(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FitError {
    #[error("{0}")]
    Input(String),
    #[error("the fit failed: {0}")]
    Failed(String),
    #[error("the fit was cancelled")]
    Cancelled,
}

/// The outcome: the report and the best parameter vector.
pub struct Fitted {
    pub report: FitReport,
    pub params: Vec<f64>,
}

pub fn fit(prepared: Prepared, options: &FitOptions) -> Result<Fitted, FitError> {
    let specs = prepared.specs;
    let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
    for name in options.fixed.keys().chain(options.bounds.keys()) {
        if !names.contains(&name.as_str()) {
            return Err(FitError::Input(format!(
                "unknown parameter '{name}'; the law's parameters are {names:?}"
            )));
        }
    }
    let bounds: Vec<Bound> = specs
        .iter()
        .map(|s| {
            let [lower, upper] = options
                .bounds
                .get(s.name)
                .or(prepared.bounds.get(s.name))
                .copied()
                .unwrap_or([s.lower, s.upper]);
            Bound { lower, upper }
        })
        .collect();
    for (s, b) in specs.iter().zip(&bounds) {
        if !(b.lower < b.upper) {
            return Err(FitError::Input(format!(
                "bounds of '{}' are empty: [{}, {}]",
                s.name, b.lower, b.upper
            )));
        }
    }
    let fixed: Vec<Option<f64>> = specs
        .iter()
        .map(|s| {
            options
                .fixed
                .get(s.name)
                .or(prepared.fixed.get(s.name))
                .copied()
        })
        .collect();
    let transform = Transform::new(bounds.clone(), fixed.clone());
    check_data(&prepared.train, transform.n_free())?;

    let holdout = prepared.holdout;
    let coverage = prepared.coverage;
    let staged_plan = prepared.staged;
    let linear = prepared.linear;
    let solve_linear_starts = prepared.solve_linear_starts && !linear.is_empty();
    let mut problem = prepared.train;
    problem.objective = options.objective;
    problem.control = options.control.clone();
    problem
        .weight_runs(&options.run_weights)
        .map_err(FitError::Input)?;
    let mut law_settings = prepared.settings;
    if !options.run_weights.is_empty() {
        law_settings["run_weights"] = serde_json::json!(options.run_weights);
    }
    let train = problem.unit_counts();
    let mut settings = Settings {
        threads: options.threads.max(1),
        max_iters: options.max_iters,
        ..Settings::default()
    };

    let starts: Vec<Vec<f64>> = prepared
        .starts
        .iter()
        .map(|s| s.iter().zip(&fixed).map(|(v, f)| f.unwrap_or(*v)).collect())
        .collect();
    let cancelled = || {
        if options.control.is_cancelled() {
            Err(FitError::Cancelled)
        } else {
            Ok(())
        }
    };
    let (optima, staged_outcome) = match &staged_plan {
        Some(plan) => {
            settings.local = optimize::Local::GaussNewton;
            settings.polish_iters = STAGED_ITERS;
            let outcome = staged::fit(
                plan,
                &problem,
                &bounds,
                &fixed,
                &starts,
                &linear,
                options.prior_strength,
                options.cross_validate,
                STAGED_ITERS,
                settings.threads,
            );
            cancelled()?;
            let outcome = outcome
                .ok_or_else(|| FitError::Failed("no start reached a finite objective".into()))?;
            problem.prior = outcome.prior.clone();
            (vec![outcome.optimum.clone()], Some(outcome))
        }
        None if solve_linear_starts => {
            let solved: Vec<Vec<f64>> = starts
                .iter()
                .map(|s| {
                    optimize::solve_linear(&problem, &train, &transform, s, &linear)
                        .map_or_else(|| s.clone(), |(solved, _)| solved)
                })
                .collect();
            // Bootstrap refits start at the optimum: the same stretches suit them, capped
            // like a staged fit's (a refit can creep along the ridge for long).
            settings.local = optimize::Local::GaussNewtonStretched;
            settings.polish_iters = STAGED_ITERS;
            (
                optimize::screened_gauss_newton(
                    &problem,
                    &train,
                    &transform,
                    &solved,
                    (SCREEN_ITERS, SCREEN_LONG, SCREEN_KEEP),
                    settings.threads,
                ),
                None,
            )
        }
        None => (
            optimize::multi_start(&problem, &train, &transform, &starts, &settings),
            None,
        ),
    };
    cancelled()?;
    let best = optima
        .iter()
        .find(|o| o.value.is_finite())
        .ok_or_else(|| FitError::Failed("no start reached a finite objective".into()))?;
    let init = best.start.clone().unwrap_or_else(|| best.params.clone());
    let evaluations = optima.iter().map(|o| o.evaluations).sum();

    let covariance = uncertainty::covariance(&problem, &train, &transform, &best.params);
    let mut bootstrap = None;
    let mut cis: Vec<Option<[f64; 2]>> = vec![None; specs.len()];
    if options.bootstrap > 0 {
        options.control.begin("bootstrap", options.bootstrap);
        // Few curves: resampling whole runs is degenerate (two runs have three distinct
        // resamples), so blocks of residuals are resampled within each run instead.
        let within_runs = problem.groups.len() < uncertainty::MIN_RUNS_FOR_RUN_BOOTSTRAP
            && problem.blocks.len() == problem.groups.len();
        let resample = if within_runs {
            uncertainty::residual_bootstrap
        } else {
            uncertainty::bootstrap
        };
        let (samples, failed) = resample(
            &problem,
            &transform,
            &best.params,
            options.bootstrap,
            options.seed,
            &settings,
        );
        cancelled()?;
        let tail = (1.0 - options.ci_level) / 2.0;
        for (j, ci) in cis.iter_mut().enumerate() {
            if fixed[j].is_some() {
                continue;
            }
            let column: Vec<f64> = samples.iter().map(|s| s[j]).collect();
            if let (Some(lo), Some(hi)) = (quantile(&column, tail), quantile(&column, 1.0 - tail)) {
                *ci = Some([lo, hi]);
            }
        }
        bootstrap = Some(BootstrapSummary {
            resamples: options.bootstrap,
            seed: options.seed,
            failed,
            unit: if within_runs {
                format!(
                    "blocks of {} residuals within each run (moving-block bootstrap: fewer than {} runs)",
                    problem
                        .blocks
                        .iter()
                        .map(|b| uncertainty::residual_block(b.observed.len()).to_string())
                        .collect::<Vec<_>>()
                        .join("/"),
                    uncertainty::MIN_RUNS_FOR_RUN_BOOTSTRAP
                )
            } else {
                "whole runs (groups) drawn with replacement".into()
            },
            samples,
        });
    }

    let params: Vec<ParamEstimate> = specs
        .iter()
        .enumerate()
        .map(|(j, s)| ParamEstimate {
            name: s.name.into(),
            meaning: s.meaning.into(),
            value: best.params[j],
            init: init[j],
            lower: bounds[j].lower,
            upper: bounds[j].upper,
            fixed: fixed[j].is_some(),
            stderr: covariance.stderr[j].as_ref().ok().copied(),
            stderr_missing: covariance.stderr[j].as_ref().err().cloned(),
            ci: cis[j],
        })
        .collect();
    let train_metrics = group_metrics(&problem, &best.params);
    let holdout_metrics = group_metrics(&holdout, &best.params);
    let n_points = problem.n_points(&train);
    let k = transform.n_free() as f64;
    let sse: f64 = problem
        .residuals(&best.params, &train, &[])
        .map(|res| res.r[..res.n_data].iter().map(|r| r * r).sum())
        .unwrap_or(f64::NAN);
    let n = n_points as f64;
    let mut warnings = prepared.warnings;
    for p in &params {
        // Also when the covariance is singular (then no standard error says so): a value
        // clamped onto a bound (Gauss-Newton's steps are) or within 1e-9 of its range.
        let near = |b: f64| b.is_finite() && (p.value - b).abs() <= 1e-9 * (p.upper - p.lower);
        if p.stderr_missing.as_deref() == Some("at a bound")
            || (!p.fixed && (near(p.lower) || near(p.upper)))
        {
            warnings.push(format!(
                "{} ended at a bound ({}); widen its bounds or fix it",
                p.name, p.value
            ));
        }
    }
    if !matches!(best.convergence, optimize::Convergence::Converged) {
        warnings.push(format!(
            "the best start did not converge: {:?}",
            best.convergence
        ));
    }
    let identifiability = identifiability(specs, &covariance, &mut warnings);
    let optimizer = match &staged_outcome {
        Some(_) => format!(
            "two stages of damped Gauss-Newton (Levenberg-Marquardt with IRLS weights, at most {STAGED_ITERS} iterations each): the simplified law from least-squares starts, then the full law with a prior"
        ),
        None if solve_linear_starts => format!(
            "at each start the linear parameters by least squares, then damped Gauss-Newton (Levenberg-Marquardt with IRLS weights): {SCREEN_ITERS} iterations from every start, then the best {SCREEN_KEEP} continued for up to {SCREEN_LONG} in stretches of {} until a stretch lowers the objective by less than {:e} (relative)",
            optimize::STRETCH,
            optimize::STRETCH_GAIN
        ),
        None => format!(
            "{}L-BFGS (argmin, More-Thuente, m = 10, max {} iterations) on bound-transformed parameters, then a damped Gauss-Newton (IRLS) polish",
            if starts.len() > optimize::SCREEN_ABOVE {
                format!(
                    "objective evaluated at every start, then from the {} best: ",
                    optimize::SCREEN_KEEP
                )
            } else {
                String::new()
            },
            options.max_iters
        ),
    };
    let n_starts = staged_outcome.as_ref().map_or(starts.len(), |o| o.n_starts);
    let derived = natural::derive(&prepared.law, &params);
    let report = FitReport {
        law: prepared.law,
        form: prepared.form,
        settings: law_settings,
        objective: serde_json::to_value(options.objective).unwrap_or_default(),
        optimizer,
        start_grid: prepared.start_grid,
        n_starts,
        excluded: prepared.excluded,
        aggregation: prepared.aggregation,
        correlation_names: transform
            .free_indices()
            .iter()
            .map(|&j| specs[j].name.to_string())
            .collect(),
        correlations: covariance.correlations,
        objective_value: best.value,
        n_points,
        aic: n * (sse / n).ln() + 2.0 * k,
        bic: n * (sse / n).ln() + k * n.ln(),
        convergence: serde_json::to_value(&best.convergence).unwrap_or_default(),
        evaluations,
        train: train_metrics,
        holdout: holdout_metrics,
        ci_level: options.ci_level,
        bootstrap,
        warnings,
        regularisation: staged_outcome
            .as_ref()
            .and_then(|o| serde_json::to_value(o).ok()),
        identifiability,
        coverage,
        derived,
        comparison: None,
        params,
    };
    Ok(Fitted {
        params: best.params.clone(),
        report,
    })
}

/// Iteration cap of each Gauss-Newton run of a staged fit.
const STAGED_ITERS: usize = 300;

/// Screened Gauss-Newton (`Prepared::solve_linear_starts`): iterations from every start,
/// and how many of the best are then continued for up to [`SCREEN_LONG`].
const SCREEN_ITERS: usize = 30;
const SCREEN_KEEP: usize = 2;
/// Iteration cap of the continued runs: the FSL fit of the multi-power-law data creeps for
/// about 950 iterations before `c3` reaches its bound.
const SCREEN_LONG: usize = 1500;

/// Ratio of profile to conditional sd above which a parameter is called weakly identified.
const WEAK_RATIO: f64 = 10.0;

/// The identifiability table of the report, and a warning naming the weak parameters.
fn identifiability(
    specs: &[ParamSpec],
    covariance: &uncertainty::Covariance,
    warnings: &mut Vec<String>,
) -> Option<serde_json::Value> {
    if covariance.widths.is_empty() {
        return None;
    }
    let mut weak = Vec::new();
    let rows: Vec<serde_json::Value> = covariance
        .widths
        .iter()
        .map(|&(j, profile, conditional)| {
            let ratio = profile.map(|p| p / conditional.max(f64::MIN_POSITIVE));
            if ratio.is_none_or(|r| r > WEAK_RATIO) {
                weak.push(specs[j].name);
            }
            serde_json::json!({
                "name": specs[j].name,
                "profile_sd": profile,
                "conditional_sd": conditional,
                "ratio": ratio,
            })
        })
        .collect();
    if !weak.is_empty() {
        warnings.push(format!(
            "weakly identified by the data alone (profile sd > {WEAK_RATIO} x conditional sd, or singular): {}; other parameters compensate for them, so their values mean little on their own",
            weak.join(", ")
        ));
    }
    Some(serde_json::json!({
        "method": "quadratic approximation at the optimum, data term only: profile sd = sqrt(cov_jj) (others refitted), conditional sd = s / sqrt(H_jj) (others held)",
        "weak_ratio": WEAK_RATIO,
        "weak": weak,
        "params": rows,
    }))
}

fn check_data(problem: &Problem, n_free: usize) -> Result<(), FitError> {
    let n = problem.n_points(&problem.unit_counts());
    if n == 0 {
        return Err(FitError::Input("no points to fit".into()));
    }
    if n <= n_free {
        return Err(FitError::Input(format!(
            "{n} points cannot determine {n_free} free parameters"
        )));
    }
    for block in &problem.blocks {
        if let Some(i) = block
            .observed
            .iter()
            .position(|v| !v.is_finite() || *v <= 0.0)
        {
            return Err(FitError::Input(format!(
                "run '{}': loss {} is not a positive finite number",
                problem.groups[block.group_of[i]], block.observed[i]
            )));
        }
    }
    let all = problem
        .blocks
        .iter()
        .flat_map(|b| b.observed.iter().copied());
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if hi - lo <= 1e-12 * hi.abs() {
        return Err(FitError::Input(format!(
            "the loss is constant ({lo}): there is nothing to fit"
        )));
    }
    Ok(())
}

/// Metrics per run with at least two points, and over all points together.
fn group_metrics(problem: &Problem, p: &[f64]) -> Vec<RunMetrics> {
    let per_group = problem.per_group(p);
    let mut rows: Vec<RunMetrics> = problem
        .groups
        .iter()
        .zip(&per_group)
        .filter(|(_, (obs, _))| obs.len() >= 2)
        .map(|(name, (obs, pred))| metrics::run_metrics(name, obs, pred))
        .collect();
    if problem.groups.len() > 1 {
        let obs: Vec<f64> = per_group.iter().flat_map(|g| g.0.iter().copied()).collect();
        let pred: Vec<f64> = per_group.iter().flat_map(|g| g.1.iter().copied()).collect();
        rows.push(metrics::run_metrics("(all runs)", &obs, &pred));
    }
    rows
}

//! Uncertainty of a fit: standard errors and correlations from the Gauss-Newton
//! covariance at the optimum, and a bootstrap: of whole runs when there are enough of
//! them, else of blocks of residuals within each run.

use nalgebra::DMatrix;

use super::objective::Scale;
use super::optimize::{Settings, minimise};
use super::problem::Problem;
use super::transform::Transform;
use crate::rng::SplitMix64;

/// Standard errors (or why missing) and the correlation matrix of the free parameters.
pub struct Covariance {
    pub stderr: Vec<Result<f64, String>>,
    pub correlations: Vec<Vec<f64>>,
    /// Per free parameter: `(index, profile sd, conditional sd)`. The profile sd
    /// (`sqrt(cov_jj)`, the others refitted) is `None` when the curvature is singular;
    /// the conditional sd (`s / sqrt(H_jj)`, the others held) always exists. Their ratio
    /// says how much the other parameters can compensate: a weakly identified one has a
    /// ratio far above 1.
    pub widths: Vec<(usize, Option<f64>, f64)>,
}

/// cov = s^2 (J^T W J)^-1 with s^2 = sum w r^2 / (n - k), J the residuals' Jacobian over
/// the free parameters: the usual nonlinear least-squares covariance (lmfit's).
pub fn covariance(
    problem: &Problem,
    counts: &[f64],
    transform: &Transform,
    p: &[f64],
) -> Covariance {
    let n_params = problem.n_params();
    let free = transform.free_indices();
    let missing = |why: &str| Covariance {
        stderr: (0..n_params)
            .map(|j| {
                Err(if transform.is_fixed(j) {
                    "fixed".into()
                } else {
                    why.to_string()
                })
            })
            .collect(),
        correlations: Vec::new(),
        widths: Vec::new(),
    };
    let Some(res) = problem.residuals(p, counts, &free) else {
        return missing("the law is not finite at the optimum");
    };
    // The data's curvature only: the prior would hide what the data cannot identify.
    let (n, k) = (res.n_data, free.len());
    let (r, jr, w) = (&res.r[..n], &res.jac[..n * k], &res.weights[..n]);
    if n <= k {
        return missing("no more points than free parameters");
    }
    let j = DMatrix::from_row_slice(n, k, &jr);
    let wj = DMatrix::from_fn(n, k, |i, c| w[i] * j[(i, c)]);
    let jtwj = j.transpose() * wj;
    let s2 = r.iter().zip(w).map(|(r, w)| w * r * r).sum::<f64>() / (n - k) as f64;
    let conditional: Vec<f64> = (0..k)
        .map(|c| (s2 / jtwj[(c, c)]).max(0.0).sqrt())
        .collect();
    let svd = jtwj.clone().svd(false, false);
    let (max, min) = (svd.singular_values.max(), svd.singular_values.min());
    let inverse = if min > 0.0 && max / min < 1e15 {
        jtwj.try_inverse()
    } else {
        None
    };
    let Some(inverse) = inverse else {
        let mut out = missing("singular curvature (a parameter is not identified by the data)");
        out.widths = free
            .iter()
            .zip(&conditional)
            .map(|(&j, &c)| (j, None, c))
            .collect();
        return out;
    };
    let cov = inverse * s2;
    let mut stderr = Vec::with_capacity(n_params);
    for j in 0..n_params {
        if transform.is_fixed(j) {
            stderr.push(Err("fixed".to_string()));
            continue;
        }
        let c = free.iter().position(|&f| f == j).expect("free index");
        let bound = transform.bound(j);
        let width = if bound.lower.is_finite() && bound.upper.is_finite() {
            bound.upper - bound.lower
        } else {
            1.0
        };
        let near = |b: f64| b.is_finite() && (p[j] - b).abs() <= 1e-6 * width.max(p[j].abs());
        if near(bound.lower) || near(bound.upper) {
            stderr.push(Err("at a bound".to_string()));
        } else {
            stderr.push(Ok(cov[(c, c)].max(0.0).sqrt()));
        }
    }
    let correlations = (0..k)
        .map(|a| {
            (0..k)
                .map(|b| cov[(a, b)] / (cov[(a, a)] * cov[(b, b)]).sqrt())
                .collect()
        })
        .collect();
    let widths = free
        .iter()
        .enumerate()
        .map(|(c, &j)| (j, Some(cov[(c, c)].max(0.0).sqrt()), conditional[c]))
        .collect();
    Covariance {
        stderr,
        correlations,
        widths,
    }
}

/// Bootstrap: `resamples` refits, each on the groups drawn with replacement (as many
/// draws as groups), started at the best fit `p`. Returns the successful parameter
/// vectors and the number of failures.
pub fn bootstrap(
    problem: &Problem,
    transform: &Transform,
    p: &[f64],
    resamples: usize,
    seed: u64,
    settings: &Settings,
) -> (Vec<Vec<f64>>, usize) {
    // Draw all resamples up front so the result does not depend on thread scheduling.
    let mut rng = SplitMix64(seed);
    let n = problem.groups.len();
    let draws: Vec<Vec<f64>> = (0..resamples)
        .map(|_| {
            let mut counts = vec![0.0; n];
            for _ in 0..n {
                counts[rng.below(n)] += 1.0;
            }
            counts
        })
        .collect();
    let single = Settings {
        threads: 1,
        ..*settings
    };
    refit_all(&draws, settings.threads, problem, |draw| {
        minimise(problem, draw, transform, p, &single)
    })
}

/// Runs `refit` on every item on up to `threads` threads (items in contiguous chunks, so
/// the order of the results does not depend on scheduling), counting each in `problem`'s
/// progress. Returns the finite parameter vectors and the number of failed refits.
fn refit_all<T: Sync>(
    items: &[T],
    threads: usize,
    problem: &Problem,
    refit: impl Fn(&T) -> super::optimize::Optimum + Sync,
) -> (Vec<Vec<f64>>, usize) {
    let chunk = items.len().div_ceil(threads.max(1)).max(1);
    let refit = &refit;
    let results: Vec<Option<Vec<f64>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|item| {
                            let fit = refit(item);
                            problem.control.advance();
                            (fit.value.is_finite() && fit.params.iter().all(|v| v.is_finite()))
                                .then_some(fit.params)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let failed = results.iter().filter(|r| r.is_none()).count();
    (results.into_iter().flatten().collect(), failed)
}

/// Below this many fitted runs, [`bootstrap`] over whole runs is degenerate (two runs
/// have three distinct resamples), and [`residual_bootstrap`] is used instead.
pub const MIN_RUNS_FOR_RUN_BOOTSTRAP: usize = 4;

/// The length of the residual blocks of a run of `n` points: sqrt(n), long enough to
/// carry the slow structure a law leaves in a loss curve's residuals (which are far from
/// independent), short enough that a resample mixes many blocks.
pub fn residual_block(n: usize) -> usize {
    ((n as f64).sqrt().round() as usize).clamp(1, n.max(1))
}

/// A moving-block bootstrap of the residuals within each run: every resample keeps the
/// fitted curves and rebuilds each run's observations from blocks of
/// [`residual_block`] consecutive residuals drawn with replacement from that run (on the
/// objective's scale: ratios on the log scale), then refits from `p`. It works with one
/// run, and keeps the autocorrelation of the residuals within a block. Returns the
/// parameter vectors and the number of failed refits.
pub fn residual_bootstrap(
    problem: &Problem,
    transform: &Transform,
    p: &[f64],
    resamples: usize,
    seed: u64,
    settings: &Settings,
) -> (Vec<Vec<f64>>, usize) {
    let objective = problem.objective;
    // Per block: the fitted curve and the residuals of its points.
    let fitted: Vec<Option<(Vec<f64>, Vec<f64>)>> = problem
        .blocks
        .iter()
        .map(|block| {
            let predicted = block.law.predict(p).ok()?;
            let residuals = block
                .observed
                .iter()
                .zip(&predicted)
                .map(|(&o, &q)| objective.residual(o, q).unwrap_or(0.0))
                .collect();
            Some((predicted, residuals))
        })
        .collect();
    let mut rng = SplitMix64(seed);
    let problems: Vec<Problem> = (0..resamples)
        .map(|_| {
            let mut resampled = problem.clone();
            for (block, fit) in resampled.blocks.iter_mut().zip(&fitted) {
                let Some((predicted, residuals)) = fit else {
                    continue;
                };
                let n = residuals.len();
                let b = residual_block(n);
                let mut drawn = Vec::with_capacity(n + b);
                while drawn.len() < n {
                    let start = rng.below(n - b + 1);
                    drawn.extend_from_slice(&residuals[start..start + b]);
                }
                for (i, o) in block.observed.iter_mut().enumerate() {
                    *o = match objective.scale {
                        Scale::Log => predicted[i] * drawn[i].exp(),
                        Scale::Raw => predicted[i] + drawn[i],
                    };
                }
            }
            resampled
        })
        .collect();
    let single = Settings {
        threads: 1,
        ..*settings
    };
    let counts = problem.unit_counts();
    refit_all(&problems, settings.threads, problem, |resampled| {
        minimise(resampled, &counts, transform, p, &single)
    })
}

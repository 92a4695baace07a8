//! Uncertainty of a fit: standard errors and correlations from the Gauss-Newton
//! covariance at the optimum, and a bootstrap that resamples whole runs.

use nalgebra::DMatrix;

use super::optimize::{Settings, minimise};
use super::problem::Problem;
use super::transform::Transform;
use crate::rng::SplitMix64;

/// Standard errors (or why missing) and the correlation matrix of the free parameters.
pub struct Covariance {
    pub stderr: Vec<Result<f64, String>>,
    pub correlations: Vec<Vec<f64>>,
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
    };
    let Some((r, jr, w)) = problem.residuals(p, counts, &free) else {
        return missing("the law is not finite at the optimum");
    };
    let (n, k) = (r.len(), free.len());
    if n <= k {
        return missing("no more points than free parameters");
    }
    let j = DMatrix::from_row_slice(n, k, &jr);
    let wj = DMatrix::from_fn(n, k, |i, c| w[i] * j[(i, c)]);
    let jtwj = j.transpose() * wj;
    let s2 = r.iter().zip(&w).map(|(r, w)| w * r * r).sum::<f64>() / (n - k) as f64;
    let svd = jtwj.clone().svd(false, false);
    let (max, min) = (svd.singular_values.max(), svd.singular_values.min());
    if !(min > 0.0 && max / min < 1e15) {
        return missing("singular curvature (a parameter is not identified by the data)");
    }
    let Some(inverse) = jtwj.try_inverse() else {
        return missing("singular curvature");
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
    Covariance {
        stderr,
        correlations,
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
    let threads = settings.threads.max(1);
    let chunk = draws.len().div_ceil(threads).max(1);
    let results: Vec<Option<Vec<f64>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = draws
            .chunks(chunk)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|draw| {
                            let fit = minimise(problem, draw, transform, p, &single);
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

/// The `q` quantile (0..1) of `values` by linear interpolation; `None` if empty.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(values[lo] + (values[hi] - values[lo]) * (pos - lo as f64))
}

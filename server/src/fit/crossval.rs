//! Choosing the prior's strength by leave-one-run-out cross-validation: for each
//! candidate strength, refit without each run in turn and score the forecast of the run
//! left out (its mean |L - L^| / L). The strength with the smallest mean score wins; what
//! counts is the forecast of unseen schedules, not the training objective.
//!
//! Refits are Gauss-Newton polishes warm-started along the path from the strongest prior
//! to the weakest, one thread per fold.

use serde::{Deserialize, Serialize};

use super::optimize::polish;
use super::problem::Problem;
use super::transform::Transform;

/// The cross-validation table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CrossValidation {
    /// Candidate strengths, strongest first.
    pub strengths: Vec<f64>,
    /// Mean over folds of the left-out run's mean relative error, per strength.
    pub scores: Vec<f64>,
    /// Per strength, the score of each fold (in group order).
    pub fold_scores: Vec<Vec<f64>>,
    pub chosen: f64,
    pub evaluations: u64,
}

/// Runs the cross-validation of `problem.prior`'s strength over `strengths` (any order)
/// from the parameters `start`. Needs at least two groups.
pub fn choose_strength(
    problem: &Problem,
    transform: &Transform,
    start: &[f64],
    strengths: &[f64],
    polish_iters: usize,
    threads: usize,
) -> Option<CrossValidation> {
    let n_groups = problem.groups.len();
    if n_groups < 2 || strengths.is_empty() {
        return None;
    }
    let mut order: Vec<f64> = strengths.to_vec();
    order.sort_by(|a, b| b.total_cmp(a));
    let folds: Vec<usize> = (0..n_groups).collect();
    let threads = threads.max(1).min(n_groups);
    let chunk = n_groups.div_ceil(threads);
    // Per fold: (scores per strength, evaluations).
    let per_fold: Vec<(Vec<f64>, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = folds
            .chunks(chunk)
            .map(|chunk| {
                let order = &order;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|&g| fold_path(problem, transform, start, order, g, polish_iters))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    if per_fold.len() != n_groups {
        return None;
    }
    let fold_scores: Vec<Vec<f64>> = (0..order.len())
        .map(|s| per_fold.iter().map(|f| f.0[s]).collect())
        .collect();
    let scores: Vec<f64> = fold_scores
        .iter()
        .map(|f| f.iter().sum::<f64>() / f.len() as f64)
        .collect();
    let best = scores
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_finite())
        .min_by(|a, b| a.1.total_cmp(b.1))?
        .0;
    Some(CrossValidation {
        chosen: order[best],
        strengths: order,
        scores,
        fold_scores,
        evaluations: per_fold.iter().map(|f| f.1).sum(),
    })
}

/// Scores of fold `g` (run `g` left out) along the strengths, warm-started.
fn fold_path(
    problem: &Problem,
    transform: &Transform,
    start: &[f64],
    strengths: &[f64],
    g: usize,
    polish_iters: usize,
) -> (Vec<f64>, u64) {
    let mut counts = problem.unit_counts();
    counts[g] = 0.0;
    // A shallow copy (the laws are shared) whose prior strength follows the path.
    let mut fold = problem.clone();
    let mut p = start.to_vec();
    let mut evaluations = 0;
    let mut scores = Vec::with_capacity(strengths.len());
    for &s in strengths {
        fold.prior.strength = s;
        let (q, _, used) = polish(&fold, &counts, transform, &p, polish_iters);
        evaluations += used as u64;
        p = q;
        scores.push(left_out_error(problem, &p, g));
    }
    (scores, evaluations)
}

/// Mean relative error of group `g`'s points under parameters `p`.
pub fn left_out_error(problem: &Problem, p: &[f64], g: usize) -> f64 {
    let (mut total, mut n) = (0.0, 0usize);
    for block in &problem.blocks {
        if !block.group_of.contains(&g) {
            continue;
        }
        let Ok(pred) = block.law.predict(p) else {
            return f64::INFINITY;
        };
        for (i, &gi) in block.group_of.iter().enumerate() {
            if gi == g {
                total += ((block.observed[i] - pred[i]) / block.observed[i]).abs();
                n += 1;
            }
        }
    }
    if n == 0 { f64::NAN } else { total / n as f64 }
}

//! Choosing the prior's strength from the fitted runs alone, by the task the fit is for:
//! forecasting what it has not seen. For each candidate strength, refit with a part of
//! the data hidden and score the forecast of that part (its mean |L - L^| / L): the last
//! third of each run in turn (later steps of a known schedule: the annealing of a decay,
//! the flattening of a constant LR), and, with three runs or more, each whole run in
//! turn (a schedule not seen). The strength with the smallest mean score wins (the
//! strongest within 1% of it, the simpler model on a tie); the training objective never
//! decides it.
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
    /// Per strength, the score of each fold (in the order of `folds`).
    pub fold_scores: Vec<Vec<f64>>,
    /// What each fold hid and forecast.
    #[serde(default)]
    pub folds: Vec<String>,
    pub chosen: f64,
    pub evaluations: u64,
}

/// The share of each run's points (its last ones, by step) that a tail fold forecasts.
pub const TAIL_FRACTION: f64 = 1.0 / 3.0;

/// One validation fold: what is hidden from the fit and then forecast.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fold {
    /// The last [`TAIL_FRACTION`] of run `g`'s points (the other runs stay whole).
    Tail(usize),
    /// The whole of run `g`.
    Run(usize),
}

/// The folds of a problem: every run's tail, and, with three runs or more, every run
/// left out whole (with two, leaving one out leaves a single schedule to fit the
/// annealing terms from, which says little about the forecast of a new schedule).
fn folds(n_groups: usize) -> Vec<Fold> {
    let mut folds: Vec<Fold> = (0..n_groups).map(Fold::Tail).collect();
    if n_groups >= 3 {
        folds.extend((0..n_groups).map(Fold::Run));
    }
    folds
}

/// Chooses `problem.prior`'s strength among `strengths` (any order) by how well fits with
/// each forecast what they did not see, from the parameters `start`: each fold hides a
/// run's last third (or a whole run) and scores the forecast of it.
pub fn choose_strength(
    problem: &Problem,
    transform: &Transform,
    start: &[f64],
    strengths: &[f64],
    polish_iters: usize,
    threads: usize,
) -> Option<CrossValidation> {
    let n_groups = problem.groups.len();
    if n_groups == 0 || strengths.is_empty() {
        return None;
    }
    let mut order: Vec<f64> = strengths.to_vec();
    order.sort_by(|a, b| b.total_cmp(a));
    let folds = folds(n_groups);
    let threads = threads.max(1).min(folds.len());
    let chunk = folds.len().div_ceil(threads);
    // Per fold: (scores per strength, evaluations).
    let per_fold: Vec<(Vec<f64>, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = folds
            .chunks(chunk)
            .map(|chunk| {
                let order = &order;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|&f| fold_path(problem, transform, start, order, f, polish_iters))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    if per_fold.len() != folds.len() {
        return None;
    }
    let fold_scores: Vec<Vec<f64>> = (0..order.len())
        .map(|s| per_fold.iter().map(|f| f.0[s]).collect())
        .collect();
    let scores: Vec<f64> = fold_scores
        .iter()
        .map(|f| f.iter().sum::<f64>() / f.len() as f64)
        .collect();
    // The strongest prior within 1% of the best score: a tie goes to the simpler model.
    let best = scores
        .iter()
        .copied()
        .filter(|s| s.is_finite())
        .fold(f64::INFINITY, f64::min);
    let chosen = scores.iter().position(|&s| s <= best * 1.01)?;
    Some(CrossValidation {
        chosen: order[chosen],
        strengths: order,
        scores,
        fold_scores,
        folds: folds.iter().map(|f| f.describe(problem)).collect(),
        evaluations: per_fold.iter().map(|f| f.1).sum(),
    })
}

impl Fold {
    fn describe(self, problem: &Problem) -> String {
        match self {
            Fold::Tail(g) => format!("last third of '{}'", problem.groups[g]),
            Fold::Run(g) => format!("all of '{}'", problem.groups[g]),
        }
    }

    /// Whether point `i` of a block is hidden by this fold (its group is `group`; the
    /// block's points of that group start at `first` and number `len`).
    fn hides(self, group: usize, i: usize, first: usize, len: usize) -> bool {
        match self {
            Fold::Run(g) => g == group,
            Fold::Tail(g) => {
                g == group && (i - first) as f64 >= (len as f64 * (1.0 - TAIL_FRACTION)).floor()
            }
        }
    }
}

/// For each block, the hidden points of `fold` (indices into the block).
fn hidden(problem: &Problem, fold: Fold) -> Vec<Vec<usize>> {
    problem
        .blocks
        .iter()
        .map(|block| {
            let mut out = Vec::new();
            for g in 0..problem.groups.len() {
                let members: Vec<usize> = (0..block.group_of.len())
                    .filter(|&i| block.group_of[i] == g)
                    .collect();
                let (Some(&first), len) = (members.first(), members.len()) else {
                    continue;
                };
                out.extend(
                    members
                        .into_iter()
                        .filter(|&i| fold.hides(g, i, first, len)),
                );
            }
            out
        })
        .collect()
}

/// Scores of `fold` along the strengths, warm-started.
fn fold_path(
    problem: &Problem,
    transform: &Transform,
    start: &[f64],
    strengths: &[f64],
    fold: Fold,
    polish_iters: usize,
) -> (Vec<f64>, u64) {
    let counts = problem.unit_counts();
    let hidden = hidden(problem, fold);
    // A copy (the laws are shared) without the hidden points, whose prior strength
    // follows the path.
    let mut fitted = problem.clone();
    for (block, hide) in fitted.blocks.iter_mut().zip(&hidden) {
        for &i in hide {
            block.weights[i] = 0.0;
        }
    }
    let mut p = start.to_vec();
    let mut evaluations = 0;
    let mut scores = Vec::with_capacity(strengths.len());
    for &s in strengths {
        fitted.prior.strength = s;
        let (q, _, used) = polish(&fitted, &counts, transform, &p, polish_iters);
        evaluations += used as u64;
        p = q;
        scores.push(hidden_error(problem, &p, &hidden));
    }
    (scores, evaluations)
}

/// Mean relative error of the hidden points under parameters `p`.
fn hidden_error(problem: &Problem, p: &[f64], hidden: &[Vec<usize>]) -> f64 {
    let (mut total, mut n) = (0.0, 0usize);
    for (block, hide) in problem.blocks.iter().zip(hidden) {
        if hide.is_empty() {
            continue;
        }
        let Ok(pred) = block.law.predict(p) else {
            return f64::INFINITY;
        };
        for &i in hide {
            total += ((block.observed[i] - pred[i]) / block.observed[i]).abs();
            n += 1;
        }
    }
    if n == 0 { f64::NAN } else { total / n as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_left_out_whole_only_with_three_or_more() {
        assert_eq!(folds(2), vec![Fold::Tail(0), Fold::Tail(1)]);
        assert_eq!(folds(3).len(), 6);
        assert!(folds(3).contains(&Fold::Run(2)));
    }

    #[test]
    fn a_tail_fold_hides_the_last_third_of_its_run_only() {
        // Run 1 holds points 10..19 of a block.
        let hidden: Vec<usize> = (10..19)
            .filter(|&i| Fold::Tail(1).hides(1, i, 10, 9))
            .collect();
        assert_eq!(hidden, vec![16, 17, 18]);
        assert!(!Fold::Tail(1).hides(0, 18, 10, 9));
        assert!(Fold::Run(0).hides(0, 3, 0, 9));
    }
}

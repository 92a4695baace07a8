//! Multi-start L-BFGS (argmin, More-Thuente line search) in the reparametrised space,
//! followed by a damped Gauss-Newton (Levenberg-Marquardt) polish with iteratively
//! reweighted least squares, which handles Huber and asymmetric penalties too.
//!
//! Architecture invariant: `fit` is the only module that knows argmin.

use argmin::core::{CostFunction, Executor, Gradient, State, TerminationReason, TerminationStatus};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use super::objective::Penalty;
use super::problem::Problem;
use super::transform::Transform;

/// How an optimisation ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum Convergence {
    Converged,
    MaxIterations,
    /// The line search or the objective failed; the best point seen is kept.
    Stopped(String),
}

#[derive(Clone, Debug)]
pub struct Optimum {
    /// Where this optimisation started.
    pub start: Option<Vec<f64>>,
    pub params: Vec<f64>,
    pub value: f64,
    pub convergence: Convergence,
    pub evaluations: u64,
}

#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub max_iters: u64,
    /// Polish each optimisation (else only the best few of a multi-start).
    pub polish: bool,
    pub polish_iters: usize,
    pub threads: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_iters: 1000,
            polish: true,
            polish_iters: 100,
            threads: 2,
        }
    }
}

struct FreeProblem<'a> {
    problem: &'a Problem,
    counts: &'a [f64],
    transform: &'a Transform,
}

impl FreeProblem<'_> {
    fn value_and_grad(&self, u: &[f64], want_grad: bool) -> (f64, Vec<f64>) {
        let (p, dp) = self.transform.to_params(u);
        if !want_grad {
            return (self.problem.value(&p, self.counts, None), Vec::new());
        }
        let mut g = vec![0.0; p.len()];
        let value = self.problem.value(&p, self.counts, Some(&mut g));
        let free = self.transform.free_indices();
        (
            value,
            free.iter().zip(&dp).map(|(&j, &d)| g[j] * d).collect(),
        )
    }
}

impl CostFunction for FreeProblem<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, u: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        Ok(self.value_and_grad(u, false).0)
    }
}

impl Gradient for FreeProblem<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, u: &Vec<f64>) -> Result<Vec<f64>, argmin::core::Error> {
        let (value, grad) = self.value_and_grad(u, true);
        if value.is_finite() && grad.iter().all(|g| g.is_finite()) {
            Ok(grad)
        } else {
            Err(argmin::core::Error::msg("the objective is not finite here"))
        }
    }
}

/// Minimises from one start (full parameter vector), groups weighted by `counts`.
pub fn minimise(
    problem: &Problem,
    counts: &[f64],
    transform: &Transform,
    start: &[f64],
    settings: &Settings,
) -> Optimum {
    let free = FreeProblem {
        problem,
        counts,
        transform,
    };
    let u0 = transform.to_free(start);
    let (best_u, convergence, evaluations) = if u0.is_empty() {
        (u0, Convergence::Converged, 0)
    } else {
        run_lbfgs(free, u0, settings.max_iters)
    };
    let (params, _) = transform.to_params(&best_u);
    let value = problem.value(&params, counts, None);
    let mut optimum = Optimum {
        start: Some(start.to_vec()),
        params,
        value,
        convergence,
        evaluations,
    };
    if settings.polish {
        polish_optimum(
            problem,
            counts,
            transform,
            &mut optimum,
            settings.polish_iters,
        );
    }
    optimum
}

/// The polish often finishes what L-BFGS's line search could not.
fn polish_optimum(
    problem: &Problem,
    counts: &[f64],
    transform: &Transform,
    optimum: &mut Optimum,
    iters: usize,
) {
    let (polished, value, steps) = polish(problem, counts, transform, &optimum.params, iters);
    optimum.evaluations += steps as u64;
    if value < optimum.value {
        optimum.params = polished;
        optimum.value = value;
        optimum.convergence = Convergence::Converged;
    }
}

/// L-BFGS from `u0`: the best point seen, how it ended and the evaluations used.
fn run_lbfgs(free: FreeProblem<'_>, u0: Vec<f64>, max_iters: u64) -> (Vec<f64>, Convergence, u64) {
    let solver = match LBFGS::new(MoreThuenteLineSearch::new(), 10)
        .with_tolerance_grad(1e-12)
        .and_then(|s| s.with_tolerance_cost(1e-15))
    {
        Ok(solver) => solver,
        Err(e) => return (u0, Convergence::Stopped(e.to_string()), 0),
    };
    match Executor::new(free, solver)
        .configure(|s| s.param(u0.clone()).max_iters(max_iters))
        .run()
    {
        Ok(result) => {
            let state = result.state();
            let evaluations = state.get_func_counts().values().sum();
            let best = state.get_best_param().cloned().unwrap_or(u0);
            let convergence = match state.get_termination_status() {
                TerminationStatus::Terminated(TerminationReason::MaxItersReached) => {
                    Convergence::MaxIterations
                }
                TerminationStatus::Terminated(TerminationReason::SolverConverged) => {
                    Convergence::Converged
                }
                other => Convergence::Stopped(format!("{other:?}")),
            };
            (best, convergence, evaluations)
        }
        // A failed line search (e.g. into a non-finite region) still leaves u0 valid.
        Err(e) => (u0, Convergence::Stopped(e.to_string()), 0),
    }
}

/// Damped Gauss-Newton on the residuals with IRLS weights (Huber and asymmetric
/// penalties become weighted least squares around the current point); steps are
/// clamped into the bounds and accepted only when the objective decreases.
pub fn polish(
    problem: &Problem,
    counts: &[f64],
    transform: &Transform,
    start: &[f64],
    max_iters: usize,
) -> (Vec<f64>, f64, usize) {
    let free = transform.free_indices();
    let mut p = start.to_vec();
    let mut value = problem.value(&p, counts, None);
    let mut mu = 1e-3;
    let mut evaluations = 0;
    for _ in 0..max_iters {
        let Some((r, jr, w)) = problem.residuals(&p, counts, &free) else {
            break;
        };
        let k = free.len();
        let n = r.len();
        let irls: Vec<f64> = r
            .iter()
            .zip(&w)
            .map(|(&ri, &wi)| {
                let robust = match problem.objective.penalty {
                    Penalty::Huber { delta } if ri.abs() > delta => delta / ri.abs(),
                    _ => 1.0,
                };
                let asym = if ri < 0.0 {
                    problem.objective.over_prediction_weight
                } else {
                    1.0
                };
                wi * robust * asym
            })
            .collect();
        let j = DMatrix::from_row_slice(n, k, &jr);
        let wj = DMatrix::from_fn(n, k, |i, c| irls[i] * j[(i, c)]);
        let jtwj = j.transpose() * &wj;
        let g = wj.transpose() * DVector::from_vec(r.clone());
        let mut improved = false;
        for _ in 0..12 {
            let mut a = jtwj.clone();
            for c in 0..k {
                a[(c, c)] += mu * jtwj[(c, c)].max(1e-12);
            }
            let Some(step) = a.lu().solve(&(-&g)) else {
                break;
            };
            let mut candidate = p.clone();
            for (c, &jdx) in free.iter().enumerate() {
                let bound = transform.bound(jdx);
                candidate[jdx] = (p[jdx] + step[c]).clamp(bound.lower, bound.upper);
            }
            evaluations += 1;
            let candidate_value = problem.value(&candidate, counts, None);
            if candidate_value < value {
                let relative = (value - candidate_value) / value.abs().max(1e-300);
                p = candidate;
                value = candidate_value;
                mu = (mu / 3.0).max(1e-12);
                improved = relative > 1e-13;
                break;
            }
            mu *= 4.0;
        }
        if !improved {
            break;
        }
    }
    (p, value, evaluations)
}

/// How many of the best multi-start optima are polished.
const POLISHED: usize = 4;

/// Runs L-BFGS from every start on `settings.threads` threads, then polishes the best
/// few; returns all optima, the best first.
pub fn multi_start(
    problem: &Problem,
    counts: &[f64],
    transform: &Transform,
    starts: &[Vec<f64>],
    settings: &Settings,
) -> Vec<Optimum> {
    let threads = settings.threads.max(1).min(starts.len().max(1));
    let chunk = starts.len().div_ceil(threads).max(1);
    let mut results: Vec<Optimum> = std::thread::scope(|scope| {
        let handles: Vec<_> = starts
            .chunks(chunk)
            .map(|chunk| {
                let unpolished = Settings {
                    polish: false,
                    ..*settings
                };
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|s| minimise(problem, counts, transform, s, &unpolished))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    results.sort_by(|a, b| a.value.total_cmp(&b.value));
    for optimum in results.iter_mut().take(POLISHED) {
        polish_optimum(problem, counts, transform, optimum, settings.polish_iters);
    }
    results.sort_by(|a, b| a.value.total_cmp(&b.value));
    results
}

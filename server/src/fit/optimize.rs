//! Multi-start L-BFGS (argmin, More-Thuente line search) in the reparametrised space,
//! followed by a damped Gauss-Newton (Levenberg-Marquardt) polish with iteratively
//! reweighted least squares, which handles Huber and asymmetric penalties too.
//!
//! Architecture invariant: `fit` is the only module that knows argmin.

use std::cell::{Cell, RefCell};

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
    /// The local optimiser of [`minimise`] (and so of the bootstrap refits).
    pub local: Local,
}

/// Which local optimiser [`minimise`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Local {
    /// argmin's L-BFGS, then a Gauss-Newton polish.
    Lbfgs,
    /// Gauss-Newton (IRLS) alone: few evaluations for least-squares-like objectives
    /// started near the optimum (the bootstrap of a staged fit).
    GaussNewton,
    /// Gauss-Newton in stretches that stop once one no longer pays
    /// ([`gauss_newton_stretched`]): for laws with a flat ridge (the bootstrap of a
    /// screened fit).
    GaussNewtonStretched,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_iters: 1000,
            polish: true,
            polish_iters: 100,
            threads: 2,
            local: Local::Lbfgs,
        }
    }
}

/// The problem in the optimiser's free coordinates. Each evaluation computes the value
/// and the gradient together and keeps them: the line search asks for the cost and then
/// the gradient at the same point, and for laws like the multi-power law a value costs
/// as much as a value with its gradient.
struct FreeProblem<'a> {
    problem: &'a Problem,
    counts: &'a [f64],
    transform: &'a Transform,
    /// The last point evaluated, its value and gradient.
    cache: RefCell<Option<(Vec<f64>, f64, Vec<f64>)>>,
    evaluations: Cell<u64>,
}

impl<'a> FreeProblem<'a> {
    fn new(problem: &'a Problem, counts: &'a [f64], transform: &'a Transform) -> Self {
        Self {
            problem,
            counts,
            transform,
            cache: RefCell::new(None),
            evaluations: Cell::new(0),
        }
    }

    fn value_and_grad(&self, u: &[f64]) -> (f64, Vec<f64>) {
        if let Some((cu, value, grad)) = self.cache.borrow().as_ref() {
            if cu.as_slice() == u {
                return (*value, grad.clone());
            }
        }
        self.evaluations.set(self.evaluations.get() + 1);
        let (p, dp) = self.transform.to_params(u);
        let mut g = vec![0.0; p.len()];
        let value = self.problem.value(&p, self.counts, Some(&mut g));
        let free = self.transform.free_indices();
        let grad: Vec<f64> = free.iter().zip(&dp).map(|(&j, &d)| g[j] * d).collect();
        *self.cache.borrow_mut() = Some((u.to_vec(), value, grad.clone()));
        (value, grad)
    }
}

impl CostFunction for &FreeProblem<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, u: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        Ok(self.value_and_grad(u).0)
    }
}

impl Gradient for &FreeProblem<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, u: &Vec<f64>) -> Result<Vec<f64>, argmin::core::Error> {
        let (value, grad) = self.value_and_grad(u);
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
    match settings.local {
        Local::GaussNewton => {
            return gauss_newton(problem, counts, transform, start, settings.polish_iters);
        }
        Local::GaussNewtonStretched => {
            let first = gauss_newton(problem, counts, transform, start, STRETCH);
            let mut o =
                gauss_newton_stretched(problem, counts, transform, first, settings.polish_iters);
            o.start = Some(start.to_vec());
            return o;
        }
        Local::Lbfgs => {}
    }
    let free = FreeProblem::new(problem, counts, transform);
    let u0 = transform.to_free(start);
    let (best_u, convergence) = if u0.is_empty() {
        (u0, Convergence::Converged)
    } else {
        run_lbfgs(&free, u0, settings.max_iters)
    };
    let evaluations = free.evaluations.get() + 1;
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

/// L-BFGS from `u0`: the best point seen and how it ended. (Evaluations are counted by
/// the problem itself: argmin's counters miss the line search's calls.)
fn run_lbfgs(free: &FreeProblem<'_>, u0: Vec<f64>, max_iters: u64) -> (Vec<f64>, Convergence) {
    let solver = match LBFGS::new(MoreThuenteLineSearch::new(), 10)
        .with_tolerance_grad(1e-12)
        .and_then(|s| s.with_tolerance_cost(1e-15))
    {
        Ok(solver) => solver,
        Err(e) => return (u0, Convergence::Stopped(e.to_string())),
    };
    match Executor::new(free, solver)
        .configure(|s| s.param(u0.clone()).max_iters(max_iters))
        .run()
    {
        Ok(result) => {
            let state = result.state();
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
            (best, convergence)
        }
        // A failed line search (e.g. into a non-finite region) still leaves u0 valid.
        Err(e) => (u0, Convergence::Stopped(e.to_string())),
    }
}

/// Damped Gauss-Newton on the residuals with IRLS weights (Huber and asymmetric
/// penalties become weighted least squares around the current point; the prior's rows
/// stay squared); steps are clamped into the bounds and accepted only when the objective
/// decreases. Returns the point, its objective and the law evaluations used.
pub fn polish(
    problem: &Problem,
    counts: &[f64],
    transform: &Transform,
    start: &[f64],
    max_iters: usize,
) -> (Vec<f64>, f64, usize) {
    let o = gauss_newton(problem, counts, transform, start, max_iters);
    (o.params, o.value, o.evaluations as usize)
}

/// [`polish`] as a local optimiser of its own: converged when a step no longer lowers
/// the objective by a relative 1e-13.
pub fn gauss_newton(
    problem: &Problem,
    counts: &[f64],
    transform: &Transform,
    start: &[f64],
    max_iters: usize,
) -> Optimum {
    let free = transform.free_indices();
    let mut p = start.to_vec();
    let mut value = problem.value(&p, counts, None);
    let mut mu = 1e-3;
    let mut evaluations = 1;
    let mut stopped = false;
    for _ in 0..max_iters {
        evaluations += 1;
        let Some(res) = problem.residuals(&p, counts, &free) else {
            stopped = true;
            break;
        };
        let k = free.len();
        let n = res.r.len();
        let irls: Vec<f64> = (0..n)
            .map(|i| {
                let (ri, wi) = (res.r[i], res.weights[i]);
                if i >= res.n_data {
                    return wi;
                }
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
        let j = DMatrix::from_row_slice(n, k, &res.jac);
        let wj = DMatrix::from_fn(n, k, |i, c| irls[i] * j[(i, c)]);
        let jtwj = j.transpose() * &wj;
        let g = wj.transpose() * DVector::from_column_slice(&res.r);
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
            stopped = true;
            break;
        }
    }
    let convergence = if stopped {
        Convergence::Converged
    } else {
        Convergence::MaxIterations
    };
    Optimum {
        start: Some(start.to_vec()),
        params: p,
        value,
        convergence,
        evaluations,
    }
}

/// How many of the best multi-start optima are polished.
const POLISHED: usize = 4;

/// Grids larger than this are screened: the objective is evaluated at every start and
/// L-BFGS runs from the [`SCREEN_KEEP`] best. On Hoffmann's 4,500-point Chinchilla grid
/// this reaches the same optimum as running all starts (tested on the Epoch data), about
/// 17 times faster: most starts descend into the same basin.
pub const SCREEN_ABOVE: usize = 1000;
pub const SCREEN_KEEP: usize = 256;

/// The [`SCREEN_KEEP`] starts with the lowest objective (non-finite ones dropped).
fn screen(problem: &Problem, counts: &[f64], starts: &[Vec<f64>], threads: usize) -> Vec<Vec<f64>> {
    let chunk = starts.len().div_ceil(threads.max(1)).max(1);
    let mut scored: Vec<(f64, &Vec<f64>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = starts
            .chunks(chunk)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|s| (problem.value(s, counts, None), s))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    scored.retain(|(v, _)| v.is_finite());
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    scored
        .into_iter()
        .take(SCREEN_KEEP)
        .map(|(_, s)| s.clone())
        .collect()
}

/// Runs L-BFGS from every start (or, for a large grid, from the best of a screening) on
/// `settings.threads` threads, then polishes the best few; returns all optima, the best
/// first.
pub fn multi_start(
    problem: &Problem,
    counts: &[f64],
    transform: &Transform,
    starts: &[Vec<f64>],
    settings: &Settings,
) -> Vec<Optimum> {
    let screened;
    let starts = if starts.len() > SCREEN_ABOVE {
        screened = screen(problem, counts, starts, settings.threads);
        &screened[..]
    } else {
        starts
    };
    problem.control.begin("starts", starts.len());
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
                        .map(|s| {
                            let optimum = minimise(problem, counts, transform, s, &unpolished);
                            problem.control.advance();
                            optimum
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
    results.sort_by(|a, b| a.value.total_cmp(&b.value));
    for optimum in results.iter_mut().take(POLISHED) {
        polish_optimum(problem, counts, transform, optimum, settings.polish_iters);
    }
    results.sort_by(|a, b| a.value.total_cmp(&b.value));
    results
}

/// Gauss-Newton from every start, screened: `short` iterations from each (on `threads`
/// threads), then the `keep` best continued for up to `long` more, in stretches of
/// [`STRETCH`] iterations, until a stretch lowers the objective by less than
/// [`STRETCH_GAIN`] (relative) or Gauss-Newton stops by itself (both count as converged).
/// Laws with a flat ridge (the FSL's `c2 c3` toward `c3`'s bound, the convex bound's
/// gradient-norm terms) make every run creep to its iteration cap by gains of rounding
/// size; screening spends iterations only on the runs that matter, and the stretch rule
/// stops a creep that no longer changes the fit. Returns all optima, the best first.
pub fn screened_gauss_newton(
    problem: &Problem,
    counts: &[f64],
    transform: &Transform,
    starts: &[Vec<f64>],
    (short, long, keep): (usize, usize, usize),
    threads: usize,
) -> Vec<Optimum> {
    let run_all = |from: &[Optimum], each: &(dyn Fn(&Optimum) -> Optimum + Sync)| {
        let threads = threads.max(1).min(from.len().max(1));
        let chunk = from.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let handles: Vec<_> = from
                .chunks(chunk)
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|o| {
                                let o = each(o);
                                problem.control.advance();
                                o
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect::<Vec<_>>()
        })
    };
    problem
        .control
        .begin("starts", starts.len() + keep.min(starts.len()));
    let seeds: Vec<Optimum> = starts
        .iter()
        .map(|s| Optimum {
            start: Some(s.clone()),
            params: s.clone(),
            value: f64::NAN,
            convergence: Convergence::MaxIterations,
            evaluations: 0,
        })
        .collect();
    let mut first = run_all(&seeds, &|o| {
        gauss_newton(problem, counts, transform, &o.params, short)
    });
    first.sort_by(|a, b| a.value.total_cmp(&b.value));
    let n_best = first
        .iter()
        .take(keep)
        .filter(|o| o.value.is_finite())
        .count();
    let rest = first.split_off(n_best);
    let continue_one =
        |o: &Optimum| gauss_newton_stretched(problem, counts, transform, o.clone(), long);
    let mut out = run_all(&first, &continue_one);
    out.extend(rest);
    out.sort_by(|a, b| a.value.total_cmp(&b.value));
    out
}

/// Continues Gauss-Newton from optimum `o` for up to `long` iterations in stretches of
/// [`STRETCH`], until one lowers the objective by less than [`STRETCH_GAIN`] (relative) or
/// stops by itself (both: converged); evaluations add up.
pub fn gauss_newton_stretched(
    problem: &Problem,
    counts: &[f64],
    transform: &Transform,
    mut o: Optimum,
    long: usize,
) -> Optimum {
    if o.convergence == Convergence::Converged {
        return o;
    }
    let mut used = 0;
    while used < long {
        let next = gauss_newton(problem, counts, transform, &o.params, STRETCH);
        used += STRETCH;
        let gain = (o.value - next.value) / o.value.abs().max(f64::MIN_POSITIVE);
        o.evaluations += next.evaluations;
        o.params = next.params;
        o.value = next.value;
        o.convergence = next.convergence.clone();
        if next.convergence == Convergence::Converged || gain <= STRETCH_GAIN {
            o.convergence = Convergence::Converged;
            break;
        }
    }
    o
}

/// Iterations per stretch of [`gauss_newton_stretched`].
pub const STRETCH: usize = 10;
/// Relative objective decrease below which a stretch ends the continuation.
pub const STRETCH_GAIN: f64 = 1e-8;

/// Solves the parameters `linear` (on which every prediction depends affinely, e.g.
/// `L0`, `A`, `B` of the multi-power law) at the other parameters of `p`: one law
/// evaluation with its Jacobian gives the prediction as an exact affine function of
/// them, then Gauss-Newton with IRLS weights minimises the objective over them in
/// memory. Returns the new parameters and their objective, or `None` where the law
/// cannot be evaluated. Used to turn a grid over the nonlinear parameters into starts.
pub fn solve_linear(
    problem: &Problem,
    counts: &[f64],
    transform: &Transform,
    p: &[f64],
    linear: &[usize],
) -> Option<(Vec<f64>, f64)> {
    let linear: Vec<usize> = linear
        .iter()
        .copied()
        .filter(|&j| !transform.is_fixed(j))
        .collect();
    let k = linear.len();
    let n_params = problem.n_params();
    // Rows of (observed, prediction at p, d prediction / d linear, weight).
    let (mut obs, mut pred, mut jac, mut w) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for block in &problem.blocks {
        let (predicted, j) = block.law.predict_with_jacobian(p).ok()?;
        for i in 0..block.observed.len() {
            let weight = block.weights[i] * counts[block.group_of[i]];
            if weight == 0.0 {
                continue;
            }
            obs.push(block.observed[i]);
            pred.push(predicted[i]);
            w.push(weight);
            jac.extend(linear.iter().map(|&c| j[i * n_params + c]));
        }
    }
    let objective = problem.objective;
    let mut delta = DVector::zeros(k);
    let score = |delta: &DVector<f64>| -> f64 {
        (0..obs.len())
            .map(|i| {
                let q = pred[i] + (0..k).map(|c| jac[i * k + c] * delta[c]).sum::<f64>();
                match objective.residual(obs[i], q) {
                    Some(r) => w[i] * objective.rho(r).0,
                    None => f64::INFINITY,
                }
            })
            .sum()
    };
    let mut value = score(&delta);
    for _ in 0..30 {
        let mut a = DMatrix::<f64>::zeros(k, k);
        let mut g = DVector::<f64>::zeros(k);
        for i in 0..obs.len() {
            let q = pred[i] + (0..k).map(|c| jac[i * k + c] * delta[c]).sum::<f64>();
            let (r, slope) = match (objective.residual(obs[i], q), objective.scale) {
                (Some(r), super::objective::Scale::Log) => (r, -1.0 / q),
                (Some(r), super::objective::Scale::Raw) => (r, -1.0),
                (None, _) => {
                    // Outside the log domain: fall back to relative raw residuals.
                    ((obs[i] - q) / obs[i], -1.0 / obs[i])
                }
            };
            let robust = match objective.penalty {
                Penalty::Huber { delta } if r.abs() > delta => delta / r.abs(),
                _ => 1.0,
            };
            let asym = if r < 0.0 {
                objective.over_prediction_weight
            } else {
                1.0
            };
            let wi = w[i] * robust * asym;
            for a_ in 0..k {
                let ja = slope * jac[i * k + a_];
                g[a_] += wi * ja * r;
                for b_ in 0..k {
                    a[(a_, b_)] += wi * ja * slope * jac[i * k + b_];
                }
            }
        }
        for c in 0..k {
            a[(c, c)] += 1e-12 * a[(c, c)].abs().max(1e-300);
        }
        let Some(step) = a.lu().solve(&(-&g)) else {
            break;
        };
        // Halve the step until the objective does not increase.
        let mut t = 1.0;
        let mut accepted = false;
        for _ in 0..30 {
            let candidate = &delta + &step * t;
            let v = score(&candidate);
            if v <= value {
                let done = value - v <= 1e-14 * value.abs();
                delta = candidate;
                value = v;
                accepted = !done;
                break;
            }
            t /= 2.0;
        }
        if !accepted {
            break;
        }
    }
    let mut q = p.to_vec();
    for (c, &j) in linear.iter().enumerate() {
        let bound = transform.bound(j);
        q[j] = (p[j] + delta[c]).clamp(bound.lower, bound.upper);
    }
    let value = problem.value(&q, counts, None);
    Some((q, value))
}

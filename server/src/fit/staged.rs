//! The two-stage fit of laws whose full form is weakly identified by a few curves (the
//! multi-power law's default):
//!
//! 1. **Simplified model.** Some parameters are held at values that give a simpler law
//!    (for the multi-power law `C = 1e4`, `beta = 5`: the loss drop saturates at once,
//!    `G = 1`, so `LD(t) = B (eta_0 - eta_t)`). From each start of the grid over the
//!    nonlinear parameters the linear ones are solved by least squares
//!    ([`solve_linear`]), then Gauss-Newton finishes; the best fit wins.
//! 2. **Full model with a prior.** Gauss-Newton on the full law plus a Gaussian prior
//!    ([`super::prior`]) centred on the simplified fit's value for some parameters (`B`)
//!    and on fixed values for others (`C = 1`, `beta = gamma = 0.5`), starting there.
//!    The strength is relative: `strength = relative * (stage-one objective)`, so it
//!    does not depend on the number of points or the noise level. It can instead be
//!    chosen per fit by forecast validation on the fitted runs ([`super::crossval`]).
//!
//! Why: on three curves the full multi-power law's `B`, `C`, `beta`, `gamma` trade off
//! (correlations near 1); converging them all lowers the training objective but worsens
//! the forecast of other schedules (25M: 0.00137 instead of the published 0.00110).
//! The authors' recipe (a simplified fit, then a short early-stopped refinement from
//! `C = 1`, `beta = gamma = 0.5`) regularises implicitly; this is the same idea made
//! explicit.

use serde::Serialize;

use super::crossval::{CrossValidation, choose_strength};
use super::optimize::{Optimum, gauss_newton, solve_linear};
use super::prior::{Prior, PriorTerm};
use super::problem::Problem;
use super::transform::{Bound, Transform};

/// A law's two-stage plan.
#[derive(Clone, Debug, Serialize)]
pub struct Staged {
    /// What the simplified model is, in words.
    pub simplified_form: &'static str,
    /// Stage one holds these parameters at these values.
    pub simplified: Vec<(usize, f64)>,
    /// Stage two starts these parameters here (the rest from stage one).
    pub second_start: Vec<(usize, f64)>,
    /// The prior of stage two; the centers of `centers_from_stage_one` are replaced by
    /// the stage-one values.
    pub prior: Vec<PriorTerm>,
    pub centers_from_stage_one: Vec<usize>,
    /// The default relative strength.
    pub relative_strength: f64,
}

/// What the staged fit did (for the report).
#[derive(Clone, Debug, Serialize)]
pub struct StagedOutcome {
    pub simplified_form: &'static str,
    pub stage_one_params: Vec<f64>,
    pub stage_one_objective: f64,
    pub relative_strength: f64,
    pub prior: Prior,
    /// Distinct stage-one starts.
    pub n_starts: usize,
    pub cross_validation: Option<CrossValidation>,
    #[serde(skip)]
    pub optimum: Optimum,
    pub evaluations: u64,
}

/// Relative strengths tried by cross-validation (strongest first; 0 = no prior).
pub const CV_GRID: [f64; 10] = [100.0, 30.0, 10.0, 3.0, 1.0, 0.3, 0.1, 0.03, 0.01, 0.0];

#[allow(clippy::too_many_arguments)]
pub fn fit(
    plan: &Staged,
    problem: &Problem,
    bounds: &[Bound],
    fixed: &[Option<f64>],
    starts: &[Vec<f64>],
    linear: &[usize],
    relative: Option<f64>,
    cross_validate: bool,
    iters: usize,
    threads: usize,
) -> Option<StagedOutcome> {
    let counts = problem.unit_counts();
    let mut plain = problem.clone();
    plain.prior = Prior::default();

    // Stage one: the simplified model, the user's fixed values taking precedence.
    let mut fixed_one = fixed.to_vec();
    for &(j, v) in &plan.simplified {
        fixed_one[j] = fixed_one[j].or(Some(v));
    }
    let t1 = Transform::new(bounds.to_vec(), fixed_one.clone());
    let mut seen: Vec<Vec<f64>> = Vec::new();
    for s in starts {
        // Only the parameters that are neither solved nor held define a start.
        let mut key = s.clone();
        for (j, k) in key.iter_mut().enumerate() {
            if linear.contains(&j) || fixed_one[j].is_some() {
                *k = 0.0;
            }
        }
        if !seen.contains(&key) {
            seen.push(key);
        }
    }
    let unique: Vec<Vec<f64>> = seen
        .iter()
        .map(|key| {
            let original = starts
                .iter()
                .find(|s| {
                    s.iter()
                        .enumerate()
                        .all(|(j, v)| linear.contains(&j) || fixed_one[j].is_some() || *v == key[j])
                })
                .cloned()
                .unwrap_or_else(|| key.clone());
            original
                .iter()
                .enumerate()
                .map(|(j, v)| fixed_one[j].unwrap_or(*v))
                .collect()
        })
        .collect();
    plain.control.begin("starts", unique.len());
    let threads = threads.max(1).min(unique.len().max(1));
    let chunk = unique.len().div_ceil(threads).max(1);
    let (plain_ref, t1_ref, counts_ref) = (&plain, &t1, &counts);
    let mut firsts: Vec<Optimum> = std::thread::scope(|scope| {
        let handles: Vec<_> = unique
            .chunks(chunk)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|s| {
                            plain_ref.control.advance();
                            let (solved, _) =
                                solve_linear(plain_ref, counts_ref, t1_ref, s, linear)?;
                            let mut o = gauss_newton(plain_ref, counts_ref, t1_ref, &solved, iters);
                            o.evaluations += 1;
                            o.start = Some(s.clone());
                            Some(o)
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
    firsts.sort_by(|a, b| a.value.total_cmp(&b.value));
    let mut evaluations: u64 = firsts.iter().map(|o| o.evaluations).sum();
    let first = firsts.into_iter().find(|o| o.value.is_finite())?;

    // Stage two: the full law with the prior, from the simplified fit.
    let t2 = Transform::new(bounds.to_vec(), fixed.to_vec());
    let mut start = first.params.clone();
    for &(j, v) in &plan.second_start {
        if fixed[j].is_none() {
            start[j] = v;
        }
    }
    let mut prior = Prior {
        terms: plan
            .prior
            .iter()
            .filter(|t| fixed[t.index].is_none())
            .cloned()
            .collect(),
        strength: 0.0,
    };
    for t in &mut prior.terms {
        if plan.centers_from_stage_one.contains(&t.index) {
            t.center = first.params[t.index];
        }
    }
    let scale = first.value.max(f64::MIN_POSITIVE);
    let mut full = plain.clone();
    full.prior = prior.clone();
    let mut cross_validation = None;
    let mut relative = relative.unwrap_or(plan.relative_strength).max(0.0);
    if cross_validate {
        let grid: Vec<f64> = CV_GRID.iter().map(|r| r * scale).collect();
        if let Some(mut cv) = choose_strength(&full, &t2, &start, &grid, iters, threads) {
            evaluations += cv.evaluations;
            relative = cv.chosen / scale;
            // Report the table in relative units.
            for s in &mut cv.strengths {
                *s /= scale;
            }
            cv.chosen = relative;
            cross_validation = Some(cv);
        }
    }
    full.prior.strength = relative * scale;
    let mut optimum = gauss_newton(&full, &counts, &t2, &start, iters);
    evaluations += optimum.evaluations;
    optimum.evaluations = evaluations;
    optimum.start = Some(start);
    prior.strength = full.prior.strength;
    Some(StagedOutcome {
        simplified_form: plan.simplified_form,
        stage_one_params: first.params,
        stage_one_objective: first.value,
        relative_strength: relative,
        prior,
        n_starts: unique.len(),
        cross_validation,
        optimum,
        evaluations,
    })
}

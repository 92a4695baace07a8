//! Planning from a Chinchilla or Kaplan N-D fit: the compute-optimal (N, D) for budgets C
//! (`C = 6 N D`) and the loss of proposed (N, D), each with bootstrap percentile intervals
//! (every bootstrap parameter vector gives its own optimum; the interval is over those).
//!
//! Chinchilla uses the closed form of `shared::laws::chinchilla`; Kaplan's `L(N, D)` has
//! none, so its optimum is a golden-section search over log N (the loss along `C = 6 N D`
//! is a sum of two exponentials in log N, hence unimodal).

use shared::api::{Estimate, FitReport, OptimalPoint, PlanRequest, PlanResponse, ProposedPoint};
use shared::laws::chinchilla::Chinchilla;
use shared::laws::kaplan::KaplanND;

use super::FitError;
use super::laws::LawName;
use shared::display::quantile;

/// Most budgets plus proposals in one request.
pub const MAX_POINTS: usize = 1_000;

#[derive(Clone, Copy)]
enum Model {
    Chinchilla(Chinchilla),
    KaplanNd(KaplanND),
}

impl Model {
    fn new(law: LawName, p: &[f64]) -> Result<Self, FitError> {
        match (law, p) {
            (LawName::Chinchilla, &[a, b, e, alpha, beta]) => {
                Ok(Self::Chinchilla(Chinchilla::from_log_params([
                    a, b, e, alpha, beta,
                ])))
            }
            (LawName::KaplanNd, &[ln_nc, ln_dc, alpha_n, alpha_d]) => {
                Ok(Self::KaplanNd(KaplanND {
                    n_c: ln_nc.exp(),
                    d_c: ln_dc.exp(),
                    alpha_n,
                    alpha_d,
                }))
            }
            (LawName::Chinchilla | LawName::KaplanNd, _) => Err(FitError::Input(format!(
                "the fit has {} parameters, not those of {}",
                p.len(),
                law.as_str()
            ))),
            _ => Err(FitError::Input(format!(
                "{} has no (N, D) plan: use a chinchilla or kaplan-nd fit",
                law.as_str()
            ))),
        }
    }

    fn loss(&self, n: f64, d: f64) -> f64 {
        match self {
            Self::Chinchilla(m) => m.loss(n, d),
            Self::KaplanNd(m) => m.loss(n, d),
        }
    }

    /// `(N_opt, D_opt)` for `c` FLOPs.
    fn optimum(&self, c: f64) -> (f64, f64) {
        match self {
            Self::Chinchilla(m) => (m.n_opt(c), m.d_opt(c)),
            Self::KaplanNd(m) => {
                // N in [1, C/6] so that D >= 1.
                let along = |ln_n: f64| {
                    let n = ln_n.exp();
                    m.loss(n, c / (6.0 * n))
                };
                let (mut lo, mut hi) = (0.0, (c / 6.0).ln().max(0.0));
                let r = (5f64.sqrt() - 1.0) / 2.0;
                while hi - lo > 1e-10 * hi.abs().max(1.0) {
                    let (x1, x2) = (hi - r * (hi - lo), lo + r * (hi - lo));
                    if along(x1) <= along(x2) {
                        hi = x2;
                    } else {
                        lo = x1;
                    }
                }
                let n = ((lo + hi) / 2.0).exp();
                (n, c / (6.0 * n))
            }
        }
    }
}

/// Answers `request` from a done fit's parameters and report.
pub fn plan(
    law: LawName,
    params: &[f64],
    report: &FitReport,
    request: &PlanRequest,
) -> Result<PlanResponse, FitError> {
    let positive =
        |what: &str, values: &[f64]| match values.iter().position(|v| !(v.is_finite() && *v > 0.0))
        {
            Some(i) => Err(FitError::Input(format!(
                "{what}[{i}] = {} is not a positive number",
                values[i]
            ))),
            None => Ok(()),
        };
    positive("compute", &request.compute)?;
    positive("n", &request.n)?;
    positive("d", &request.d)?;
    if request.n.len() != request.d.len() {
        return Err(FitError::Input(format!(
            "{} values of n but {} of d: give one d per n",
            request.n.len(),
            request.d.len()
        )));
    }
    if request.compute.is_empty() && request.n.is_empty() {
        return Err(FitError::Input(
            "nothing to plan: give `compute` budgets and/or `n` with `d`".into(),
        ));
    }
    if request.compute.len() + request.n.len() > MAX_POINTS {
        return Err(FitError::Input(format!(
            "more than {MAX_POINTS} budgets and proposals in one request"
        )));
    }
    let central = Model::new(law, params)?;
    let samples: Vec<Model> = report
        .bootstrap
        .as_ref()
        .map(|b| {
            b.samples
                .iter()
                .filter_map(|p| Model::new(law, p).ok())
                .collect()
        })
        .unwrap_or_default();
    let tail = (1.0 - report.ci_level) / 2.0;
    let estimate = |f: &dyn Fn(&Model) -> f64| {
        let spread: Vec<f64> = samples.iter().map(f).collect();
        Estimate {
            value: f(&central),
            lower: quantile(&spread, tail),
            upper: quantile(&spread, 1.0 - tail),
        }
    };
    let optimal = request
        .compute
        .iter()
        .map(|&c| OptimalPoint {
            compute: c,
            n_opt: estimate(&|m| m.optimum(c).0),
            d_opt: estimate(&|m| m.optimum(c).1),
            tokens_per_param: estimate(&|m| {
                let (n, d) = m.optimum(c);
                d / n
            }),
            loss: estimate(&|m| {
                let (n, d) = m.optimum(c);
                m.loss(n, d)
            }),
        })
        .collect();
    let proposed = request
        .n
        .iter()
        .zip(&request.d)
        .map(|(&n, &d)| ProposedPoint {
            n,
            d,
            compute: 6.0 * n * d,
            loss: estimate(&|m| m.loss(n, d)),
        })
        .collect();
    Ok(PlanResponse {
        law: law.as_str().to_string(),
        ci_level: report.ci_level,
        resamples: samples.len(),
        optimal,
        proposed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kaplan_search_finds_the_minimum_along_the_budget() {
        let m = Model::KaplanNd(KaplanND::PUBLISHED);
        let c = 1e21;
        let (n, d) = m.optimum(c);
        assert!((6.0 * n * d / c - 1.0).abs() < 1e-12);
        let best = m.loss(n, d);
        for f in [0.5, 0.9, 1.1, 2.0] {
            assert!(m.loss(n * f, d / f) >= best, "factor {f}");
        }
    }

    #[test]
    fn chinchilla_optimum_is_the_closed_form() {
        let h = Chinchilla::HOFFMANN;
        let m = Model::Chinchilla(h);
        let (n, d) = m.optimum(5.76e23);
        assert_eq!((n, d), (h.n_opt(5.76e23), h.d_opt(5.76e23)));
        // And it is a minimum of the loss along the budget.
        for f in [0.8, 1.25] {
            assert!(m.loss(n * f, d / f) > m.loss(n, d));
        }
    }
}

//! Start grids and data bounds of the schedule laws whose good starting values depend on
//! the scales of the fitted runs (the FSL's `c4`, the convex bound's gradient norms). Each
//! grid follows a rule stated here from the fitted runs' peak LR, LR area and length only
//! (never from held-out runs); the parameters that enter the prediction affinely are then
//! solved by least squares at every start (`Prepared::solve_linear_starts`).

use std::collections::BTreeMap;

use super::laws::CurveRun;

/// The fitted runs' scales the rules use.
#[derive(Clone, Copy, Debug)]
pub struct Scales {
    /// Lowest fitted loss.
    pub min_loss: f64,
    /// Largest learning rate of the fitted runs.
    pub peak_lr: f64,
    /// Largest LR area (sum of the LRs as given) at a run's last fitted point.
    pub area_end: f64,
    /// Largest last fitted step (1-based count of updates).
    pub t_end: f64,
}

impl Scales {
    /// From the fitted runs (`None` when there is none or a scale is not positive).
    pub fn of<'a>(runs: impl Iterator<Item = &'a CurveRun>) -> Option<Self> {
        let mut s = Self {
            min_loss: f64::INFINITY,
            peak_lr: 0.0,
            area_end: 0.0,
            t_end: 0.0,
        };
        for run in runs {
            s.min_loss = run.loss.iter().copied().fold(s.min_loss, f64::min);
            s.peak_lr = run.lrs.iter().copied().fold(s.peak_lr, f64::max);
            if let Some(&last) = run.steps.iter().max() {
                let area: f64 = run.lrs[..=last.min(run.lrs.len() - 1)].iter().sum();
                s.area_end = s.area_end.max(area);
                s.t_end = s.t_end.max((last + 1) as f64);
            }
        }
        let ok = s.min_loss.is_finite() && s.min_loss > 0.0 && s.peak_lr > 0.0 && s.area_end > 0.0;
        ok.then_some(s)
    }
}

/// FSL `[L0, c1, c2, c3, c4, s, gamma]`: `c4 = 1 / (peak LR x n)` for `n` in {10, 100,
/// 1000} (a drop realised over about 10, 100 or 1000 steps at the peak LR), `s` in
/// {0.3, 0.6} (the range of the LR-area exponents of the momentum and multi-power laws),
/// `gamma` in {0.5, 1}, `c3` in {0, 1}; `L0, c1, c2` solved at each start.
pub fn fsl_grid(sc: &Scales) -> (Vec<Vec<f64>>, String) {
    let mut starts = Vec::new();
    for n in [10.0, 100.0, 1000.0] {
        for s in [0.3, 0.6] {
            for gamma in [0.5, 1.0] {
                for c3 in [0.0, 1.0] {
                    let c4 = 1.0 / (sc.peak_lr * n);
                    starts.push(vec![sc.min_loss, 0.5, 100.0, c3, c4, s, gamma]);
                }
            }
        }
    }
    let text = format!(
        "rule from the fitted runs' peak LR {:e}: c4 = 1/(peak LR x n), n in {{10, 100, 1000}} steps; s in {{0.3, 0.6}}; gamma in {{0.5, 1}}; c3 in {{0, 1}}; L0, c1, c2 solved by least squares at each start ({} starts)",
        sc.peak_lr,
        starts.len()
    );
    (starts, text)
}

/// Convex bound `[D, G1, G2, A1, A2, B, C, M]`. `D = 1` ([`convex_gauge`]);
/// gradient norms in units of `g0 = 1 / sqrt(peak LR x area_end)`, the `G` at which the
/// noise term `eta G^2 / 2` equals the distance term `D^2 / (2 P)` at the end of the longest
/// fitted run: `B` in `g0 x {0.3, 1, 3}`; `G1` in {0, g0} decaying over a third of that run
/// (`A1 = -3 / t_end`); `(G2, A2)` in {(0, 0), (g0, -0.5), (g0, 0.5)}; `C`, `M` solved at each
/// start (from `C` = half the lowest loss and `M = 1`, the reference's initial values).
pub fn convex_grid(sc: &Scales) -> (Vec<Vec<f64>>, String) {
    let g0 = 1.0 / (sc.peak_lr * sc.area_end).sqrt();
    let a1 = -3.0 / sc.t_end;
    let mut starts = Vec::new();
    for b in [0.3, 1.0, 3.0] {
        for g1 in [0.0, g0] {
            for (g2, a2) in [(0.0, 0.0), (g0, -0.5), (g0, 0.5)] {
                starts.push(vec![1.0, g1, g2, a1, a2, b * g0, 0.5 * sc.min_loss, 1.0]);
            }
        }
    }
    let text = format!(
        "rule from the fitted runs' peak LR, LR area and length: D = 1; g0 = 1/sqrt(peak LR x area) = {g0:.4}; B in g0 x {{0.3, 1, 3}}; G1 in {{0, g0}} with A1 = -3/t_end = {a1:e}; (G2, A2) in {{(0, 0), (g0, -0.5), (g0, 0.5)}}; C, M solved by least squares at each start ({} starts)",
        starts.len()
    );
    (starts, text)
}

/// The convex bound's gauge: `D` held at 1. The law is invariant under
/// `D, G1, G2, B -> l D, l G1, l G2, l B` with `M -> M / l^2`, so the curves determine at
/// most the ratios `G / D` and `M D^2`; with all eight free the optimiser drifts along that
/// ridge (Gauss-Newton never stops improving by rounding, the covariance is singular).
/// Holding `D` fixes the scale and loses no curve: a user's `--fix D=...` only rescales
/// `G1, G2, B, M`.
pub fn convex_gauge() -> BTreeMap<String, f64> {
    BTreeMap::from([("D".to_string(), 1.0)])
}

/// The convex bound's default bound on `C`: at most the lowest fitted loss (the
/// reference's cap, so that `M Omega` carries the whole curve).
pub fn convex_bounds(sc: &Scales) -> BTreeMap<String, [f64; 2]> {
    BTreeMap::from([("C".to_string(), [0.0, sc.min_loss])])
}

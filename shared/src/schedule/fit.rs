//! Fitting a parametric schedule family to logged `(step, lr)` points.
//!
//! Every family except the geometric WSD is linear in its rates once its integer
//! "structure" (warmup, total, decay start or switch step) is fixed:
//! `eta(t) = peak * g1(t) + end * g2(t)`. So the fit searches the structure on a coarse
//! grid followed by an integer pattern search (halving steps down to 1), and solves the
//! rates at each candidate by non-negative linear least squares (closed form, 2x2).
//! The geometric WSD adds a golden-section search over `ln(final/peak)`.
//!
//! The objective is the plain sum of squared LR residuals (over at most
//! [`MAX_SEARCH_POINTS`] evenly thinned points). Parameters the log cannot
//! identify should be fixed through [`FitOptions`]: when the log starts after the warmup
//! the warmup length is unidentifiable, and the fit then reports the largest warmup that
//! fits equally well (the warmup is taken to end at the first logged peak).
//!
//! Unless given, `total` is searched in `[last logged step + 1, 4 (last + 1)]` for the
//! curved decays (`cosine`, `wsd` with `sqrt`, `cosine` or `square` shape), whose curvature
//! fixes the horizon. It is `last + 1` for every other family: constant-type schedules do
//! not depend on it within the log, and linear or geometric decays only identify a rate
//! (`(peak - final)/(total - start)`, resp. `ln(final/peak)/(total - start)`), so their
//! fitted `final_lr` belongs to that horizon.

use super::reconstruct::clean_points;
use super::{DecayShape, Schedule, ScheduleError, WarmupRamp};
use serde::{Deserialize, Serialize};

/// The families [`fit_schedule`] can fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "family", content = "shape", rename_all = "snake_case")]
pub enum ScheduleFamily {
    Constant,
    Cosine,
    Linear,
    Wsd(DecayShape),
    TwoStage,
    InverseSqrt,
}

impl ScheduleFamily {
    /// Every family, simplest first (the order [`fit_best_family`] prefers on ties).
    pub const ALL: [ScheduleFamily; 10] = [
        Self::Constant,
        Self::Linear,
        Self::Cosine,
        Self::InverseSqrt,
        Self::TwoStage,
        Self::Wsd(DecayShape::Linear),
        Self::Wsd(DecayShape::Sqrt),
        Self::Wsd(DecayShape::Cosine),
        Self::Wsd(DecayShape::Square),
        Self::Wsd(DecayShape::Geometric),
    ];
}

/// Known values that the fit must not change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    pub warmup: Option<u64>,
    pub total: Option<u64>,
    /// Warmup ramp of the fitted schedule (not fitted: it changes at most `peak/W` per step).
    #[serde(default)]
    pub ramp: WarmupRamp,
}

/// A fitted schedule with its residuals on the logged points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleFit {
    pub schedule: Schedule,
    /// Root mean square of `lr_logged - eta(step)`.
    pub rmse: f64,
    /// Largest `|lr_logged - eta(step)|`.
    pub max_abs_error: f64,
}

/// Fits `family` to logged `(step, lr)` points (see the module docs).
pub fn fit_schedule(
    points: &[(u64, f64)],
    family: ScheduleFamily,
    opts: &FitOptions,
) -> Result<ScheduleFit, ScheduleError> {
    let pts = clean_points(points)?;
    let search_pts = thin(&pts, MAX_SEARCH_POINTS);
    let problem = Problem::new(&search_pts, family, opts);
    let mut best = pattern_search(&problem.ranges, |x| problem.solve(x).0);
    if opts.warmup.is_none() {
        best[0] = problem.widest_flat_warmup(&best);
    }
    let (_, schedule) = problem.solve(&best);
    let residuals: Vec<f64> = pts.iter().map(|&(s, lr)| lr - schedule.eta(s)).collect();
    let rmse = (residuals.iter().map(|r| r * r).sum::<f64>() / residuals.len() as f64).sqrt();
    let max_abs_error = residuals.iter().fold(0.0_f64, |m, r| m.max(r.abs()));
    Ok(ScheduleFit {
        schedule,
        rmse,
        max_abs_error,
    })
}

/// Longer logs are thinned evenly (first and last point kept) for the structure search;
/// the reported residuals use every point.
pub const MAX_SEARCH_POINTS: usize = 2000;

fn thin(pts: &[(u64, f64)], max: usize) -> Vec<(u64, f64)> {
    if pts.len() <= max {
        return pts.to_vec();
    }
    let stride = pts.len().div_ceil(max);
    let mut out: Vec<(u64, f64)> = pts.iter().step_by(stride).copied().collect();
    if out.last() != pts.last() {
        out.extend(pts.last().copied());
    }
    out
}

/// Fits every family and returns the best one; a more complex family must beat a simpler
/// one's RMSE by more than 1% (plus 1e-12 absolute) to be preferred.
pub fn fit_best_family(
    points: &[(u64, f64)],
    opts: &FitOptions,
) -> Result<ScheduleFit, ScheduleError> {
    let mut best: Option<ScheduleFit> = None;
    for family in ScheduleFamily::ALL {
        let fit = fit_schedule(points, family, opts)?;
        let better = match &best {
            None => true,
            Some(b) => fit.rmse < b.rmse * 0.99 - 1e-12,
        };
        if better {
            best = Some(fit);
        }
    }
    best.ok_or(ScheduleError::NoPoints)
}

/// One fitting problem: the data, the family and the integer search ranges
/// `[warmup, total, decay_start | switch]`.
struct Problem<'a> {
    pts: &'a [(u64, f64)],
    family: ScheduleFamily,
    ramp: WarmupRamp,
    ranges: Vec<(u64, u64)>,
}

impl<'a> Problem<'a> {
    fn new(pts: &'a [(u64, f64)], family: ScheduleFamily, opts: &FitOptions) -> Self {
        let last = pts[pts.len() - 1].0;
        let fixed = |v: u64| (v, v);
        let warmup = opts.warmup.map_or((0, last), fixed);
        // Families whose decay fixes the horizon through its curvature.
        let horizon_identified = matches!(
            family,
            ScheduleFamily::Cosine
                | ScheduleFamily::Wsd(DecayShape::Sqrt | DecayShape::Cosine | DecayShape::Square)
        );
        let total = match opts.total {
            Some(t) => fixed(t.max(1)),
            None if horizon_identified => (
                last.saturating_add(1),
                last.saturating_add(1).saturating_mul(4),
            ),
            None => fixed(last.saturating_add(1)),
        };
        let mut ranges = vec![warmup, total];
        match family {
            ScheduleFamily::Wsd(_) => ranges.push((0, total.1)),
            ScheduleFamily::TwoStage => ranges.push((0, total.1)),
            _ => {}
        }
        Self {
            pts,
            family,
            ramp: opts.ramp,
            ranges,
        }
    }

    /// Builds the schedule for a structure and rates (structure clamped to be consistent).
    fn schedule(&self, x: &[u64], peak: f64, end: f64) -> Schedule {
        let total = x[1].max(1);
        let warmup = x[0].min(total);
        let third = x.get(2).copied().unwrap_or(total).clamp(warmup, total);
        let ramp = self.ramp;
        match self.family {
            ScheduleFamily::Constant => Schedule::Constant {
                peak,
                warmup,
                ramp,
                total,
            },
            ScheduleFamily::InverseSqrt => Schedule::InverseSqrt {
                peak,
                warmup,
                ramp,
                total,
            },
            ScheduleFamily::Cosine => Schedule::Cosine {
                peak,
                final_lr: end,
                warmup,
                ramp,
                total,
            },
            ScheduleFamily::Linear => Schedule::Linear {
                peak,
                final_lr: end,
                warmup,
                ramp,
                total,
            },
            ScheduleFamily::Wsd(shape) => Schedule::Wsd {
                peak,
                final_lr: end,
                warmup,
                ramp,
                total,
                decay: None,
                decay_start: Some(third),
                shape,
            },
            ScheduleFamily::TwoStage => Schedule::TwoStage {
                peak,
                warmup,
                ramp,
                total,
                switch: third,
                lr2: end,
            },
        }
    }

    /// Best rates for a structure: (residual sum of squares, schedule).
    fn solve(&self, x: &[u64]) -> (f64, Schedule) {
        if self.family == ScheduleFamily::Wsd(DecayShape::Geometric) {
            return self.solve_geometric(x);
        }
        let g1: Vec<f64> = self.basis(x, 1.0, 0.0);
        let g2: Vec<f64> = self.basis(x, 0.0, 1.0);
        let (peak, end) = nonneg_lstsq2(self.pts, &g1, &g2);
        let rss = self.rss(&g1, &g2, peak, end);
        (rss, self.schedule(x, peak, end))
    }

    /// Geometric WSD: golden-section search over `ln(final/peak)` in `[ln 1e-6, 0]`,
    /// with `peak` solved in closed form at each ratio.
    fn solve_geometric(&self, x: &[u64]) -> (f64, Schedule) {
        let eval = |log_ratio: f64| -> (f64, f64, f64) {
            let ratio = log_ratio.exp();
            let g: Vec<f64> = self.basis(x, 1.0, ratio);
            let zero = vec![0.0; g.len()];
            let (peak, _) = nonneg_lstsq2(self.pts, &g, &zero);
            (self.rss(&g, &zero, peak, 0.0), peak, peak * ratio)
        };
        let (mut a, mut b) = (1e-6_f64.ln(), 0.0_f64);
        let phi = 0.5 * (5f64.sqrt() - 1.0);
        let mut c = b - phi * (b - a);
        let mut d = a + phi * (b - a);
        let (mut fc, mut fd) = (eval(c).0, eval(d).0);
        for _ in 0..60 {
            if fc <= fd {
                b = d;
                d = c;
                fd = fc;
                c = b - phi * (b - a);
                fc = eval(c).0;
            } else {
                a = c;
                c = d;
                fc = fd;
                d = a + phi * (b - a);
                fd = eval(d).0;
            }
        }
        let (rss, peak, end) = eval(0.5 * (a + b));
        (rss, self.schedule(x, peak, end))
    }

    fn basis(&self, x: &[u64], peak: f64, end: f64) -> Vec<f64> {
        let s = self.schedule(x, peak, end);
        self.pts.iter().map(|&(t, _)| s.eta(t)).collect()
    }

    fn rss(&self, g1: &[f64], g2: &[f64], a: f64, b: f64) -> f64 {
        self.pts
            .iter()
            .zip(g1.iter().zip(g2))
            .map(|(&(_, y), (u, v))| (y - a * u - b * v).powi(2))
            .sum()
    }

    /// Largest warmup (>= the fitted one) whose residual is not worse: the warmup is
    /// unidentifiable when the log starts after it, and "ends at the first logged peak"
    /// is the most plausible reading.
    fn widest_flat_warmup(&self, best: &[u64]) -> u64 {
        let base = self.solve(best).0;
        let ok = |w: u64| {
            let mut x = best.to_vec();
            x[0] = w;
            self.solve(&x).0 <= base * (1.0 + 1e-9) + 1e-30
        };
        let (mut lo, mut hi) = (best[0], self.ranges[0].1.min(best[1]));
        if hi <= lo {
            return lo;
        }
        if ok(hi) {
            return hi;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if ok(mid) { lo = mid } else { hi = mid }
        }
        lo
    }
}

/// Non-negative least squares for `y ~ a g1 + b g2` (closed form on the 2x2 normal
/// equations; on a boundary, the best one-coefficient fit).
fn nonneg_lstsq2(pts: &[(u64, f64)], g1: &[f64], g2: &[f64]) -> (f64, f64) {
    let (mut s11, mut s12, mut s22, mut s1y, mut s2y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for ((&(_, y), u), v) in pts.iter().zip(g1).zip(g2) {
        s11 += u * u;
        s12 += u * v;
        s22 += v * v;
        s1y += u * y;
        s2y += v * y;
    }
    let det = s11 * s22 - s12 * s12;
    if det > 1e-12 * (s11 * s22).max(f64::MIN_POSITIVE) {
        let a = (s1y * s22 - s2y * s12) / det;
        let b = (s2y * s11 - s1y * s12) / det;
        if a >= 0.0 && b >= 0.0 {
            return (a, b);
        }
    }
    // Boundary candidates: only g1, or only g2; keep the smaller residual.
    let only_a = if s11 > 0.0 { (s1y / s11).max(0.0) } else { 0.0 };
    let only_b = if s22 > 0.0 { (s2y / s22).max(0.0) } else { 0.0 };
    // rss(a, 0) - sum y^2 = a^2 s11 - 2 a s1y, likewise for b.
    if only_a * only_a * s11 - 2.0 * only_a * s1y <= only_b * only_b * s22 - 2.0 * only_b * s2y {
        (only_a, 0.0)
    } else {
        (0.0, only_b)
    }
}

/// Minimizes `f` over integer boxes: a coarse grid, then a pattern search whose step
/// halves down to 1. Returns the best point found.
fn pattern_search(ranges: &[(u64, u64)], f: impl Fn(&[u64]) -> f64) -> Vec<u64> {
    let per_dim = match ranges.iter().filter(|(lo, hi)| hi > lo).count() {
        0 | 1 => 33,
        2 => 17,
        _ => 9,
    };
    let grids: Vec<Vec<u64>> = ranges
        .iter()
        .map(|&(lo, hi)| {
            let n = per_dim.min((hi - lo).saturating_add(1));
            // u128: the product cannot overflow even for absurd step values.
            let at = |i: u64| lo + ((hi - lo) as u128 * i as u128 / (n - 1).max(1) as u128) as u64;
            (0..n).map(at).collect()
        })
        .collect();
    let mut best: Vec<u64> = ranges.iter().map(|r| r.0).collect();
    let mut best_f = f64::INFINITY;
    let mut idx = vec![0usize; ranges.len()];
    loop {
        let x: Vec<u64> = idx.iter().zip(&grids).map(|(&i, g)| g[i]).collect();
        let v = f(&x);
        if v < best_f {
            best_f = v;
            best = x;
        }
        // Odometer increment over the grid.
        let mut d = 0;
        while d < idx.len() {
            idx[d] += 1;
            if idx[d] < grids[d].len() {
                break;
            }
            idx[d] = 0;
            d += 1;
        }
        if d == idx.len() {
            break;
        }
    }
    let mut steps: Vec<u64> = ranges
        .iter()
        .map(|&(lo, hi)| ((hi - lo) / per_dim.max(2)).max(1))
        .collect();
    for _ in 0..2000 {
        let mut improved = false;
        for d in 0..ranges.len() {
            for dir in [-1i64, 1] {
                let (lo, hi) = ranges[d];
                let cand = if dir < 0 {
                    best[d].saturating_sub(steps[d]).max(lo)
                } else {
                    best[d].saturating_add(steps[d]).min(hi)
                };
                if cand == best[d] {
                    continue;
                }
                let mut x = best.clone();
                x[d] = cand;
                let v = f(&x);
                if v < best_f {
                    best_f = v;
                    best = x;
                    improved = true;
                }
            }
        }
        if !improved {
            if steps.iter().all(|&s| s == 1) {
                break;
            }
            for s in &mut steps {
                *s = (*s / 2).max(1);
            }
        }
    }
    best
}

//! The last-iterate bound of convex optimisation as a loss law (Schaipp, Hägele, Taylor,
//! Simsekli, Bach, "The Surprising Agreement Between Convex Optimization Theory and
//! Learning-Rate Scheduling for Large Model Training", ICML 2025, arXiv 2501.18965; the
//! bound is Theorem 10 of Defazio et al., arXiv 2310.07831):
//!
//! ```text
//! L(T)     = C + M Omega_T
//! Omega_T  = D^2 / (2 P_T) + sum_{t<=T} eta_t^2 G_t^2 / (2 P_T)
//!            + 1/2 sum_{k=1}^{T-1} [eta_k / sum_{t=k+1}^{T} eta_t] [sum_{t=k}^{T} eta_t^2 G_t^2 / sum_{t=k}^{T} eta_t]
//! G_t      = G1 exp(A1 t) + G2 t^A2 + B          (gradient-norm model)
//! P_T      = sum_{t<=T} eta_t
//! ```
//!
//! Parameters, in order: `D, G1, G2, A1, A2, B, C, M`. Steps are 1-based in the formula
//! (as in the reference code, fabian-sp/lr-scheduling `ScheduleBase._compute_refined_rate`
//! and `RateFitter._vec_eval`): the loss logged at 0-based step `s` is `L(T = s + 1)` and
//! `G_t` uses `t = s + 1`. Units: raw learning rates; `D` (initial distance) and `G` (gradient
//! norm) carry the problem's scale, `A1` is per step, `C` and `M Omega` are in loss units.
//!
//! Warmup: the learning rates are used as given, the warmup ramp included (the bound holds
//! for any schedule, and the reference code feeds it the ramp).
//!
//! # Evaluation
//!
//! With `q_t = eta_t^2 G_t^2` and `eta_k / (alpha_k beta_k) = 1/alpha_k - 1/beta_k`
//! (`alpha_k = P_T - P_k`, `beta_k = P_T - P_{k-1}`), summing by parts turns the double sum
//! into a single one:
//!
//! ```text
//! Omega_T = D^2 / (2 P_T) + 1/2 sum_{k=1}^{T-1} q_k / (P_T - P_k) + q_T / (2 eta_T)
//! ```
//!
//! a Cauchy kernel over sources at fixed positions `P_k`, summed by the tree code of
//! [`super::kernel_sum`] (`kappa = 1`): O(T J) per evaluation plus O(log T) blocks per point,
//! within `tol * sum_k q_k / (P_T - P_k)` of the direct sum. (The oracle test checks this
//! form against the reference's literal triple-sum formula.)
//!
//! # Identifiability
//!
//! The law is exact but not identifiable from loss curves: `(D, G1, G2, B, M)` and
//! `(l D, l G1, l G2, l B, M / l^2)` give the same curve for every `l > 0`, and with
//! `A1 = 0` (or `A2 = 0`) the `G1` (or `G2`) term is a second constant beside `B`. A fit
//! finds one point of a ridge; its predictions are determined, its parameters are not.
//!
//! # Domain
//!
//! `eta_T > 0` at every evaluation step: otherwise a term `q_k / 0` makes the bound
//! infinite (the reference ends its schedules at 1e-10, not 0), and so is the value here.

use super::kernel_sum::{Kernel, KernelTree};
use super::multipower::DEFAULT_TOLERANCE;
use super::multipower::batch_math::{self, EXP_RANGE, Plain};
use super::multipower::fast::LEAF;
use super::{Law, LawError, ParamSpec, check_dims};

const SPECS: &[ParamSpec] = &[
    ParamSpec {
        name: "D",
        meaning: "distance from the initial point to the optimum (bound's D)",
        lower: 0.0,
        upper: 1e4,
        starts: &[1.0],
    },
    ParamSpec {
        name: "G1",
        meaning: "scale of the exponentially varying gradient-norm term G1 exp(A1 t)",
        lower: 0.0,
        upper: 1e6,
        starts: &[0.0, 1.0],
    },
    ParamSpec {
        name: "G2",
        meaning: "scale of the power-law gradient-norm term G2 t^A2",
        lower: 0.0,
        upper: 1e6,
        starts: &[0.0, 1.0],
    },
    ParamSpec {
        name: "A1",
        meaning: "rate (per step) of the exponential gradient-norm term",
        lower: -1.0,
        upper: 0.0,
        starts: &[-1e-3],
    },
    ParamSpec {
        name: "A2",
        meaning: "exponent of the power-law gradient-norm term",
        lower: -2.0,
        upper: 2.0,
        starts: &[-0.5, 0.5],
    },
    ParamSpec {
        name: "B",
        meaning: "constant gradient-norm floor",
        lower: 0.0,
        upper: 1e6,
        starts: &[1.0],
    },
    ParamSpec {
        name: "C",
        meaning: "loss offset (capped at the lowest fitted loss by default)",
        lower: 0.0,
        upper: 20.0,
        starts: &[1.0],
    },
    ParamSpec {
        name: "M",
        meaning: "loss per unit of the bound Omega",
        lower: 0.0,
        upper: 1e6,
        starts: &[1.0],
    },
];

/// The convex last-iterate bound law at fixed steps of one schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvexLaw {
    /// `P_T`, `eta_T`, `t = s + 1` at the evaluation steps.
    z: Vec<f64>,
    eta_at: Vec<f64>,
    t_at: Vec<f64>,
    /// Sources `k < T` counted per evaluation point.
    count: Vec<usize>,
    /// Per source (steps with `eta > 0`): `eta^2`, `t`, `ln t`, position `P_k`.
    eta2: Vec<f64>,
    t: Vec<f64>,
    ln_t: Vec<f64>,
    pos: Vec<f64>,
    tree: KernelTree,
    tolerance: f64,
}

/// `G_t` and its partial derivatives w.r.t. `G1, G2, A1, A2, B` at step `t` (1-based).
#[inline]
fn grad_norm(p: &[f64], t: f64, ln_t: f64) -> (f64, [f64; 5]) {
    let (g1, g2, a1, a2, b) = (p[1], p[2], p[3], p[4], p[5]);
    let e1 = (a1 * t).exp();
    let p2 = (a2 * ln_t).exp();
    (
        g1 * e1 + g2 * p2 + b,
        [e1, p2, g1 * t * e1, g2 * p2 * ln_t, 1.0],
    )
}

/// `x[i] = e^x[i]` for the first `n` entries: batched where every argument is in range,
/// libm otherwise (overflow and underflow exactly as the formula gives them).
fn exp_chunk(x: &mut [f64; LEAF], n: usize) {
    if x[..n].iter().all(|v| v.abs() <= EXP_RANGE) {
        batch_math::exp_all::<Plain, LEAF>(x);
    } else {
        for v in &mut x[..n] {
            *v = v.exp();
        }
    }
}

impl ConvexLaw {
    /// The law's parameters, known before any data is read.
    pub const PARAMS: &'static [ParamSpec] = SPECS;

    /// Prepares the law for per-step learning rates `lrs` (finite, >= 0) at `steps`
    /// (each `< lrs.len()`).
    pub fn new(lrs: &[f64], steps: &[usize]) -> Result<Self, LawError> {
        if let Some(i) = lrs.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(LawError::Input(format!(
                "lrs[{i}] = {} is not a finite lr >= 0",
                lrs[i]
            )));
        }
        if let Some(&bad) = steps.iter().find(|&&s| s >= lrs.len()) {
            return Err(LawError::Input(format!(
                "step {bad} is beyond the schedule ({} steps)",
                lrs.len()
            )));
        }
        let last = steps.iter().copied().max().unwrap_or(0);
        let mut prefix = Vec::with_capacity(last + 1);
        let mut acc = 0.0;
        for &v in &lrs[..(last + 1).min(lrs.len())] {
            acc += v;
            prefix.push(acc);
        }
        // Zero-LR steps add nothing to any sum (q = 0): they are not sources.
        let (mut eta2, mut t, mut ln_t, mut pos, mut at) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (k, &eta) in lrs.iter().enumerate().take(last) {
            if eta > 0.0 {
                let tk = (k + 1) as f64;
                eta2.push(eta * eta);
                t.push(tk);
                ln_t.push(tk.ln());
                pos.push(prefix[k]);
                at.push(k);
            }
        }
        Ok(Self {
            z: steps.iter().map(|&s| prefix[s]).collect(),
            eta_at: steps.iter().map(|&s| lrs[s]).collect(),
            t_at: steps.iter().map(|&s| (s + 1) as f64).collect(),
            // A point with eta_T = 0 is infinite whatever the sum: it counts no sources.
            count: steps
                .iter()
                .map(|&s| {
                    if lrs[s] > 0.0 {
                        at.partition_point(|&k| k < s)
                    } else {
                        0
                    }
                })
                .collect(),
            tree: KernelTree::new(pos.clone()),
            eta2,
            t,
            ln_t,
            pos,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// Sets the truncation tolerance of the fast evaluation, clamped to `[1e-16, 1e-3]`.
    pub fn with_tolerance(mut self, tol: f64) -> Self {
        self.tolerance = if tol.is_nan() {
            DEFAULT_TOLERANCE
        } else {
            tol.clamp(1e-16, 1e-3)
        };
        self
    }

    /// The direct O(n T) evaluation of the single-sum form (reference for tests).
    pub fn eval_naive(
        &self,
        params: &[f64],
        out: &mut [f64],
        jac: Option<&mut [f64]>,
    ) -> Result<(), LawError> {
        check_dims(self, params, out, jac.as_deref())?;
        let weights = self.weights(params, jac.is_some());
        let sums: Vec<[f64; 6]> = (0..self.z.len())
            .map(|p| {
                let mut s = [0.0; 6];
                for k in 0..self.count[p] {
                    let inv = 1.0 / (self.z[p] - self.pos[k]);
                    for (sl, wl) in s.iter_mut().zip(&weights[k]) {
                        *sl += wl * inv;
                    }
                }
                s
            })
            .collect();
        self.assemble(params, &sums, out, jac);
        Ok(())
    }

    /// Per source: `q = eta^2 G^2` and `dq/d(G1, G2, A1, A2, B) = 2 eta^2 G dG/d.`
    /// (only `q` when no Jacobian is wanted). The two `exp` per step go through the batched,
    /// vectorizable routine (within 1e-15 relative of libm).
    fn weights(&self, params: &[f64], with_jac: bool) -> Vec<[f64; 6]> {
        let (g1, g2, a1, a2, b) = (params[1], params[2], params[3], params[4], params[5]);
        let mut out = Vec::with_capacity(self.eta2.len());
        for (c, t) in self.t.chunks(LEAF).zip(self.ln_t.chunks(LEAF)) {
            let (mut e1, mut p2) = ([0.0; LEAF], [0.0; LEAF]);
            for i in 0..c.len() {
                e1[i] = a1 * c[i];
                p2[i] = a2 * t[i];
            }
            exp_chunk(&mut e1, c.len());
            exp_chunk(&mut p2, c.len());
            for i in 0..c.len() {
                let k = out.len();
                let g = g1 * e1[i] + g2 * p2[i] + b;
                let e2 = self.eta2[k];
                let mut w = [e2 * g * g, 0.0, 0.0, 0.0, 0.0, 0.0];
                if with_jac {
                    let f = 2.0 * e2 * g;
                    w[1] = f * e1[i];
                    w[2] = f * p2[i];
                    w[3] = f * g1 * c[i] * e1[i];
                    w[4] = f * g2 * p2[i] * t[i];
                    w[5] = f;
                }
                out.push(w);
            }
        }
        out
    }

    /// Kernel sums of the six weight sets through the tree code (two passes of four lanes).
    fn fast_sums(&self, weights: &[[f64; 6]], with_jac: bool) -> Vec<[f64; 6]> {
        let kernel = Kernel {
            kappa: 1.0,
            shift: 0.0,
            plus_one: [false; 4],
            log: false,
            tol: self.tolerance,
        };
        let mut sums = vec![[0.0; 6]; self.z.len()];
        let lanes: &[usize] = if with_jac { &[0, 4] } else { &[0] };
        for &first in lanes {
            let w: Vec<[f64; 4]> = weights
                .iter()
                .map(|w| std::array::from_fn(|l| w.get(first + l).copied().unwrap_or(0.0)))
                .collect();
            for (s, k) in sums
                .iter_mut()
                .zip(self.tree.sums(&w, &kernel, &self.z, &self.count))
            {
                for l in 0..4 {
                    if first + l < 6 {
                        s[first + l] = k.s[l];
                    }
                }
            }
        }
        sums
    }

    /// Values (and Jacobian) from the kernel sums `[q, dq/dG1, dq/dG2, dq/dA1, dq/dA2, dq/dB]`.
    fn assemble(
        &self,
        params: &[f64],
        sums: &[[f64; 6]],
        out: &mut [f64],
        mut jac: Option<&mut [f64]>,
    ) {
        let (d, c, m) = (params[0], params[6], params[7]);
        for (p, s) in sums.iter().enumerate() {
            let (z, eta) = (self.z[p], self.eta_at[p]);
            let (g, dg) = grad_norm(params, self.t_at[p], self.t_at[p].ln());
            // q_T / (2 eta_T) = eta_T G_T^2 / 2; the bound diverges as eta_T -> 0.
            let (last, dlast) = if eta > 0.0 {
                (0.5 * eta * g * g, eta * g)
            } else {
                (f64::INFINITY, f64::INFINITY)
            };
            let omega = d * d / (2.0 * z) + 0.5 * s[0] + last;
            out[p] = c + m * omega;
            if let Some(j) = jac.as_deref_mut() {
                let row = &mut j[p * 8..p * 8 + 8];
                row[0] = m * d / z;
                // G1, G2, A1, A2, B: `s` and `dg` are in parameter order.
                for (slot, (sl, dgl)) in row[1..6].iter_mut().zip(s[1..].iter().zip(dg)) {
                    *slot = m * (0.5 * sl + dlast * dgl);
                }
                row[6] = 1.0;
                row[7] = omega;
            }
        }
    }
}

impl Law for ConvexLaw {
    fn name(&self) -> &'static str {
        "convex"
    }

    fn param_specs(&self) -> &'static [ParamSpec] {
        SPECS
    }

    fn n_points(&self) -> usize {
        self.z.len()
    }

    fn eval(
        &self,
        params: &[f64],
        out: &mut [f64],
        jac: Option<&mut [f64]>,
    ) -> Result<(), LawError> {
        check_dims(self, params, out, jac.as_deref())?;
        let weights = self.weights(params, jac.is_some());
        let sums = self.fast_sums(&weights, jac.is_some());
        self.assemble(params, &sums, out, jac);
        Ok(())
    }
}

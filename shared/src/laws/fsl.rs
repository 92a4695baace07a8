//! The Functional Scaling Law in its practical form (Li, Chen, Huang, Wang, Wu, "Functional
//! Scaling Laws in Kernel Regression: Loss Dynamics and Learning Rate Schedules",
//! NeurIPS 2025, arXiv 2509.19189, appendix B.2, eq. 30):
//!
//! ```text
//! L(k) = L0 + c1 T(k)^-s
//!           - c2 sum_{i<=k} (eta_{i-1} - eta_i) (c3 + T(i)^-s) [1 - (1 + c4 (T(k) - T(i)))^-gamma]
//! T(k) = sum_{tau<=k} eta_tau                     ("intrinsic time": the LR area, 0-based steps)
//! ```
//!
//! Parameters, in order: `L0, c1, c2, c3, c4, s, gamma`. Units: raw learning rates, so
//! `T` is in LR x steps, `c4` in 1 / (LR x steps) (a drop's benefit is half realised after
//! an LR area of about `(2^(1/gamma) - 1) / c4`), `c2` in loss per unit of LR drop; `L0`,
//! `c1` in loss units. Signal learning is the `c1` power law in `T`; each LR drop `i` adds
//! a noise reduction `c2 (c3 + T(i)^-s)` realised as the area after it grows.
//!
//! # Warmup ([`FslConvention`])
//!
//! `T` always counts the learning rates as given (the warmup ramp's area included). The
//! drop sum runs over
//! - `Literal`: every step `i >= 1`, so a warmup ramp's rises enter as negative drops
//!   (with `T(i)` tiny, i.e. large weights): the formula applied to the whole LR array;
//! - `AfterWarmup { warmup }`: steps `i > warmup` only (the warmup is not an annealing).
//!
//! # Evaluation
//!
//! Only steps where the LR changes contribute. The kernel factors as
//! `(1 + c4 (T(k) - T(i)))^-gamma = c4^-gamma (T(k) + 1/c4 - T(i))^-gamma`: sources at fixed
//! positions `T(i)` with weights `d_i (c3 + T(i)^-s)`, i.e. the structure of the
//! multi-power law's loss-drop sum, summed by the same tree code ([`super::kernel_sum`]):
//! O(m J) per evaluation for `m` changing steps plus O(log m) blocks per point, within
//! `c2 * tol * sum_i |d_i| (c3 + T(i)^-s)` of the direct sum (`tol` = [`FslLaw::tolerance`]).
//! [`FslLaw::eval_naive`] is the direct O(n m) sum, also used when `c4 <= 0`,
//! `gamma <= 0` or a parameter is not finite.
//!
//! # Domain
//!
//! `T(k) > 0` at every evaluation step (else `T^-s` is infinite); `1 + c4 (T(k) - T(i))`
//! is then >= 1 for `c4 >= 0`. Limits: `c2 = 0` gives the power law `L0 + c1 T^-s`;
//! a constant LR (no change in the summed range) makes the drop sum vanish.

use super::kernel_sum::{Kernel, KernelSums, KernelTree};
use super::multipower::DEFAULT_TOLERANCE;
use super::{Law, LawError, ParamSpec, check_dims};

/// Which LR changes enter the drop sum (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FslConvention {
    /// Every change from step 1, warmup rises included.
    Literal,
    /// Changes after the warmup only (steps `> warmup`).
    AfterWarmup { warmup: usize },
}

const SPECS: &[ParamSpec] = &[
    ParamSpec {
        name: "L0",
        meaning: "irreducible loss",
        lower: 0.0,
        upper: 20.0,
        starts: &[2.0, 3.0],
    },
    ParamSpec {
        name: "c1",
        meaning: "scale of the signal-learning power law in intrinsic time T",
        lower: 0.0,
        upper: 1e3,
        starts: &[0.5],
    },
    ParamSpec {
        name: "c2",
        meaning: "loss reduction per unit of LR drop (noise term scale)",
        lower: 0.0,
        upper: 1e7,
        starts: &[100.0],
    },
    ParamSpec {
        name: "c3",
        meaning: "constant part of a drop's noise reduction (beside T(i)^-s)",
        lower: 0.0,
        upper: 1e3,
        starts: &[0.0, 1.0],
    },
    ParamSpec {
        name: "c4",
        meaning: "rate (per unit of LR area) at which a drop's reduction is realised",
        lower: 1e-6,
        upper: 1e8,
        starts: &[100.0, 1000.0],
    },
    ParamSpec {
        name: "s",
        meaning: "exponent of intrinsic time",
        lower: 0.0,
        upper: 5.0,
        starts: &[0.3, 0.6],
    },
    ParamSpec {
        name: "gamma",
        meaning: "exponent of the realisation kernel",
        lower: 1e-4,
        upper: 10.0,
        starts: &[0.5, 1.0],
    },
];

/// The five drop sums every output is assembled from, over the counted changes `i`
/// (`u_i = 1 + c4 (T(k) - T(i))`, `a_i = d_i (c3 + T(i)^-s)`):
/// `q = sum a u^-g`, `qd = sum d u^-g`, `r = sum a u^-(g+1)`, `ql = sum d ln T(i) T(i)^-s u^-g`,
/// `lq = sum a u^-g ln u`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Aggregates {
    q: f64,
    qd: f64,
    r: f64,
    ql: f64,
    lq: f64,
}

/// The functional scaling law at fixed steps of one schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct FslLaw {
    /// `T` and `ln T` at the evaluation steps.
    z: Vec<f64>,
    ln_z: Vec<f64>,
    /// Changes with step `<= k`, per evaluation point.
    count: Vec<usize>,
    /// Per change: `eta_{i-1} - eta_i` and `ln T(i)`.
    d: Vec<f64>,
    ln_t: Vec<f64>,
    /// Positions `T(i)` of the changes and the block tree over them.
    tree: KernelTree,
    t: Vec<f64>,
    tolerance: f64,
}

impl FslLaw {
    /// The law's parameters, known before any data is read.
    pub const PARAMS: &'static [ParamSpec] = SPECS;

    /// Prepares the law for per-step learning rates `lrs` (finite, >= 0) at `steps`
    /// (each `< lrs.len()`).
    pub fn new(lrs: &[f64], steps: &[usize], convention: FslConvention) -> Result<Self, LawError> {
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
        let first = match convention {
            FslConvention::Literal => 1,
            FslConvention::AfterWarmup { warmup } => warmup.saturating_add(1).max(1),
        };
        let mut prefix = Vec::with_capacity(lrs.len());
        let mut acc = 0.0;
        for &v in lrs {
            acc += v;
            prefix.push(acc);
        }
        let (mut d, mut t, mut ln_t, mut at) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in first..lrs.len() {
            let drop = lrs[i - 1] - lrs[i];
            // A change always has T(i) > 0: one of eta_{i-1}, eta_i is positive.
            if drop != 0.0 {
                d.push(drop);
                t.push(prefix[i]);
                ln_t.push(prefix[i].ln());
                at.push(i);
            }
        }
        let z: Vec<f64> = steps.iter().map(|&k| prefix[k]).collect();
        Ok(Self {
            ln_z: z.iter().map(|v| v.ln()).collect(),
            z,
            count: steps
                .iter()
                .map(|&k| at.partition_point(|&i| i <= k))
                .collect(),
            d,
            ln_t,
            tree: KernelTree::new(t.clone()),
            t,
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

    /// The truncation tolerance in use.
    pub fn tolerance(&self) -> f64 {
        self.tolerance
    }

    /// Number of LR changes in the drop sum's range.
    pub fn n_changes(&self) -> usize {
        self.d.len()
    }

    /// Intrinsic time `T` at the evaluation points.
    pub fn intrinsic_time(&self) -> &[f64] {
        &self.z
    }

    /// The direct O(n m) evaluation (reference for tests; fallback outside the fast domain).
    pub fn eval_naive(
        &self,
        params: &[f64],
        out: &mut [f64],
        jac: Option<&mut [f64]>,
    ) -> Result<(), LawError> {
        check_dims(self, params, out, jac.as_deref())?;
        let (c3, c4, g) = (params[3], params[4], params[6]);
        let t_pow = self.t_pow(params[5]);
        let aggs: Vec<Aggregates> = (0..self.z.len())
            .map(|p| {
                let mut a = Aggregates::default();
                for i in 0..self.count[p] {
                    let (d, lt, ts) = (self.d[i], self.ln_t[i], t_pow[i]);
                    let w = d * (c3 + ts);
                    let u = 1.0 + c4 * (self.z[p] - self.t[i]);
                    let lu = u.ln();
                    let pg = (-g * lu).exp();
                    a.q += w * pg;
                    a.qd += d * pg;
                    a.r += w * pg / u;
                    a.ql += d * lt * ts * pg;
                    a.lq += w * pg * lu;
                }
                a
            })
            .collect();
        self.assemble(params, &t_pow, &aggs, out, jac);
        Ok(())
    }

    /// `T(i)^-s` of every change.
    fn t_pow(&self, s: f64) -> Vec<f64> {
        self.ln_t.iter().map(|&lt| (-s * lt).exp()).collect()
    }

    /// The aggregates through the tree code (`c4 > 0`, `gamma > 0`, finite parameters).
    fn fast_aggregates(&self, params: &[f64], ts: &[f64]) -> Vec<Aggregates> {
        let (c3, c4, g) = (params[3], params[4], params[6]);
        let w: Vec<[f64; 4]> = (0..self.d.len())
            .map(|i| {
                let (d, lt) = (self.d[i], self.ln_t[i]);
                let a = d * (c3 + ts[i]);
                [a, d, a, d * lt * ts[i]]
            })
            .collect();
        let kernel = Kernel {
            kappa: g,
            shift: 1.0 / c4,
            plus_one: [false, false, true, false],
            log: true,
            tol: self.tolerance,
        };
        let ln_c4 = c4.ln();
        let cg = (-g * ln_c4).exp(); // c4^-gamma: u^-g = c4^-g D^-g with D = T(k) + 1/c4 - T(i)
        self.tree
            .sums(&w, &kernel, &self.z, &self.count)
            .into_iter()
            .map(|KernelSums { s, log }| {
                let q = cg * s[0];
                Aggregates {
                    q,
                    qd: cg * s[1],
                    r: cg / c4 * s[2],
                    ql: cg * s[3],
                    lq: ln_c4 * q + cg * log,
                }
            })
            .collect()
    }

    fn assemble(
        &self,
        params: &[f64],
        t_pow: &[f64],
        aggs: &[Aggregates],
        out: &mut [f64],
        mut jac: Option<&mut [f64]>,
    ) {
        let (l0, c1, c2, c3, c4, s, g) = (
            params[0], params[1], params[2], params[3], params[4], params[5], params[6],
        );
        // Prefix sums over the changes of sum d, sum d T^-s and sum d ln T T^-s.
        let m = self.d.len();
        let (mut pd, mut pt, mut pl) = (vec![0.0; m + 1], vec![0.0; m + 1], vec![0.0; m + 1]);
        for i in 0..m {
            let ts = t_pow[i];
            pd[i + 1] = pd[i] + self.d[i];
            pt[i + 1] = pt[i] + self.d[i] * ts;
            pl[i + 1] = pl[i] + self.d[i] * self.ln_t[i] * ts;
        }
        for (p, agg) in aggs.iter().enumerate() {
            let c = self.count[p];
            let zs = (-s * self.ln_z[p]).exp();
            let annealed = c3 * pd[c] + pt[c] - agg.q; // sum a (1 - u^-g)
            out[p] = l0 + c1 * zs - c2 * annealed;
            if let Some(j) = jac.as_deref_mut() {
                j[p * 7..p * 7 + 7].copy_from_slice(&[
                    1.0,
                    zs,
                    -annealed,
                    -c2 * (pd[c] - agg.qd),
                    -c2 * g / c4 * (agg.q - agg.r),
                    -c1 * zs * self.ln_z[p] + c2 * (pl[c] - agg.ql),
                    -c2 * agg.lq,
                ]);
            }
        }
    }
}

impl Law for FslLaw {
    fn name(&self) -> &'static str {
        "fsl"
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
        let fast_ok = params[4] > 0.0 && params[6] > 0.0 && params.iter().all(|p| p.is_finite());
        if !fast_ok || self.tree.len() == 0 {
            return self.eval_naive(params, out, jac);
        }
        let t_pow = self.t_pow(params[5]);
        let aggs = self.fast_aggregates(params, &t_pow);
        self.assemble(params, &t_pow, &aggs, out, jac);
        Ok(())
    }
}
